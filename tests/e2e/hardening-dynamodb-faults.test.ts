/**
 * DynamoDB on a bad day, end to end: the functions reach DynamoDB Local through the fault
 * proxy (local/dynamodb-fault-proxy.ts), which answers a share of their requests with 400
 * ThrottlingException or 500 InternalServerError in DynamoDB's own error shape. Every action
 * either succeeds (the SDK retried) or answers `error` `internal`; whatever happened, the
 * table never has a membership without its roster entry and nickname, or the other way
 * round. A `$disconnect` that failed (or was lost) leaves records that the TTL makes
 * invisible to the room once they expire.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CONNECTION_TTL_SECONDS,
  DynamoDbConnectionStore,
} from '../../functions/shared/adapters/dynamodb-connection-store';
import { ChatClient } from './support/chat-client';
import { type act, enter, exit, say } from './support/outcomes';
import { roomItems, tableInconsistencies } from './support/table-invariants';
import { eventually, startTestStack, type TestStack } from './support/test-stack';

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
  const healthy = () => {
    ddbFaults().failRate = 0;
    ddbFaults().operations = [];
  };
  /** Every connection closed and its $disconnect finished. */
  const quiet = () =>
    eventually(() => stack.chat.connectionIds().length === 0, 'every connection to close', 20_000);

  beforeAll(async () => {
    stack = await startTestStack({
      visibilityTimeoutSeconds: 1,
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
    expect(outcomes.map((o) => (o.ok ? 'ok' : o.code))).toEqual(['internal', 'internal', 'internal']);
    const items = await roomItems(dynamodb, stack.chat.tableName, 'down');
    expect(items.map((i) => i.nickname?.S).sort()).toEqual(['Alice', 'Alice']);
    expect(await tableInconsistencies(dynamodb, stack.chat.tableName)).toEqual([]);
  }, 60_000);

  it('undoes an entry whose member list could not be read, so internal means nothing changed', async () => {
    const carol = await connect('carol');
    ddbFaults().operations = ['Query'];
    ddbFaults().failRate = 1;

    const outcome = await enter(carol, 'half', 'Carol');

    healthy();
    expect(outcome).toMatchObject({ ok: false, code: 'internal' });
    expect(await roomItems(dynamodb, stack.chat.tableName, 'half')).toEqual([]);
    expect((await enter(carol, 'half', 'Carol')).ok).toBe(true);
  }, 60_000);

  it('leaves consistent records when $disconnect fails, and they stop counting once their TTL passes', async () => {
    const dave = await connect('dave');
    await enter(dave, 'stale', 'Dave');
    const erin = await connect('erin');
    await enter(erin, 'stale', 'Erin');
    const daveId = (stack.chat.connectionIds()[0] ?? '') as string;
    ddbFaults().operations = ['TransactWriteItems', 'DeleteItem'];
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

    const now = new Date();
    const store = new DynamoDbConnectionStore(dynamodb, stack.chat.tableName, { now: () => now });
    expect(await store.getConnection(daveId)).toBeDefined();
    expect(await tableInconsistencies(dynamodb, stack.chat.tableName)).toEqual([]);
    // DynamoDB Local never deletes expired items: a store whose clock is past the TTL shows
    // what every query sees once it has passed.
    const later = new Date(now.getTime() + (CONNECTION_TTL_SECONDS + 60) * 1000);
    const afterTtl = new DynamoDbConnectionStore(dynamodb, stack.chat.tableName, { now: () => later });
    const members: string[] = [];
    for await (const page of afterTtl.roomMembers('stale')) members.push(...page.map((m) => m.nickname));
    expect(members).toEqual([]);
    await afterTtl.putConnection({
      connectionId: 'newcomer=',
      role: 'user',
      principalId: 'user',
      connectedAt: 0,
    });
    await expect(
      afterTtl.enterRoom({ connectionId: 'newcomer=', roomId: 'stale', nickname: 'Dave' }),
    ).resolves.toEqual(['Dave']);
    // Undo the time travel: the newcomer took Dave's nickname only on the moved clock.
    await afterTtl.removeConnection('newcomer=');
    await store.removeConnection(daveId);
  }, 60_000);
  it('leaves whole records behind when $disconnect is lost, and they stop counting once their TTL passes', async () => {
    const ghost = await connect('ghost');
    await enter(ghost, 'lost', 'Ghost');
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

    const now = new Date();
    const store = new DynamoDbConnectionStore(dynamodb, stack.chat.tableName, { now: () => now });
    const later = new Date(now.getTime() + (CONNECTION_TTL_SECONDS + 60) * 1000);
    const afterTtl = new DynamoDbConnectionStore(dynamodb, stack.chat.tableName, { now: () => later });
    const members = async (s: DynamoDbConnectionStore) => {
      const names: string[] = [];
      for await (const page of s.roomMembers('lost')) names.push(...page.map((m) => m.nickname));
      return names;
    };

    expect(await tableInconsistencies(dynamodb, stack.chat.tableName)).toEqual([]);
    expect(await members(store)).toEqual(['Ghost']);
    expect(await members(afterTtl)).toEqual([]);
  }, 60_000);
});
