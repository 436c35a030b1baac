/**
 * Named regressions of the room log: each case is a race that once lost or misplaced room
 * events, reproduced with real clients on the local stack, and checked against the room's
 * one order (seq).
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { ChatClient, type ChatEvent } from './support/chat-client';
import { eventually, startTestStack, type TestStack } from './support/test-stack';

const inRoom = (roomId: string) => (e: ChatEvent) => e.roomId === roomId;

describe('room log regressions', () => {
  let stack: TestStack;
  const clients: ChatClient[] = [];
  const connect = async (name: string) => {
    const client = await ChatClient.connect(stack.chat.wsUrl, stack.chat.chatToken, name);
    clients.push(client);
    return client;
  };

  let ddb: DynamoDBClient;
  /** The state of a connection's entry into a room, as the routes left it. */
  const entryState = async (client: ChatClient, roomId: string) => {
    const connectionId = stack.chat.connectionIds().find((id) => connectionOf.get(id) === client);
    const { Item } = await ddb.send(
      new GetItemCommand({
        TableName: stack.chat.tableName,
        Key: { pk: { S: `conn#${connectionId}` }, sk: { S: `room#${roomId}` } },
        ConsistentRead: true,
      }),
    );
    return Item?.state?.S;
  };
  const connectionOf = new Map<string, ChatClient>();
  const connectTracked = async (name: string) => {
    const before = new Set(stack.chat.connectionIds());
    const client = await connect(name);
    const id = await eventually(() => stack.chat.connectionIds().find((c) => !before.has(c)), 'its id');
    connectionOf.set(id, client);
    return client;
  };

  beforeAll(async () => {
    stack = await startTestStack();
    ddb = new DynamoDBClient({
      endpoint: stack.chat.dynamoDbEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  }, 60_000);

  afterEach(() => {
    stack.chat.faults.connections.delayMs = 0;
  });

  afterAll(async () => {
    ddb?.destroy();
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await stack?.chat.stop();
  }, 30_000);

  it('exit and re-enter while earlier messages are still being fanned out: nothing before the exit is missed', async () => {
    const roomId = 'reenter';
    const aku = await connect('Aku');
    const mikki = await connectTracked('Mikki');
    await aku.enter(roomId, 'Aku');
    await mikki.enter(roomId, 'Mikki');
    await aku.waitFor((e) => e.type === 'joined' && e.nickname === 'Mikki', 'Mikki joined');

    // Slow posts keep the fanout behind while Mikki exits and re-enters under a new name.
    stack.chat.faults.connections.delayMs = 150;
    for (let n = 1; n <= 4; n++) aku.send({ action: 'sendmessage', roomId, message: `before exit ${n}` });
    await aku.waitFor((e) => e.type === 'message' && e.message === 'before exit 1', 'its first message');
    mikki.send({ action: 'exitroom', roomId });
    // Re-entering once the exit is taken (frames of one connection run concurrently: sent at
    // the same moment, the enterroom may be handled first and answer already_in_room), long
    // before its `exited` arrives behind the slow messages.
    await eventually(
      async () => ['leaving', 'exited'].includes(String(await entryState(mikki, roomId))),
      'the exit taken',
    );
    expect(mikki.events.some((e) => e.type === 'exited')).toBe(false);
    mikki.send({ action: 'enterroom', roomId, nickname: 'Mikki2' });
    await mikki.waitFor((e) => e.type === 'entered' && e.nickname === 'Mikki2', 'entered again', 20_000);

    // Every message the room logged before Mikki's exit reached Mikki (Aku's four were sent
    // without waiting, so some may come after the exit: those Mikki must not get).
    await aku.waitForCount(
      (e) => e.type === 'message' && String(e.message).startsWith('before exit'),
      4,
      "Aku's four messages",
      20_000,
    );
    const exited = mikki.events.find((e) => e.type === 'exited' && e.roomId === roomId);
    const exitSeq = Number(exited?.seq);
    const loggedBefore = aku.events
      .filter((e) => inRoom(roomId)(e) && e.type === 'message' && Number(e.seq) < exitSeq)
      .map((e) => e.id);
    const mikkiGot = mikki.events
      .filter((e) => inRoom(roomId)(e) && e.type === 'message' && Number(e.seq) < exitSeq)
      .map((e) => e.id);
    expect(exitSeq).toBeGreaterThan(0);
    expect(loggedBefore.length).toBeGreaterThan(0);
    expect(new Set(mikkiGot)).toEqual(new Set(loggedBefore));
    // And nothing after it until its new entry.
    const rejoin = Number(mikki.events.find((e) => e.type === 'entered' && e.nickname === 'Mikki2')?.seq);
    expect(
      mikki.events.filter(
        (e) => inRoom(roomId)(e) && e.type === 'message' && Number(e.seq) > exitSeq && Number(e.seq) < rejoin,
      ),
    ).toEqual([]);
  }, 60_000);

  it('an entry that exits and is replaced before its joined reaches the log is still logged, and frees its nickname', async () => {
    // Found by the model test: the fanout saw the entry item replaced and took the old
    // entry's joined for one that was taken back, dropping its joined and left for good.
    const roomId = 'replaced';
    const watcher = await connect('Watcher');
    await watcher.enter(roomId, 'Watcher');
    stack.chat.faults.connections.delayMs = 400;
    watcher.send({ action: 'sendmessage', roomId, message: 'keeps the room busy' });
    const aku = await connectTracked('Aku');
    aku.send({ action: 'enterroom', roomId, nickname: 'Aku' });
    await eventually(async () => (await entryState(aku, roomId)) === 'queued', 'Aku queued');
    aku.send({ action: 'exitroom', roomId });
    await eventually(async () => (await entryState(aku, roomId)) === 'exited', 'Aku exited');
    aku.send({ action: 'enterroom', roomId, nickname: 'Hessu' });
    await aku.waitFor((e) => e.type === 'entered' && e.nickname === 'Hessu', 'entered as Hessu', 30_000);

    const seen = aku.events.filter(
      (e) => e.roomId === roomId && ['entered', 'exited'].includes(String(e.type)),
    );
    expect(seen.map((e) => [e.type, e.nickname ?? null])).toEqual([
      ['entered', 'Aku'],
      ['exited', null],
      ['entered', 'Hessu'],
    ]);
    await watcher.waitFor((e) => e.type === 'joined' && e.nickname === 'Hessu', 'Hessu joined', 30_000);
    const told = watcher.events
      .filter((e) => e.type === 'joined' || e.type === 'left')
      .map((e) => [e.type, e.nickname]);
    expect(told).toEqual([
      ['joined', 'Aku'],
      ['left', 'Aku'],
      ['joined', 'Hessu'],
    ]);
    stack.chat.faults.connections.delayMs = 0;
    const other = await connect('Other');
    await expect(other.enter(roomId, 'Aku')).resolves.toMatchObject({ nickname: 'Aku' });
  }, 60_000);
});
