/**
 * The ConnectionStore contract against the DynamoDB adapter on DynamoDB Local (table created
 * from template.yaml) and against the in-memory store used by the unit tests; plus what only
 * the DynamoDB adapter can show (TTL stamps, Query-only access paths).
 */
import {
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  ScanCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CONNECTION_TTL_SECONDS,
  DynamoDbConnectionStore,
} from '../../functions/shared/adapters/dynamodb-connection-store';
import type { ConnectionStore } from '../../functions/shared/ports';
import { createChatTable, uniqueTableName } from '../support/chat-table';
import { collect, describeConnectionStoreContract } from '../support/connection-store-contract';
import { InMemoryConnectionStore } from '../support/in-memory-connection-store';
import { type LocalAws, startLocalAws } from '../support/local-aws';
import { connectionIdFor } from '../support/ws-events';

let aws: LocalAws;

beforeAll(async () => {
  aws = await startLocalAws();
}, 120_000);

afterAll(async () => {
  await aws?.stop();
});

/** 300 KB per member item: four or more members exceed DynamoDB's 1 MB Query page. */
async function padMemberItems(
  ddb: DynamoDBClient,
  tableName: string,
  roomId: string,
  connectionIds: string[],
) {
  const pad = 'x'.repeat(300 * 1024);
  for (const connectionId of connectionIds) {
    await ddb.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { pk: { S: `room#${roomId}` }, sk: { S: `member#${connectionId}` } },
        UpdateExpression: 'SET padding = :pad',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':pad': { S: pad } },
      }),
    );
  }
}

const tableOf = new WeakMap<ConnectionStore, string>();

describeConnectionStoreContract('DynamoDbConnectionStore on DynamoDB Local', {
  async create(now) {
    const tableName = uniqueTableName('contract');
    await createChatTable(aws.ddb, tableName);
    const store = new DynamoDbConnectionStore(aws.ddb, tableName, { now });
    tableOf.set(store, tableName);
    return store;
  },
  async spreadOverPages(store, roomId, connectionIds) {
    const tableName = tableOf.get(store);
    if (!tableName) throw new Error('unknown store');
    await padMemberItems(aws.ddb, tableName, roomId, connectionIds);
  },
});

describeConnectionStoreContract('InMemoryConnectionStore', {
  async create(now) {
    return new InMemoryConnectionStore({ now, pageSize: 3 });
  },
  async spreadOverPages() {
    // Three members per page already.
  },
});

describe('DynamoDbConnectionStore specifics', () => {
  const T0 = new Date('2030-06-01T00:00:00.000Z');
  let tableName: string;
  let store: DynamoDbConnectionStore;
  let commands: string[];

  beforeEach(async () => {
    tableName = uniqueTableName('specifics');
    await createChatTable(aws.ddb, tableName);
    store = new DynamoDbConnectionStore(aws.ddb, tableName, { now: () => T0 });
    commands = [];
  });

  /** Records the names of the commands the shared client sends while `fn` runs. */
  async function recordCommands<T>(fn: () => Promise<T>): Promise<T> {
    const name = `record-${tableName}`;
    aws.ddb.middlewareStack.add(
      (next, context) => async (args) => {
        commands.push(String(context.commandName));
        return next(args);
      },
      { step: 'initialize', name },
    );
    try {
      return await fn();
    } finally {
      aws.ddb.middlewareStack.remove(name);
    }
  }

  it('enables TTL on the `ttl` attribute of the table created from the template', async () => {
    const { TimeToLiveDescription } = await aws.ddb.send(
      new DescribeTimeToLiveCommand({ TableName: tableName }),
    );

    expect(TimeToLiveDescription?.AttributeName).toBe('ttl');
    expect(TimeToLiveDescription?.TimeToLiveStatus).toMatch(/ENABL/);
  });

  it('stamps every item it writes with a TTL of the connection lifetime plus margin', async () => {
    const connectionId = connectionIdFor('ttl');
    await store.putConnection({ connectionId, role: 'user', principalId: 'user', connectedAt: 1 });
    await store.enterRoom({ connectionId, roomId: 'r1', nickname: 'Mikki' });
    await store.takeSendToken(connectionId, 5, 10, T0);

    const { Items = [] } = await aws.ddb.send(
      new ScanCommand({ TableName: tableName, ConsistentRead: true }),
    );

    expect(Items.map((i) => i.sk?.S).sort()).toEqual([
      `member#${connectionId}`,
      'meta',
      'nick#mikki',
      'room#r1',
    ]);
    const expected = String(Math.floor(T0.getTime() / 1000) + CONNECTION_TTL_SECONDS);
    for (const item of Items) expect(item.ttl?.N).toBe(expected);
    expect(CONNECTION_TTL_SECONDS).toBeGreaterThanOrEqual(2 * 60 * 60);
  });

  it('reads room members, memberships and all connections with Query only, never Scan', async () => {
    const connectionId = connectionIdFor('q');
    await store.putConnection({ connectionId, role: 'user', principalId: 'user', connectedAt: 1 });
    await store.enterRoom({ connectionId, roomId: 'r1', nickname: 'Mikki' });

    await recordCommands(async () => {
      await collect(store.roomMembers('r1'));
      await store.listMemberships(connectionId);
      await collect(store.allConnections());
    });

    expect(new Set(commands)).toEqual(new Set(['QueryCommand']));
  });

  it('removes a connection whose nickname reservation was already taken over, keeping the new owner', async () => {
    const old = connectionIdFor('old');
    const next = connectionIdFor('next');
    for (const id of [old, next])
      await store.putConnection({ connectionId: id, role: 'user', principalId: 'user', connectedAt: 1 });
    await store.enterRoom({ connectionId: old, roomId: 'r1', nickname: 'Mikki' });
    // The reservation item moved to another connection (e.g. TTL deleted it and it was re-taken).
    await aws.ddb.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { pk: { S: 'room#r1' }, sk: { S: 'nick#mikki' } },
        UpdateExpression: 'SET connectionId = :c',
        ExpressionAttributeValues: { ':c': { S: next } },
      }),
    );

    await store.removeConnection(old);

    const { Items = [] } = await aws.ddb.send(
      new ScanCommand({ TableName: tableName, ConsistentRead: true }),
    );
    const keys = Items.map((i) => `${i.pk?.S}|${i.sk?.S}`).sort();
    expect(keys).toEqual([`conn#${next}|meta`, 'room#r1|nick#mikki']);
  });
});
