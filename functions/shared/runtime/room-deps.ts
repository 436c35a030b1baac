/**
 * The DynamoDB store and the SQS publisher, built from validated configuration. Handlers
 * call this once at module scope (cold start); every invocation reuses the clients.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDbConnectionStore } from '../adapters/dynamodb-connection-store.js';
import { SqsRoomEventPublisher } from '../adapters/sqs-room-event-publisher.js';
import { queueConfig, tableConfig } from './config.js';

export function roomDeps() {
  const { tableName } = tableConfig();
  const { queueUrl } = queueConfig();
  return {
    store: new DynamoDbConnectionStore(new DynamoDBClient({}), tableName),
    events: new SqsRoomEventPublisher(new SQSClient({}), queueUrl),
  };
}
