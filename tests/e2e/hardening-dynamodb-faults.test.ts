/**
 * DynamoDB on a bad day, end to end: the functions reach DynamoDB Local through the fault
 * proxy (local/faults/dynamodb-fault-proxy.ts), which answers a share of their requests with 400
 * ThrottlingException or 500 InternalServerError in DynamoDB's own error shape. Every action
 * either succeeds (the SDK retried) or answers `error` `internal`; whatever happened, once
 * the stack has settled the table never has an entry without its nickname (or an active one
 * off the roster), a roster member without its entry, or a nickname held for nobody. A
 * `$disconnect` that failed (or was lost) leaves records that the TTL makes invisible to the
 * room once they expire.
 */
import { type AttributeValue, DeleteItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbConnectionRegistry } from '../../functions/shared/adapters/dynamodb/connection-registry';
import { DynamoDbEntryStore } from '../../functions/shared/adapters/dynamodb/entry-store';
import { DynamoDbRoomLog } from '../../functions/shared/adapters/dynamodb/room-log-store';
import { CONNECTION_TTL_SECONDS } from '../../functions/shared/adapters/dynamodb/table-layout';
import { ChatClient } from './support/chat-client';
import { type act, enter, exit, say } from './support/outcomes';
import { roomItems, scanTable, tableInconsistencies } from './support/table-invariants';
import { eventually, settled, startTestStack, type TestStack } from './support/test-stack';

/**
 * How long an action may take to show its outcome under throttling: the SDK backs off up to
 * seconds per retry, and a fanout that fails on DynamoDB brings its record (and the room's
 * later ones) back after the visibility timeout.
 */
const SLOW = 60_000;

