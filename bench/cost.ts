/**
 * Scenario 2 — DynamoDB cost per message. Read capacity consumed to find the recipients of one
 * room message (what the fanout reads), with rooms of the same size in a table of 10,000
 * connections (100 rooms) and of 10x as many (1,000 rooms); against the naive design of the
 * public samples: one item per connection, recipients found with a Scan filtered on the room.
 * Capacity is what DynamoDB Local reports with ReturnConsumedCapacity=TOTAL.
 */
import {
  type AttributeValue,
  CreateTableCommand,
  DynamoDBClient,
  paginateScan,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import {
  connectionItem,
  DynamoDbConnectionStore,
  membershipItems,
} from '../functions/shared/adapters/dynamodb-connection-store';
import { createChatTable, uniqueTableName } from '../tests/support/chat-table';
import { CREDENTIALS, type LocalAws, REGION } from '../tests/support/local-aws';
import { batchPut, type Item } from './support/seed';
import { round } from './support/stats';

export interface CostRow {
  rooms: number;
  roomSize: number;
  connections: number;
  recipients: number;
  queryRcu: number;
  scanRcu: number;
  ratioPercent: number;
}

/** A DynamoDB client that asks for and adds up ConsumedCapacity on every call. */
function meteredClient(endpoint: string): { client: DynamoDBClient; take(): number } {
  const client = new DynamoDBClient({ region: REGION, credentials: CREDENTIALS, endpoint });
  let units = 0;
  client.middlewareStack.add(
    (next) => async (args) => {
      (args.input as { ReturnConsumedCapacity?: string }).ReturnConsumedCapacity = 'TOTAL';
      const result = await next(args);
      const consumed = (result.output as { ConsumedCapacity?: { CapacityUnits?: number } }).ConsumedCapacity;
      units += consumed?.CapacityUnits ?? 0;
      return result;
    },
    { step: 'initialize', name: 'meterCapacity' },
  );
  return {
    client,
    take: () => {
      const value = units;
      units = 0;
      return value;
    },
  };
}

function* chatItems(rooms: number, roomSize: number): Generator<Item> {
  const ttl = Math.floor(Date.now() / 1000) + 3600;
  for (let r = 0; r < rooms; r++) {
    for (let i = 0; i < roomSize; i++) {
      const connectionId = `r${r}-c${i}-${'x'.repeat(4)}`;
      yield connectionItem({ connectionId, role: 'user', principalId: 'user', connectedAt: Date.now() }, ttl);
      const m = membershipItems({ connectionId, roomId: `room${r}`, nickname: `user${i}` }, ttl, 'active');
      yield m.roomOf;
      yield m.member;
      yield m.nickname;
    }
  }
}

/** The naive table: one item per connection holding its room, as the public samples keep it. */
function* naiveItems(rooms: number, roomSize: number): Generator<Item> {
  for (let r = 0; r < rooms; r++) {
    for (let i = 0; i < roomSize; i++) {
      yield {
        connectionId: { S: `r${r}-c${i}-${'x'.repeat(4)}` },
        roomId: { S: `room${r}` },
        nickname: { S: `user${i}` },
        connectedAt: { N: String(Date.now()) },
      };
    }
  }
}

export async function runCostBench(
  aws: LocalAws,
  layouts: { rooms: number; roomSize: number }[],
): Promise<CostRow[]> {
  const metered = meteredClient(aws.ddbEndpoint);
  const rows: CostRow[] = [];
  try {
    for (const { rooms, roomSize } of layouts) {
      const tableName = uniqueTableName('bench-cost');
      await createChatTable(aws.ddb, tableName);
      await batchPut(aws.ddb, tableName, chatItems(rooms, roomSize));

      const naiveTable = uniqueTableName('bench-naive');
      await aws.ddb.send(
        new CreateTableCommand({
          TableName: naiveTable,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [{ AttributeName: 'connectionId', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'connectionId', KeyType: 'HASH' }],
        }),
      );
      await waitUntilTableExists({ client: aws.ddb, maxWaitTime: 30 }, { TableName: naiveTable });
      await batchPut(aws.ddb, naiveTable, naiveItems(rooms, roomSize));

      // Ours: exactly the read the fanout makes for a room message.
      const store = new DynamoDbConnectionStore(metered.client, tableName);
      metered.take();
      let recipients = 0;
      for await (const page of store.roomMembers('room0')) recipients += page.length;
      const queryRcu = metered.take();

      // Naive: Scan the connections table for the room's members (eventually consistent, as samples do).
      let naiveRecipients = 0;
      const values: Record<string, AttributeValue> = { ':room': { S: 'room0' } };
      for await (const page of paginateScan(
        { client: metered.client },
        { TableName: naiveTable, FilterExpression: 'roomId = :room', ExpressionAttributeValues: values },
      )) {
        naiveRecipients += page.Items?.length ?? 0;
      }
      const scanRcu = metered.take();
      if (recipients !== roomSize || naiveRecipients !== roomSize) {
        throw new Error(
          `expected ${roomSize} recipients, got ${recipients} (query) / ${naiveRecipients} (scan)`,
        );
      }
      rows.push({
        rooms,
        roomSize,
        connections: rooms * roomSize,
        recipients,
        queryRcu: round(queryRcu, 2),
        scanRcu: round(scanRcu, 2),
        ratioPercent: round((queryRcu / scanRcu) * 100, 2),
      });
    }
  } finally {
    metered.client.destroy();
  }
  return rows;
}
