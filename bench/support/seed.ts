/**
 * Bulk-loads DynamoDB Local for the benchmarks with BatchWriteItem (25 items a request,
 * a few requests in flight, unprocessed items retried).
 */
import { type AttributeValue, BatchWriteItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { forEachConcurrently } from '../../functions/shared/runtime/concurrency';

export type Item = Record<string, AttributeValue>;

export async function batchPut(
  client: DynamoDBClient,
  tableName: string,
  items: Iterable<Item>,
  concurrency = 8,
): Promise<number> {
  const chunks: Item[][] = [];
  let chunk: Item[] = [];
  for (const item of items) {
    chunk.push(item);
    if (chunk.length === 25) {
      chunks.push(chunk);
      chunk = [];
    }
  }
  if (chunk.length > 0) chunks.push(chunk);
  let written = 0;
  await forEachConcurrently(chunks, concurrency, async (batch) => {
    let pending = batch.map((Item) => ({ PutRequest: { Item } }));
    while (pending.length > 0) {
      const { UnprocessedItems } = await client.send(
        new BatchWriteItemCommand({ RequestItems: { [tableName]: pending } }),
      );
      const left = UnprocessedItems?.[tableName] ?? [];
      written += pending.length - left.length;
      pending = left.flatMap((r) =>
        r.PutRequest?.Item ? [{ PutRequest: { Item: r.PutRequest.Item } }] : [],
      );
    }
  });
  return written;
}
