/** ConnectionRegistry on the in-memory chat table (mirrors adapters/dynamodb/connection-registry.ts). */
import { CONNECTION_SHARDS, shardOf } from '../../../functions/shared/adapters/dynamodb/table-layout';
import type { Connection, ConnectionRegistry } from '../../../functions/shared/ports';
import { byKey, type InMemoryChatTable, Scripted } from './chat-table';

export class InMemoryRegistry extends Scripted<keyof ConnectionRegistry> implements ConnectionRegistry {
  readonly shards = CONNECTION_SHARDS;

  constructor(private readonly table: InMemoryChatTable) {
    super();
  }

  async putConnection(connection: Connection): Promise<void> {
    await this.enter('putConnection');
    // A PutItem replaces the whole item, the rate windows included.
    this.table.connections.set(connection.connectionId, {
      connection: { ...connection },
      ttl: this.table.connectionExpiry(),
      windows: {},
    });
  }

  async getConnection(connectionId: string): Promise<Connection | undefined> {
    await this.enter('getConnection');
    const item = this.table.connections.get(connectionId);
    return item ? { ...item.connection } : undefined;
  }

  async deleteConnection(connectionId: string): Promise<void> {
    await this.enter('deleteConnection');
    this.table.connections.delete(connectionId);
  }

  /** The keys-only shard index: every connection item, expired or not, in connection id order. */
  async *connectionsOfShard(shard: number): AsyncIterable<string[]> {
    await this.enter('connectionsOfShard');
    const ids = [...this.table.connections.keys()].filter((id) => shardOf(id) === shard).sort(byKey);
    for (let start = 0; start < ids.length; start += this.table.pageSize) {
      yield ids.slice(start, start + this.table.pageSize);
    }
  }
}
