/**
 * The stores' contracts against the DynamoDB adapters on DynamoDB Local (table created from
 * template.yaml) and against the in-memory ports the unit tests use; plus what only the DynamoDB
 * adapters can show (TTL stamps, Query-only access paths).
 */
import {
  DeleteItemCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  paginateScan,
  ScanCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { DynamoDbConnectionRegistry } from '../../functions/shared/adapters/dynamodb/connection-registry';
import { DynamoDbEntryStore } from '../../functions/shared/adapters/dynamodb/entry-store';
import { DynamoDbFailureCounter } from '../../functions/shared/adapters/dynamodb/failure-counter';
import { DynamoDbRateLimiter } from '../../functions/shared/adapters/dynamodb/rate-limiter';
import { DynamoDbRoomLog } from '../../functions/shared/adapters/dynamodb/room-log-store';
import {
  CANCELLED_TTL_SECONDS,
  CONNECTION_TTL_SECONDS,
  FAILURE_TTL_SECONDS,
  LEFT_MEMBER_TTL_SECONDS,
} from '../../functions/shared/adapters/dynamodb/table-layout';
import { createChatTable, uniqueTableName } from '../support/chat-table';
import { collect, describeStoreContracts, type StoreWorld } from '../support/contracts';
import {
  CONTRACT_SLICES,
  joinedOf,
  leftOf,
  messageOf,
  newEntry,
  recordOf,
} from '../support/contracts/subject';
import { inMemoryChat } from '../support/in-memory';
import { type LocalAws, startLocalAws } from '../support/local-aws';

let aws: LocalAws;

beforeAll(async () => {
  aws = await startLocalAws();
}, 120_000);

afterAll(async () => {
  await aws?.stop();
});

function dynamoDbWorld(client: DynamoDBClient, tableName: string, now: () => Date, retentionDays: number) {
  const log = () => new DynamoDbRoomLog(client, tableName, { retentionDays, now, slices: CONTRACT_SLICES });
  return {
    registry: new DynamoDbConnectionRegistry(client, tableName, now),
    entries: new DynamoDbEntryStore(client, tableName, now),
    log: log(),
    limiter: new DynamoDbRateLimiter(client, tableName),
    failures: new DynamoDbFailureCounter(client, tableName, now),
    anotherLog: log,
  };
}

const tableOf = new WeakMap<StoreWorld, string>();
const table = (world: StoreWorld) => {
  const name = tableOf.get(world);
  if (!name) throw new Error('not a DynamoDB world');
  return name;
};

describeStoreContracts('DynamoDB adapters on DynamoDB Local', {
  async create(now, retentionDays) {
    const tableName = uniqueTableName('contract');
    await createChatTable(aws.ddb, tableName);
    const world = dynamoDbWorld(aws.ddb, tableName, now, retentionDays);
    tableOf.set(world, tableName);
    return world;
  },
  async spreadRosterOverPages(world, roomId, connectionIds) {
    // 300 KB per roster item: four or more of them exceed DynamoDB's 1 MB Query page.
    const pad = 'x'.repeat(300 * 1024);
    for (const connectionId of connectionIds) {
      await aws.ddb.send(
        new UpdateItemCommand({
          TableName: table(world),
          Key: { pk: { S: `room#${roomId}` }, sk: { S: `member#${connectionId}` } },
          UpdateExpression: 'SET padding = :pad',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':pad': { S: pad } },
        }),
      );
    }
  },
  async deleteExpired(world, now) {
    // DynamoDB Local keeps expired items; this is what the TTL process does in AWS.
    const nowSeconds = String(Math.floor(now.getTime() / 1000));
    for await (const page of paginateScan(
      { client: aws.ddb },
      {
        TableName: table(world),
        FilterExpression: '#ttl < :now',
        ExpressionAttributeNames: { '#ttl': 'ttl' },
        ExpressionAttributeValues: { ':now': { N: nowSeconds } },
        ConsistentRead: true,
      },
    )) {
      for (const item of page.Items ?? []) {
        await aws.ddb.send(
          new DeleteItemCommand({
            TableName: table(world),
            Key: { pk: item.pk ?? { S: '' }, sk: item.sk ?? { S: '' } },
          }),
        );
      }
    }
  },
});

