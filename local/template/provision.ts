/**
 * Creates the template's DynamoDB tables and SQS queues on the local backends, from the
 * template's own definitions. Idempotent: with --persist (or an external backend) the
 * table and queues may already exist, and are reused when their shape matches.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { type LocalResources, localQueueName, localTableName } from './local-resources';
import type { QueueModel, TableModel, TemplateModel } from './template-model';

async function createTable(client: DynamoDBClient, table: TableModel, name: string): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: table.attributeDefinitions.map((a) => ({
          AttributeName: a.AttributeName,
          AttributeType: a.AttributeType as 'S' | 'N' | 'B',
        })),
        KeySchema: table.keySchema.map((k) => ({
          AttributeName: k.AttributeName,
          KeyType: k.KeyType as 'HASH',
        })),
        ...(table.globalSecondaryIndexes.length > 0
          ? {
              GlobalSecondaryIndexes: table.globalSecondaryIndexes.map((index) => ({
                IndexName: index.IndexName,
                KeySchema: index.KeySchema.map((k) => ({
                  AttributeName: k.AttributeName,
                  KeyType: k.KeyType as 'HASH',
                })),
                Projection: {
                  ProjectionType: (index.Projection.ProjectionType ?? 'ALL') as 'ALL',
                  ...(index.Projection.NonKeyAttributes
                    ? { NonKeyAttributes: index.Projection.NonKeyAttributes }
                    : {}),
                },
              })),
            }
          : {}),
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
    const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
    const keys = (schema: { AttributeName?: string; KeyType?: string }[] = []) =>
      schema.map((k) => `${k.AttributeName}:${k.KeyType}`).join(',');
    const indexes = (list: { IndexName?: string }[] = []) =>
      list
        .map((i) => i.IndexName)
        .sort()
        .join(',');
    if (
      keys(Table?.KeySchema) !== keys(table.keySchema) ||
      indexes(Table?.GlobalSecondaryIndexes) !== indexes(table.globalSecondaryIndexes)
    ) {
      throw new Error(
        `Table ${name} already exists with another key schema or indexes than template.yaml's ${table.logicalId}; ` +
          'delete it (or the --persist directory) and start again.',
      );
    }
  }
  if (table.ttlAttribute) {
    try {
      await client.send(
        new UpdateTimeToLiveCommand({
          TableName: name,
          TimeToLiveSpecification: { AttributeName: table.ttlAttribute, Enabled: true },
        }),
      );
    } catch (error) {
      // Already enabled on a persisted table.
      if (!/already enabled/i.test((error as Error).message)) throw error;
    }
  }
}

/** Creates every table of the template; returns logical id → local table name. */
export async function provisionTables(
  client: DynamoDBClient,
  model: TemplateModel,
  stackName: string,
): Promise<Record<string, string>> {
  const names: Record<string, string> = {};
  for (const table of model.tables) {
    names[table.logicalId] = localTableName(stackName, table.logicalId);
    await createTable(client, table, names[table.logicalId] as string);
  }
  return names;
}

async function createQueue(client: SQSClient, name: string, attributes: Record<string, string>) {
  try {
    const { QueueUrl } = await client.send(
      new CreateQueueCommand({ QueueName: name, Attributes: attributes }),
    );
    return QueueUrl as string;
  } catch (error) {
    if ((error as Error).name !== 'QueueAlreadyExists' && (error as Error).name !== 'QueueNameExists')
      throw error;
    // A persisted queue with other attributes (e.g. another VisibilityTimeout): bring it in line.
    const { QueueUrl } = await client.send(new GetQueueUrlCommand({ QueueName: name }));
    const { FifoQueue: _fifo, ...settable } = attributes;
    await client.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: settable }));
    return QueueUrl as string;
  }
}

/**
 * Creates every queue of the template, dead-letter queues first so the redrive policies can
 * name them. `visibilityTimeoutSeconds` overrides the template's for queues that feed a
 * function (tests shorten it to see redeliveries quickly).
 */
export async function provisionQueues(
  client: SQSClient,
  model: TemplateModel,
  stackName: string,
  visibilityTimeoutSeconds?: number,
): Promise<LocalResources['queues']> {
  const queues: LocalResources['queues'] = {};
  const sources = new Set(model.sqsTriggers.map((t) => t.queueId));
  const pending = [...model.queues];
  const ready = (q: QueueModel) => !q.redrive || queues[q.redrive.deadLetterQueueId];
  while (pending.length > 0) {
    const index = pending.findIndex(ready);
    if (index < 0) throw new Error("template.yaml: the queues' redrive policies form a cycle");
    const [queue] = pending.splice(index, 1) as [QueueModel];
    const attributes = { ...queue.attributes };
    if (visibilityTimeoutSeconds !== undefined && sources.has(queue.logicalId)) {
      attributes.VisibilityTimeout = String(visibilityTimeoutSeconds);
    }
    if (queue.redrive) {
      attributes.RedrivePolicy = JSON.stringify({
        deadLetterTargetArn: queues[queue.redrive.deadLetterQueueId]?.arn,
        maxReceiveCount: queue.redrive.maxReceiveCount,
      });
    }
    const name = localQueueName(stackName, queue);
    const url = await createQueue(client, name, attributes);
    const { Attributes } = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
    );
    queues[queue.logicalId] = { url, arn: Attributes?.QueueArn as string, name };
  }
  return queues;
}
