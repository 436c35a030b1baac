/**
 * RateLimiter on the connection's own item: one fixed window per bucket (`<bucket>Window`,
 * `<bucket>Count`), taken with a conditional update, so a burst spread over several Lambda
 * sandboxes still counts once.
 */
import { type DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { ConnectionNotFoundError } from '../../domain/errors.js';
import type { RateBucket, RateLimiter, RateRule } from '../../ports.js';
import { isConditionFailure } from './conditions.js';
import { type Item, key } from './table-layout.js';

export class DynamoDbRateLimiter implements RateLimiter {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async take(connectionId: string, bucket: RateBucket, rule: RateRule, now: Date): Promise<boolean> {
    const window = String(Math.floor(now.getTime() / 1000 / rule.windowSeconds) * rule.windowSeconds);
    const names = { '#w': `${bucket}Window`, '#n': `${bucket}Count` };
    const update = (expression: string, condition: string, values: Item) =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: key.connection(connectionId),
          UpdateExpression: expression,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    // Two rounds: a concurrent request may open the new window between our two updates.
    for (let round = 0; round < 2; round++) {
      try {
        await update('SET #n = #n + :one', '#w = :w AND #n < :limit', {
          ':one': { N: '1' },
          ':w': { N: window },
          ':limit': { N: String(rule.limit) },
        });
        return true;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
      try {
        await update(
          'SET #w = :w, #n = :one',
          'attribute_exists(pk) AND (attribute_not_exists(#w) OR #w < :w)',
          {
            ':one': { N: '1' },
            ':w': { N: window },
          },
        );
        return true;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    // Used up, or there is no such connection (its record is gone: disconnected or expired).
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: key.connection(connectionId),
        ProjectionExpression: 'pk',
      }),
    );
    if (!Item) throw new ConnectionNotFoundError();
    return false;
  }
}
