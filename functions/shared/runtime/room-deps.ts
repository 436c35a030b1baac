/**
 * The table's adapters, built from validated configuration. Handlers call these once at module
 * scope (cold start); every invocation reuses the clients. The queue's are in queue-deps.ts, so
 * a function that does not queue never loads the SQS client.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbConnectionRegistry } from '../adapters/dynamodb/connection-registry.js';
import { DynamoDbEntryStore } from '../adapters/dynamodb/entry-store.js';
import { DynamoDbFailureCounter } from '../adapters/dynamodb/failure-counter.js';
import { DynamoDbRateLimiter } from '../adapters/dynamodb/rate-limiter.js';
import { DynamoDbRoomLog } from '../adapters/dynamodb/room-log-store.js';
import { historyConfig, rateRulesConfig, tableConfig } from './config.js';

/** A request that hangs must fail (and be retried by the SDK) well within a route's budget. */
export const REQUEST_HANDLER = { connectionTimeout: 1000, requestTimeout: 3000, throwOnRequestTimeout: true };

export function dynamoDbClient(): DynamoDBClient {
  return new DynamoDBClient({ requestHandler: REQUEST_HANDLER });
}

/** The table's stores (those a function needs; each is cheap to build). */
export function tableDeps(client = dynamoDbClient()) {
  const { tableName } = tableConfig();
  return {
    registry: new DynamoDbConnectionRegistry(client, tableName),
    entries: new DynamoDbEntryStore(client, tableName),
    budget: { limiter: new DynamoDbRateLimiter(client, tableName), rules: rateRulesConfig() },
  };
}

/** The room log; the fanout passes its FANOUT_SLICES (slices of every roster). */
export function roomLog(client: DynamoDBClient, options: { slices?: number } = {}) {
  const { tableName } = tableConfig();
  return new DynamoDbRoomLog(client, tableName, { ...historyConfig(), ...options });
}

export function failureCounter(client: DynamoDBClient) {
  return new DynamoDbFailureCounter(client, tableConfig().tableName);
}