describeStoreContracts('in-memory ports', {
  async create(now, retentionDays) {
    return inMemoryChat({ now, retentionDays, pageSize: 3, slices: CONTRACT_SLICES });
  },
  async spreadRosterOverPages() {
    // Three items per page already.
  },
  async deleteExpired(world) {
    (world as ReturnType<typeof inMemoryChat>).table.sweepExpired();
  },
});

describe('DynamoDB adapters: what only the table shows', () => {
  const T0 = new Date('2030-06-01T00:00:00.000Z');
  const nowSeconds = Math.floor(T0.getTime() / 1000);
  let tableName: string;
  let world: ReturnType<typeof dynamoDbWorld>;

  beforeEach(async () => {
    tableName = uniqueTableName('specifics');
    await createChatTable(aws.ddb, tableName);
    world = dynamoDbWorld(aws.ddb, tableName, () => T0, 7);
  });

  async function scan() {
    const { Items = [] } = await aws.ddb.send(
      new ScanCommand({ TableName: tableName, ConsistentRead: true }),
    );
    return Items;
  }

  /** The names of the commands the shared client sends while `fn` runs. */
  async function commandsOf(fn: () => Promise<unknown>): Promise<Set<string>> {
    const commands = new Set<string>();
    const name = `record-${tableName}`;
    aws.ddb.middlewareStack.add(
      (next, context) => async (args) => {
        commands.add(String(context.commandName));
        return next(args);
      },
      { step: 'initialize', name },
    );
    try {
      await fn();
    } finally {
      aws.ddb.middlewareStack.remove(name);
    }
    return commands;
  }

  /** Mikki on the roster of room r1 (joined at 1), a message at 2. */
  async function mikkiCameAndWent() {
    const connectionId = 'mikki1=';
    await world.registry.putConnection({ connectionId, role: 'user', principalId: 'user', connectedAt: 1 });
    const entry = newEntry(connectionId, 'r1', 'Mikki');
    await world.entries.reserve(entry);
    await world.entries.markQueued(entry);
    await world.log.append('r1', recordOf(joinedOf(entry), 1), {
      kind: 'join',
      member: { connectionId, entryId: entry.entryId, nickname: 'Mikki', joinedSeq: 1 },
      entryState: 'queued',
    });
    await world.log.append('r1', recordOf(messageOf(entry), 2), { kind: 'message' });
    return { connectionId, entry };
  }

  /** Mikki exits room r1: its left logged at 3. */
  async function mikkiLeaves(connectionId: string, entry: ReturnType<typeof newEntry>) {
    const leaving = await world.entries.beginExit({ ...entry, state: 'active', updatedAt: 0 });
    await world.log.append('r1', recordOf(leftOf(entry), 3), {
      kind: 'leave',
      connectionId,
      entryId: entry.entryId,
      joinedSeq: 1,
      entryState: leaving.state,
    });
  }

  it('enables TTL on the `ttl` attribute of the table created from the template', async () => {
    const { TimeToLiveDescription } = await aws.ddb.send(
      new DescribeTimeToLiveCommand({ TableName: tableName }),
    );

    expect(TimeToLiveDescription?.AttributeName).toBe('ttl');
    expect(TimeToLiveDescription?.TimeToLiveStatus).toMatch(/ENABL/);
  });

  it('stamps connection, entry, nickname, roster and slice items with the connection lifetime plus margin', async () => {
    const { connectionId, entry } = await mikkiCameAndWent();
    await world.limiter.take(connectionId, 'send', { limit: 5, windowSeconds: 10 }, T0);

    const items = (await scan()).filter((i) => !i.pk?.S?.startsWith('log#') && i.sk?.S !== 'logmark');

    expect(items.map((i) => i.sk?.S).sort()).toEqual([
      `m#${connectionId}#${entry.entryId}`,
      `member#${connectionId}`,
      'meta',
      'nick#mikki',
      'room#r1',
    ]);
    for (const item of items) expect(item.ttl?.N).toBe(String(nowSeconds + CONNECTION_TTL_SECONDS));
    expect(CONNECTION_TTL_SECONDS).toBeGreaterThanOrEqual(2 * 60 * 60);
  });

  it('keeps logged events for the retention, and the log mark of the last left without expiry', async () => {
    const { connectionId, entry } = await mikkiCameAndWent();
    await mikkiLeaves(connectionId, entry);

    const items = await scan();
    const logItems = items.filter((i) => i.pk?.S === 'log#r1');
    const mark = items.find((i) => i.sk?.S === 'logmark');

    expect(logItems.map((i) => i.sk?.S)).toEqual(['000000000001', '000000000002', '000000000003']);
    for (const item of logItems) expect(item.ttl?.N).toBe(String(nowSeconds + 7 * 24 * 60 * 60));
    expect(mark).toMatchObject({ pk: { S: 'room#r1' }, seq: { N: '3' } });
    expect(mark).not.toHaveProperty('ttl');
  });

  it("keeps the room's size on its log mark and the window of one that left in its slice, for a day", async () => {
    const { connectionId, entry } = await mikkiCameAndWent();
    const slice = world.log.sliceOf(connectionId);
    const counted = async () => (await scan()).find((i) => i.sk?.S === 'logmark');
    expect(await counted()).toMatchObject({ members: { N: '1' }, [`m${slice}`]: { N: '1' } });

    await mikkiLeaves(connectionId, entry);

    const items = await scan();
    expect(await counted()).toMatchObject({
      members: { N: '0' },
      [`m${slice}`]: { N: '0' },
      seq: { N: '3' },
    });
    expect(items.filter((i) => i.pk?.S === `slice#r1#${slice}`)).toEqual([
      {
        pk: { S: `slice#r1#${slice}` },
        sk: { S: `l#000000000003#${connectionId}#${entry.entryId}` },
        connectionId: { S: connectionId },
        entryId: { S: entry.entryId },
        joinedSeq: { N: '1' },
        leftSeq: { N: '3' },
        ttl: { N: String(nowSeconds + LEFT_MEMBER_TTL_SECONDS) },
      },
    ]);
    expect(LEFT_MEMBER_TTL_SECONDS).toBeGreaterThan(24 * 60 * 60);
  });

  it('keeps the proof of a taken-back entry for longer than a queued joined can wait', async () => {
    const connectionId = 'mikki1=';
    await world.registry.putConnection({ connectionId, role: 'user', principalId: 'user', connectedAt: 1 });
    const entry = newEntry(connectionId, 'r1', 'Mikki');
    await world.entries.reserve(entry);
    await world.entries.cancel(entry);

    const items = await scan();

    expect(items.map((i) => i.sk?.S).sort()).toEqual([`cancelled#${entry.entryId}`, 'meta']);
    expect(items.find((i) => i.sk?.S?.startsWith('cancelled#'))?.ttl?.N).toBe(
      String(nowSeconds + CANCELLED_TTL_SECONDS),
    );
    expect(CANCELLED_TTL_SECONDS).toBeGreaterThan(24 * 60 * 60);
  });

  it("stamps a group's failure count with its own TTL", async () => {
    await world.failures.recordFailure('room:r1', 'e1');

    const [item] = await scan();

    expect(item).toMatchObject({
      pk: { S: 'group#room:r1' },
      ttl: { N: String(nowSeconds + FAILURE_TTL_SECONDS) },
    });
  });

  it('reads rosters, entries, shards and the log with Query and GetItem only, never Scan', async () => {
    const { connectionId } = await mikkiCameAndWent();

    const commands = await commandsOf(async () => {
      await collect(world.log.roster('r1'));
      await world.log.member('r1', connectionId);
      await world.anotherLog().head('r1');
      await world.log.events('r1', { limit: 10, take: 'newest' });
      await world.entries.list(connectionId);
      await world.entries.get(connectionId, 'r1');
      await world.entries.wasCancelled(connectionId, 'e1');
      for (let shard = 0; shard < world.registry.shards; shard++) {
        await collect(world.registry.connectionsOfShard(shard));
      }
    });

    expect([...commands].sort()).toEqual(['GetItemCommand', 'QueryCommand']);
  });

  it('answers a head from its cache once it knows it', async () => {
    await mikkiCameAndWent();
    await world.log.head('r1');

    const commands = await commandsOf(() => world.log.head('r1'));

    expect(commands.size).toBe(0);
  });
});
