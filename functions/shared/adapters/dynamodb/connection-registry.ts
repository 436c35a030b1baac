/** ConnectionRegistry on the chat table: the connection items and their sparse shard index. */
import {
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  paginateQuery,
} from '@aws-sdk/client-dynamodb';
import type { Connection, ConnectionRegistry } from '../../ports.js';
import {
  CONNECTION_INDEX,
  CONNECTION_SHARDS,
  CONNECTION_TTL_SECONDS,
  connectionItem,
  epochSeconds,
  key,
  toConnection,
} from './table-layout.js';

export class DynamoDbConnectionRegistry implements ConnectionRegistry {
  readonly shards = CONNECTION_SHARDS;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async putConnection(connection: Connection): Promise<void> {
    const ttl = epochSeconds(this.now()) + CONNECTION_TTL_SECONDS;
    await this.client.send(
      new PutItemCommand({ TableName: this.tableName, Item: connectionItem(connection, ttl) }),
    );
  }

  async getConnection(connectionId: string): Promise<Connection | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: key.connection(connectionId),
        ConsistentRead: true,
      }),
    );
    return Item ? toConnection(Item) : undefined;
  }

  async deleteConnection(connectionId: string): Promise<void> {
    await this.client.send(
      new DeleteItemCommand({ TableName: this.tableName, Key: key.connection(connectionId) }),
    );
  }

  async *connectionsOfShard(shard: number): AsyncIterable<string[]> {
    for await (const page of paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        IndexName: CONNECTION_INDEX,
        KeyConditionExpression: 'gsi1pk = :shard',
        ExpressionAttributeValues: { ':shard': { S: `conns#${shard}` } },
      },
    )) {
      const ids = (page.Items ?? []).map((item) => item.gsi1sk?.S ?? '').filter((id) => id !== '');
      if (ids.length > 0) yield ids;
    }
  }
}
