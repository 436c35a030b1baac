/**
 * The connection record `$connect` wrote (pk conn#<id>, sk meta), read straight from the table:
 * role, principal (the user's `sub` in jwt mode) and display name.
 */
import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';

export interface ConnectionRecord {
  role?: string;
  principalId?: string;
  displayName?: string;
}

export async function connectionRecord(
  client: DynamoDBClient,
  tableName: string,
  connectionId: string,
): Promise<ConnectionRecord | undefined> {
  const { Item } = await client.send(
    new GetItemCommand({
      TableName: tableName,
      Key: { pk: { S: `conn#${connectionId}` }, sk: { S: 'meta' } },
      ConsistentRead: true,
    }),
  );
  if (!Item) return undefined;
  const text = (name: string) => Item[name]?.S;
  return {
    ...(text('role') ? { role: text('role') } : {}),
    ...(text('principalId') ? { principalId: text('principalId') } : {}),
    ...(text('displayName') ? { displayName: text('displayName') } : {}),
  };
}
