/**
 * Creates the chat table in DynamoDB Local exactly as template.yaml's ChatTable declares it
 * (keys, attribute definitions, global secondary indexes, billing mode, TTL attribute), so
 * the integration tests exercise the schema that is deployed.
 */
import {
  type AttributeDefinition,
  type BillingMode,
  CreateTableCommand,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
  type KeySchemaElement,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { loadTemplate } from './cfn-yaml';

interface ChatTableProperties {
  BillingMode: BillingMode;
  AttributeDefinitions: AttributeDefinition[];
  KeySchema: KeySchemaElement[];
  GlobalSecondaryIndexes?: GlobalSecondaryIndex[];
  TimeToLiveSpecification?: { AttributeName: string; Enabled: boolean };
}

export function chatTableProperties(): ChatTableProperties {
  const resource = loadTemplate().Resources.ChatTable;
  if (resource?.Type !== 'AWS::DynamoDB::Table') throw new Error('template.yaml has no ChatTable table');
  return resource.Properties as unknown as ChatTableProperties;
}

let tableCounter = 0;

/** A table name unique within this test run. */
export function uniqueTableName(prefix = 'chat'): string {
  tableCounter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${tableCounter}`;
}

export async function createChatTable(client: DynamoDBClient, tableName: string): Promise<void> {
  const p = chatTableProperties();
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: p.BillingMode,
      AttributeDefinitions: p.AttributeDefinitions,
      KeySchema: p.KeySchema,
      ...(p.GlobalSecondaryIndexes ? { GlobalSecondaryIndexes: p.GlobalSecondaryIndexes } : {}),
    }),
  );
  await waitUntilTableExists({ client, maxWaitTime: 30, minDelay: 1, maxDelay: 1 }, { TableName: tableName });
  if (p.TimeToLiveSpecification?.Enabled) {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: p.TimeToLiveSpecification,
      }),
    );
  }
}