/** A seeded random source, so a run's faults can be replayed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('DynamoDB throttling and errors', () => {
  let stack: TestStack;
  let dynamodb: DynamoDBClient;
  const open: ChatClient[] = [];
  const connect = async (name: string) => {
    const client = await ChatClient.connect(stack.chat.wsUrl, stack.chat.chatToken, name);
    open.push(client);
    return client;
  };
  const ddbFaults = () => stack.chat.faults.dynamodb;
  /** Deletes every item of these connections (what TTL would do, eventually). */
  const forget = async (...connectionIds: string[]) => {
    for (const item of await scanTable(dynamodb, stack.chat.tableName)) {
      if (!connectionIds.includes(item.connectionId?.S ?? item.pk?.S?.replace(/^conn#/, '') ?? '')) continue;
      await dynamodb.send(
        new DeleteItemCommand({
          TableName: stack.chat.tableName,
          Key: { pk: item.pk as AttributeValue, sk: item.sk as AttributeValue },
        }),
      );
    }
  };
  const healthy = () => {
    ddbFaults().failRate = 0;
    ddbFaults().operations = [];
  };
  /** Every connection closed and its $disconnect finished. */
  const quiet = () =>
    eventually(() => stack.chat.connectionIds().length === 0, 'every connection to close', 20_000);

  beforeAll(async () => {
    stack = await startTestStack({
      // Failed records come back within seconds (the fanout shortens their visibility); a
      // batch that fails whole, after the visibility timeout, which Lambda wants at least the
      // fanout's Timeout.
      visibilityTimeoutSeconds: 5,
      functionTimeouts: { FanoutFunction: 5 },
      faults: { dynamodb: {}, random: seeded(6) },
      functionEnv: { SEND_RATE_LIMIT: '1000' },
    });
    dynamodb = new DynamoDBClient({
      endpoint: stack.chat.dynamoDbEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  }, 60_000);

  afterEach(async () => {
    healthy();
    for (const client of open.splice(0)) client.terminate();
    await quiet();
  }, 30_000);

  afterAll(async () => {
    dynamodb?.destroy();
    await stack?.chat.stop();
  }, 30_000);

  it('puts the fault proxy between the functions and DynamoDB only when asked', () => {
    expect(stack.chat.dynamoDbFaultProxy?.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(stack.chat.dynamoDbFaultProxy?.endpoint).not.toBe(stack.chat.dynamoDbEndpoint);
  });

  it.each([
    [400, 'ThrottlingException'],
    [500, 'InternalServerError'],
  ])(
    'answers each action or says internal under %i %s on 15%% of requests, and leaves the table consistent',
    async (status) => {
      const roomId = `ddb-${status}`;
      ddbFaults().failStatus = status;
      const clients = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => connect(`c${n}`)));
      ddbFaults().failRate = 0.15;
      const outcomes: { ok: boolean; code?: string }[] = [];
      const record = (o: Awaited<ReturnType<typeof act>>) => {
        outcomes.push(o.ok ? { ok: true } : { ok: false, code: o.code });
        return o;
      };

      await Promise.all(
        clients.map(async (client, n) => {
          const entered = record(await enter(client, roomId, `Nick${n}`, SLOW));
          if (entered.ok) for (let i = 0; i < 3; i++) record(await say(client, roomId, `${n}-${i}`, SLOW));
          if (entered.ok && n % 2 === 0) record(await exit(client, roomId, SLOW));
          if (n % 3 === 0) client.terminate();
          else await client.close();
        }),
      );
      await quiet();
      const failures = stack.chat.dynamoDbFaultProxy?.failures ?? {};
      healthy();
      await settled(stack);

      expect(Object.values(failures).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      for (const outcome of outcomes) expect(outcome.ok || outcome.code === 'internal').toBe(true);
      expect(await tableInconsistencies(dynamodb, stack.chat.tableName)).toEqual([]);
    },
    180_000,
  );

  it('answers internal to every action while DynamoDB fails every request, and writes nothing', async () => {
    const alice = await connect('alice');
    expect((await enter(alice, 'down', 'Alice')).ok).toBe(true);
    const bob = await connect('bob');
    ddbFaults().failRate = 1;

    const outcomes = [
      await enter(bob, 'down', 'Bob'),
      await say(alice, 'down', 'hello?'),
      await exit(alice, 'down'),
    ];

    healthy();
    await settled(stack);
    expect(outcomes.map((o) => (o.ok ? 'ok' : o.code))).toEqual(['internal', 'internal', 'internal']);
    // Alice's nickname and roster entry; nothing of Bob.
    const items = await roomItems(dynamodb, stack.chat.tableName, 'down');
    expect(items.map((i) => `${i.sk?.S?.split('#')[0]}:${i.nickname?.S}`).sort()).toEqual([
      'member:Alice',
      'nick:Alice',
    ]);
    expect(await tableInconsistencies(dynamodb, stack.chat.tableName)).toEqual([]);
  }, 60_000);

  it('answers internal to an exit whose entry cannot be updated, and Alice stays in', async () => {
    const alice = await connect('alice');
    expect((await enter(alice, 'stay', 'Alice')).ok).toBe(true);
    ddbFaults().operations = ['UpdateItem'];
    ddbFaults().failRate = 1;

    const outcome = await exit(alice, 'stay');

    healthy();
    expect(outcome).toMatchObject({ ok: false, code: 'internal' });
    expect((await say(alice, 'stay', 'still here')).ok).toBe(true);
  }, 60_000);

  it('leaves consistent records when $disconnect fails, and they stop counting once their TTL passes', async () => {
    const dave = await connect('dave');
    await enter(dave, 'stale', 'Dave');
    const erin = await connect('erin');
    await enter(erin, 'stale', 'Erin');
    const daveId = (stack.chat.connectionIds()[0] ?? '') as string;
    // Dave has heard of Erin: no post to him is on its way (it would find him gone, 410, and
    // prune him, which is not what this test is about).
    await dave.waitFor((e) => e.type === 'joined' && e.nickname === 'Erin', "Erin's arrival");
    ddbFaults().operations = ['UpdateItem', 'DeleteItem'];
    ddbFaults().failRate = 1;

    dave.terminate();
    await eventually(() => !stack.chat.connectionIds().includes(daveId), 'the gateway to forget Dave');
    await eventually(
      () =>
        stack.invocations.some(
          (i) => i.functionId === 'DisconnectFunction' && JSON.stringify(i.event).includes(daveId),
        ),
      "Dave's $disconnect to run",
    );
    healthy();
    await settled(stack);

    const now = new Date();
    const registry = new DynamoDbConnectionRegistry(dynamodb, stack.chat.tableName, () => now);
    expect(await registry.getConnection(daveId)).toBeDefined();
    expect(await tableInconsistencies(dynamodb, stack.chat.tableName)).toEqual([]);
    // DynamoDB Local never deletes expired items: stores whose clock is past the TTL show
    // what every query sees once it has passed.
    const later = new Date(now.getTime() + (CONNECTION_TTL_SECONDS + 60) * 1000);
    const log = new DynamoDbRoomLog(dynamodb, stack.chat.tableName, { retentionDays: 7, now: () => later });
    const members: string[] = [];
    for await (const page of log.roster('stale')) members.push(...page.map((m) => m.nickname));
    expect(members).toEqual([]);
    const laterRegistry = new DynamoDbConnectionRegistry(dynamodb, stack.chat.tableName, () => later);
    const laterEntries = new DynamoDbEntryStore(dynamodb, stack.chat.tableName, () => later);
    await laterRegistry.putConnection({
      connectionId: 'newcomer=',
      role: 'user',
      principalId: 'user',
      connectedAt: 0,
    });
    const newcomer = {
      connectionId: 'newcomer=',
      roomId: 'stale',
      entryId: 'n1',
      nickname: 'Dave',
      fromId: 'f',
    };
    await expect(laterEntries.reserve(newcomer)).resolves.toBeUndefined();
    // Undo the time travel: the newcomer took Dave's nickname only on the moved clock.
    await forget(daveId, 'newcomer=');
  }, 60_000);
  it('leaves whole records behind when $disconnect is lost, and they stop counting once their TTL passes', async () => {
    const ghost = await connect('ghost');
    await enter(ghost, 'lost', 'Ghost');
    // The page that follows `entered` has arrived: no post to the ghost is on its way.
    await ghost.waitFor((e) => e.type === 'history' && e.roomId === 'lost', 'the page after entered');
    const ghostId = stack.chat.connectionIds()[0] as string;
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

    await settled(stack);
    const now = new Date();
    const later = new Date(now.getTime() + (CONNECTION_TTL_SECONDS + 60) * 1000);
    const members = async (at: Date) => {
      const log = new DynamoDbRoomLog(dynamodb, stack.chat.tableName, { retentionDays: 7, now: () => at });
      const names: string[] = [];
      for await (const page of log.roster('lost')) names.push(...page.map((m) => m.nickname));
      return names;
    };

    expect(await tableInconsistencies(dynamodb, stack.chat.tableName)).toEqual([]);
    expect(await members(now)).toEqual(['Ghost']);
    expect(await members(later)).toEqual([]);
  }, 60_000);
});
