/**
 * FailureCounter on the chat table: how often the event at the head of a FIFO group has
 * failed (group#<groupId> / failures). SQS's ApproximateReceiveCount also counts receives
 * that never ran the event (a batch cut short by the fanout's deadline, a record behind a
 * failed one in its group), so parking on it would dead-letter events that never failed.
 */
import { type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { FailureCounter } from '../../ports.js';
import { isConditionFailure } from './conditions.js';
import { epochSeconds, FAILURE_TTL_SECONDS, key } from './table-layout.js';

export class DynamoDbFailureCounter implements FailureCounter {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async recordFailure(groupId: string, eventId: string): Promise<number> {
    const ttl = { N: String(epochSeconds(this.now()) + FAILURE_TTL_SECONDS) };
    try {
      const { Attributes } = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: key.failures(groupId),
          UpdateExpression: 'SET failures = failures + :one, #ttl = :ttl',
          ConditionExpression: 'eventId = :e',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':one': { N: '1' }, ':e': { S: eventId }, ':ttl': ttl },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return Number(Attributes?.failures?.N ?? 1);
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    // The group's head moved on (or this is the first failure): start counting this event.
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: key.failures(groupId),
        UpdateExpression: 'SET eventId = :e, failures = :one, #ttl = :ttl',
        ExpressionAttributeNames: { '#ttl': 'ttl' },
        ExpressionAttributeValues: { ':one': { N: '1' }, ':e': { S: eventId }, ':ttl': ttl },
      }),
    );
    return 1;
  }
}
