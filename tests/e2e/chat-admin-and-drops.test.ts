/**
 * Admins, abrupt drops and stale records, end to end on the local gateway: only admins may
 * broadcast and a broadcast reaches every connection whatever its room; a client that drops
 * without closing is reported to its room (`disconnect`); a connection whose $disconnect
 * was lost is pruned when @connections answers 410, and its room is told (`gone`).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbConnectionRegistry } from '../../functions/shared/adapters/dynamodb/connection-registry';
import { DynamoDbEntryStore } from '../../functions/shared/adapters/dynamodb/entry-store';
import { ChatClient, type ChatEvent } from './support/chat-client';
import { eventually, startTestStack, type TestStack } from './support/test-stack';

describe('admins, drops and stale connections', () => {
  let stack: TestStack;
  let registry: DynamoDbConnectionRegistry;
  let entries: DynamoDbEntryStore;
  let dynamodb: DynamoDBClient;
  const open: ChatClient[] = [];
  const connect = async (name: string, token = stack.chat.chatToken) => {
    const client = await ChatClient.connect(stack.chat.wsUrl, token, name);
    open.push(client);
    return client;
  };
  const isBroadcast = (e: ChatEvent) => e.type === 'broadcast';

  beforeAll(async () => {
    stack = await startTestStack();
    dynamodb = new DynamoDBClient({
      endpoint: stack.chat.dynamoDbEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    registry = new DynamoDbConnectionRegistry(dynamodb, stack.chat.tableName);
    entries = new DynamoDbEntryStore(dynamodb, stack.chat.tableName);
  }, 60_000);

  afterAll(async () => {
    for (const client of open) client.terminate();
    dynamodb?.destroy();
    await stack?.chat.stop();
  }, 30_000);

  it('refuses a broadcast from a user who is not an admin (error forbidden)', async () => {
    const user = await connect('user');
    user.send({ action: 'broadcast', message: 'Minäkin haluan kuulutella' });
    const error = await user.waitFor((e) => e.type === 'error', 'an error event');
    expect(error).toMatchObject({ code: 'forbidden', action: 'broadcast' });
  });

  it('delivers an admin broadcast to connections in different rooms, and in none', async () => {
    const alice = await connect('alice');
    await alice.enter('lobby', 'Alice');
    const bob = await connect('bob');
    await bob.enter('kitchen', 'Bob');
    const carol = await connect('carol');
    const admin = await connect('admin', stack.chat.adminToken);

    admin.send({ action: 'broadcast', message: 'Huoltokatko klo 18' });
    for (const client of [alice, bob, carol, admin]) {
      const broadcast = await client.waitFor(isBroadcast, 'the broadcast');
      expect(broadcast).toMatchObject({ type: 'broadcast', from: 'admin', message: 'Huoltokatko klo 18' });
    }
    // Broadcasts share one FIFO group: had the refused one been queued, it would have come first.
    const user = open[0] as ChatClient;
    await user.waitFor(isBroadcast, 'the broadcast');
    expect(user.events.filter(isBroadcast)).toHaveLength(1);
    expect(alice.events.filter(isBroadcast)).toHaveLength(1);
  });

  it('tells the room when a member drops without closing (reason disconnect) and removes its records', async () => {
    const dave = await connect('dave');
    await dave.enter('drop', 'Dave');
    const daveId = (stack.chat.connectionIds().at(-1) as string) ?? '';
    const erin = await connect('erin');
    await erin.enter('drop', 'Erin');
    // Dave has heard of Erin: no post to him is still on its way when he drops.
    await dave.waitFor((e) => e.type === 'joined' && e.nickname === 'Erin', "Erin's arrival");

    dave.terminate();

    const left = await erin.waitFor((e) => e.type === 'left', 'the left notice');
    expect(left).toMatchObject({ roomId: 'drop', nickname: 'Dave', reason: 'disconnect' });
    // $disconnect removes the connection and queues its left; the fanout then logs the left
    // and deletes the entry.
    await eventually(async () => (await registry.getConnection(daveId)) === undefined, "Dave's record to go");
    await eventually(async () => (await entries.list(daveId)).length === 0, "Dave's entry to go");
  });

  it('prunes a stale connection after @connections answers 410, and tells its room (reason gone)', async () => {
    // A member vanishes and its $disconnect is lost (API Gateway delivers it best-effort):
    // its records stay behind, still pointing at a connection that no longer exists.
    const ghost = await connect('ghost');
    await ghost.enter('haunted', 'Ghost');
    // The page that follows `entered` has arrived: no post to the ghost is on its way.
    await ghost.waitFor((e) => e.type === 'history' && e.roomId === 'haunted', 'the page after entered');
    const ghostId = stack.chat.connectionIds().at(-1) as string;
    stack.chat.faults.disconnect.lostRate = 1;
    try {
      ghost.terminate();
      await eventually(
        () => !stack.chat.connectionIds().includes(ghostId),
        'the gateway to forget the ghost',
      );
    } finally {
      stack.chat.faults.disconnect.lostRate = 0;
    }
    expect(await registry.getConnection(ghostId)).toBeDefined();

    // The next event of the room is posted to the ghost too: 410, so it is pruned.
    const frank = await connect('frank');
    const entered = await frank.enter('haunted', 'Frank');
    expect([...(entered.members as string[])].sort()).toEqual(['Frank', 'Ghost']);

    const left = await frank.waitFor((e) => e.type === 'left', 'the left notice');
    expect(left).toMatchObject({ roomId: 'haunted', nickname: 'Ghost', reason: 'gone' });
    await eventually(
      async () => (await registry.getConnection(ghostId)) === undefined,
      'the ghost record to go',
    );
    await eventually(async () => (await entries.list(ghostId)).length === 0, "the ghost's entry to go");
    expect(
      stack.invocations.filter(
        (i) => i.functionId === 'DisconnectFunction' && JSON.stringify(i.event).includes(ghostId),
      ),
    ).toEqual([]);

    // The nickname is free again.
    const grace = await connect('grace');
    await grace.enter('haunted', 'Ghost');
  });
});
