/**
 * History and resume, end to end with real clients on the local stack: pages of a room's log
 * for its members (sized by bytes), the latest page right after `entered`, a resume after an
 * abrupt drop that delivers exactly what was missed, and a resume from further back than the
 * room's log keeps.
 */
import { DynamoDBClient, paginateQuery, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { ChatClient, type ChatEvent } from './support/chat-client';
import { settled, startTestStack, type TestStack } from './support/test-stack';

const FRAME_LIMIT = 32 * 1024;

describe('history and resume', () => {
  let stack: TestStack;
  let ddb: DynamoDBClient;
  const clients: ChatClient[] = [];
  const connect = async (name: string) => {
    const client = await ChatClient.connect(stack.chat.wsUrl, stack.chat.chatToken, name);
    clients.push(client);
    return client;
  };
  /** Sends messages one after another, each once the room has the previous one. */
  const say = async (client: ChatClient, roomId: string, ...texts: string[]) => {
    for (const message of texts) {
      client.send({ action: 'sendmessage', roomId, message });
      await client.waitFor((e) => e.type === 'message' && e.message === message, `"${message.slice(0, 20)}"`);
    }
  };
  const historyAnswer = async (client: ChatClient, frame: Record<string, unknown>) => {
    const from = client.events.length;
    client.send({ action: 'history', ...frame });
    const first = await client.waitFor(
      (e) => client.events.indexOf(e) >= from && (e.type === 'history' || e.type === 'error'),
      'the history answer',
    );
    await settled(stack, 200);
    return first.type === 'error' ? [first] : client.events.slice(from).filter((e) => e.type === 'history');
  };
  const seqsOf = (pages: ChatEvent[]) => pages.flatMap((p) => (p.events as ChatEvent[]).map((e) => e.seq));

  beforeAll(async () => {
    stack = await startTestStack({ functionEnv: { CONTROL_RATE_LIMIT: '1000', SEND_RATE_LIMIT: '1000' } });
    ddb = new DynamoDBClient({
      endpoint: stack.chat.dynamoDbEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  }, 60_000);

  afterAll(async () => {
    ddb?.destroy();
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await stack?.chat.stop();
  }, 30_000);

  it('pages a room’s log backwards for a member, oldest first, and says when nothing older is kept', async () => {
    const roomId = 'paging';
    const aku = await connect('Aku');
    await aku.enter(roomId, 'Aku');
    await say(aku, roomId, 'one', 'two', 'three', 'four', 'five');

    const newest = await historyAnswer(aku, { roomId, limit: 3 });
    expect(newest).toHaveLength(1);
    expect(newest[0]).toMatchObject({ type: 'history', roomId, more: true });
    expect(seqsOf(newest)).toEqual([4, 5, 6]);
    const older = await historyAnswer(aku, { roomId, before: 4, limit: 10 });
    expect(older[0]).toMatchObject({ more: false });
    expect(seqsOf(older)).toEqual([1, 2, 3]);
    // Each event as the room received it.
    const [page] = older;
    const live = aku.events.find((e) => e.type === 'message' && e.message === 'one');
    expect(((page?.events ?? []) as ChatEvent[]).find((e) => e.seq === 2)).toEqual(live);
  });

  it('answers not_in_room to history from a connection that is not in the room', async () => {
    const stranger = await connect('Stranger');

    const [answer] = await historyAnswer(stranger, { roomId: 'paging' });

    expect(answer).toMatchObject({ type: 'error', code: 'not_in_room', action: 'history' });
  });

  it('splits pages by bytes, so every history event fits one frame', async () => {
    const roomId = 'big';
    const hessu = await connect('Hessu');
    await hessu.enter(roomId, 'Hessu');
    const big = (n: number) => `${n}:${'ä'.repeat(2040)}`; // ~4 KB of UTF-8 each
    await say(hessu, roomId, ...Array.from({ length: 20 }, (_, n) => big(n)));

    const pages = await historyAnswer(hessu, { roomId, limit: 20 });

    expect(pages.length).toBeGreaterThan(1);
    for (const page of pages)
      expect(Buffer.byteLength(JSON.stringify(page))).toBeLessThanOrEqual(FRAME_LIMIT);
    expect(seqsOf(pages)).toEqual(Array.from({ length: 20 }, (_, n) => n + 2));
  });

  it('follows entered with the latest page: no gap and no overlap with the first live event', async () => {
    const roomId = 'latest';
    const roope = await connect('Roope');
    await roope.enter(roomId, 'Roope');
    await say(roope, roomId, 'a', 'b', 'c');
    const mikki = await connect('Mikki');

    const entered = await mikki.enter(roomId, 'Mikki');
    await say(roope, roomId, 'after Mikki');
    await mikki.waitFor((e) => e.message === 'after Mikki', 'the first live message');

    const seen = mikki.events.filter((e) => e.roomId === roomId);
    expect(seen.map((e) => e.type)).toEqual(['entered', 'history', 'message']);
    expect(seqsOf([seen[1] as ChatEvent])).toEqual([1, 2, 3, 4]);
    expect(entered.seq).toBe(5);
    expect(seen[2]?.seq).toBe(6);
    expect(seen[1]).toMatchObject({ more: false });
  });

  it('resumes after an abrupt drop with exactly what was said meanwhile, then live events', async () => {
    const roomId = 'resume';
    const aku = await connect('Aku2');
    await aku.enter(roomId, 'Aku');
    const iines = await connect('Iines');
    await iines.enter(roomId, 'Iines');
    await say(iines, roomId, 'before the drop');
    await aku.waitFor((e) => e.message === 'before the drop', 'the last message before the drop');
    const lastSeen = Math.max(...aku.events.map((e) => Number(e.seq ?? 0)));

    aku.terminate();
    await iines.waitFor((e) => e.type === 'left' && e.nickname === 'Aku', 'Aku dropping');
    await say(iines, roomId, 'while away 1', 'while away 2');
    const back = await connect('Aku2 again');
    back.send({ action: 'enterroom', roomId, nickname: 'Aku', since: lastSeen });
    const entered = await back.waitFor((e) => e.type === 'entered', 'entered again');
    await say(iines, roomId, 'welcome back');
    await back.waitFor((e) => e.message === 'welcome back', 'the first live message');

    expect(entered).toMatchObject({ resumed: true });
    const received = back.events.filter((e) => e.roomId === roomId);
    const pages = received.filter((e) => e.type === 'history');
    const missed = pages.flatMap((p) => p.events as ChatEvent[]);
    // Exactly the events between the last one seen and the new entry: Aku's own drop and the messages.
    expect(missed.map((e) => e.seq)).toEqual(
      Array.from({ length: Number(entered.seq) - lastSeen - 1 }, (_, i) => lastSeen + 1 + i),
    );
    expect(missed.map((e) => e.message ?? `${e.type} ${e.nickname}`)).toEqual([
      'left Aku',
      'while away 1',
      'while away 2',
    ]);
    // Then live, no overlap: seqs strictly increase over everything received.
    const all = [...missed, ...received.filter((e) => e.type !== 'history')].map((e) => Number(e.seq));
    expect(all).toEqual([...new Set(all)].sort((a, b) => a - b));
  });

  it('says resumed: false and sends the latest page when what was missed is no longer kept', async () => {
    const roomId = 'expired';
    const gyro = await connect('Gyro');
    await gyro.enter(roomId, 'Gyro');
    await say(gyro, roomId, 'old 1', 'old 2', 'old 3');
    // The room's first events have expired (DynamoDB Local does not delete by TTL; the log reads
    // ignore what is past it, as they do before TTL deletion catches up in AWS).
    await settled(stack);
    for await (const page of paginateQuery(
      { client: ddb },
      {
        TableName: stack.chat.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: `log#${roomId}` } },
      },
    )) {
      for (const item of page.Items ?? []) {
        if (Number(item.seq?.N) > 2) continue;
        await ddb.send(
          new UpdateItemCommand({
            TableName: stack.chat.tableName,
            Key: { pk: item.pk as { S: string }, sk: item.sk as { S: string } },
            UpdateExpression: 'SET #ttl = :past',
            ExpressionAttributeNames: { '#ttl': 'ttl' },
            ExpressionAttributeValues: { ':past': { N: '1' } },
          }),
        );
      }
    }
    const late = await connect('Late');

    late.send({ action: 'enterroom', roomId, nickname: 'Late', since: 1 });
    const entered = await late.waitFor((e) => e.type === 'entered', 'entered');
    const page = await late.waitFor((e) => e.type === 'history', 'the latest page');

    expect(entered).toMatchObject({ resumed: false });
    expect(seqsOf([page])).toEqual([3, 4]);
  });
});
