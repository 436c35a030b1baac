/**
 * DynamoDB Local's own ceiling on this machine: as many requests per second as it answers when
 * nothing else asks, with the kinds of request a chat message makes (the sender's entry read,
 * the rate-limit update, the log append, the roster read of a small room), `concurrency` at a
 * time. The end-to-end scenario's load is then a share of it.
 */
import { Agent } from 'node:http';
import {
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { forEachConcurrently } from '../../functions/shared/runtime/concurrency';
import { createChatTable, uniqueTableName } from '../../tests/support/chat-table';
import { CREDENTIALS, REGION } from '../../tests/support/local-aws';
import { roomItems } from './room-seed';
import { batchPut } from './seed';

export interface Ceiling {
  requestsPerSecond: number;
  concurrency: number;
  seconds: number;
}

export async function measureDynamoDbCeiling(
  endpoint: string,
  options: { concurrency: number; seconds: number },
): Promise<Ceiling> {
  const client = new DynamoDBClient({
    region: REGION,
    credentials: CREDENTIALS,
    endpoint,
    requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: options.concurrency }) },
  });
  try {
    const tableName = uniqueTableName('ceiling');
    await createChatTable(client, tableName);
    await batchPut(client, tableName, roomItems('probe', 10, { slices: 100, routeSide: true }));
    const S = (value: string) => ({ S: value });
    const ops = [
      (n: number) =>
        new GetItemCommand({
          TableName: tableName,
          Key: { pk: S(`conn#probe-c${n % 10}=`), sk: S('room#probe') },
          ConsistentRead: true,
        }),
      (n: number) =>
        new UpdateItemCommand({
          TableName: tableName,
          Key: { pk: S(`conn#probe-c${n % 10}=`), sk: S('meta') },
          UpdateExpression: 'ADD sent :one',
          ExpressionAttributeValues: { ':one': { N: '1' } },
        }),
      (n: number) =>
        new PutItemCommand({
          TableName: tableName,
          Item: { pk: S('log#probe'), sk: S(String(n).padStart(12, '0')), event: S('{"type":"message"}') },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      () =>
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :m)',
          ExpressionAttributeValues: { ':pk': S('room#probe'), ':m': S('member#') },
          ConsistentRead: true,
        }),
    ];
    let done = 0;
    let next = 0;
    const end = Date.now() + options.seconds * 1000;
    const started = performance.now();
    await forEachConcurrently(
      Array.from({ length: options.concurrency }, (_, i) => i),
      options.concurrency,
      async () => {
        while (Date.now() < end) {
          const n = next++;
          await client.send(ops[n % ops.length]?.(n) as GetItemCommand);
          done += 1;
        }
      },
    );
    const seconds = (performance.now() - started) / 1000;
    return {
      requestsPerSecond: Math.round(done / seconds),
      concurrency: options.concurrency,
      seconds: options.seconds,
    };
  } finally {
    client.destroy();
  }
}
