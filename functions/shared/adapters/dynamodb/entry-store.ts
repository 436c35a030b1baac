/**
 * EntryStore on the chat table: a connection's entries into rooms (conn#<c> / room#<r>) and
 * the nicknames they hold (room#<r> / nick#<key>), changed with conditional writes so that a
 * route and the fanout can never both win a race over one entry (see ports.ts).
 */
import {
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  paginateQuery,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  AlreadyInRoomError,
  ConnectionNotFoundError,
  NicknameTakenError,
  NotInRoomError,
} from '../../domain/errors.js';
import type { Entry, EntryState, EntryStore, NewEntry } from '../../ports.js';
import { failedConditions, isConditionFailure, transact } from './conditions.js';
import {
  CANCELLED_TTL_SECONDS,
  CONNECTION_TTL_SECONDS,
  entryItem,
  epochSeconds,
  key,
  nicknameItem,
  toEntry,
} from './table-layout.js';

const S = (value: string) => ({ S: value });

export class DynamoDbEntryStore implements EntryStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private ttl(): number {
    return epochSeconds(this.now()) + CONNECTION_TTL_SECONDS;
  }

  async reserve(entry: NewEntry): Promise<void> {
    const now = this.now();
    const reserved: Entry = { ...entry, state: 'reserved', updatedAt: now.getTime() };
    try {
      await transact(this.client, {
        TransactItems: [
          {
            ConditionCheck: {
              TableName: this.tableName,
              Key: key.connection(entry.connectionId),
              ConditionExpression: 'attribute_exists(pk)',
            },
          },
          {
            Put: {
              TableName: this.tableName,
              Item: entryItem(reserved, this.ttl()),
              // A previous entry gives way once its `left` is queued (it stays in the log's
              // order: its `joined` and `left` come before this entry's `joined`).
              ConditionExpression: 'attribute_not_exists(pk) OR #state = :exited',
              ExpressionAttributeNames: { '#state': 'state' },
              ExpressionAttributeValues: { ':exited': S('exited') },
            },
          },
          {
            Put: {
              TableName: this.tableName,
              Item: nicknameItem(entry, this.ttl()),
              // Free, past its TTL (holder lost without $disconnect), or held by this same
              // connection's previous entry, which the Put above is replacing.
              ConditionExpression: 'attribute_not_exists(pk) OR #ttl < :now OR connectionId = :c',
              ExpressionAttributeNames: { '#ttl': 'ttl' },
              ExpressionAttributeValues: {
                ':now': { N: String(epochSeconds(now)) },
                ':c': S(entry.connectionId),
              },
            },
          },
        ],
      });
    } catch (error) {
      const failed = failedConditions(error);
      if (failed.includes(0)) throw new ConnectionNotFoundError();
      if (failed.includes(1)) throw new AlreadyInRoomError(entry.roomId);
      if (failed.includes(2)) throw new NicknameTakenError(entry.nickname, entry.roomId);
      throw error;
    }
  }

  /** Moves this entry from one of `from` to `to`; false when it is not this entry in one of those states. */
  private async move(
    entry: Pick<Entry, 'connectionId' | 'roomId' | 'entryId'>,
    from: EntryState[],
    to: EntryState,
    extra: { set?: string; values?: Record<string, { S: string }> } = {},
  ): Promise<boolean> {
    const names = Object.fromEntries(from.map((state, i) => [`:from${i}`, S(state)]));
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: key.entry(entry.connectionId, entry.roomId),
          UpdateExpression: `SET #state = :to, updatedAt = :at${extra.set ? `, ${extra.set}` : ''}`,
          ConditionExpression: `entryId = :e AND #state IN (${Object.keys(names).join(', ')})`,
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ...names,
            ...extra.values,
            ':to': S(to),
            ':e': S(entry.entryId),
            ':at': { N: String(this.now().getTime()) },
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async markQueued(entry: NewEntry): Promise<'queued' | 'active' | 'superseded'> {
    if (await this.move(entry, ['reserved'], 'queued')) return 'queued';
    const now = await this.get(entry.connectionId, entry.roomId);
    return now?.entryId === entry.entryId && now.state !== 'reserved' ? 'active' : 'superseded';
  }

  async cancel(entry: Pick<Entry, 'connectionId' | 'roomId' | 'entryId' | 'nickname'>): Promise<boolean> {
    try {
      // Deleting the entry and leaving proof of it are one step: the fanout logs a `joined`
      // whose entry is gone only if no such proof exists (see RoomLog.append), atomically.
      await transact(this.client, {
        TransactItems: [
          {
            Delete: {
              TableName: this.tableName,
              Key: key.entry(entry.connectionId, entry.roomId),
              ConditionExpression: 'entryId = :e AND #state = :reserved',
              ExpressionAttributeNames: { '#state': 'state' },
              ExpressionAttributeValues: { ':e': S(entry.entryId), ':reserved': S('reserved') },
            },
          },
          {
            Put: {
              TableName: this.tableName,
              Item: {
                ...key.cancelled(entry.connectionId, entry.entryId),
                ttl: { N: String(epochSeconds(this.now()) + CANCELLED_TTL_SECONDS) },
              },
            },
          },
        ],
      });
    } catch (error) {
      if (failedConditions(error).length === 0) throw error;
      // Not a reserved entry of this id any more: taken back already, or logged by the
      // fanout (then it stands, even if it has since exited and been replaced).
      return this.wasCancelled(entry.connectionId, entry.entryId);
    }
    await this.releaseNickname(entry);
    return true;
  }

  async wasCancelled(connectionId: string, entryId: string): Promise<boolean> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: key.cancelled(connectionId, entryId),
        ConsistentRead: true,
      }),
    );
    return Item !== undefined;
  }

  async beginExit(entry: Entry): Promise<Entry> {
    // The state it has now (queued, or active if the fanout logged its joined meanwhile), not
    // the caller's copy: every operand of an update expression reads the item before the update.
    const moved = await this.move(entry, ['queued', 'active'], 'leaving', { set: 'leftFrom = #state' });
    if (!moved) throw new NotInRoomError(entry.roomId);
    return { ...entry, state: 'leaving', updatedAt: this.now().getTime() };
  }

  async undoExit(entry: Entry): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: key.entry(entry.connectionId, entry.roomId),
          UpdateExpression: 'SET #state = leftFrom, updatedAt = :at REMOVE leftFrom',
          ConditionExpression: 'entryId = :e AND #state = :leaving',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':e': S(entry.entryId),
            ':leaving': S('leaving'),
            ':at': { N: String(this.now().getTime()) },
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async markExited(entry: Entry): Promise<void> {
    await this.move(entry, ['leaving'], 'exited');
  }

  async get(connectionId: string, roomId: string): Promise<Entry | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: key.entry(connectionId, roomId),
        ConsistentRead: true,
      }),
    );
    return Item ? toEntry(Item) : undefined;
  }

  async list(connectionId: string): Promise<Entry[]> {
    const entries: Entry[] = [];
    for await (const page of paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :room)',
        ExpressionAttributeValues: { ':pk': S(`conn#${connectionId}`), ':room': S('room#') },
        ConsistentRead: true,
      },
    )) {
      entries.push(...(page.Items ?? []).map(toEntry));
    }
    return entries;
  }

  async releaseNickname(entry: Pick<Entry, 'roomId' | 'entryId' | 'nickname'>): Promise<void> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: key.nickname(entry.roomId, entry.nickname),
          ConditionExpression: 'entryId = :e',
          ExpressionAttributeValues: { ':e': S(entry.entryId) },
        }),
      );
    } catch (error) {
      // Gone already, or taken over by the connection's next entry: not ours to free.
      if (!isConditionFailure(error)) throw error;
    }
  }

  /** Deletes an entry of this id that is `leaving`/`exited` (a `left` the fanout dropped) and its nickname. */
  async discardExited(entry: Pick<Entry, 'connectionId' | 'roomId' | 'entryId' | 'nickname'>): Promise<void> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: key.entry(entry.connectionId, entry.roomId),
          ConditionExpression: 'entryId = :e AND #state IN (:leaving, :exited)',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':e': S(entry.entryId),
            ':leaving': S('leaving'),
            ':exited': S('exited'),
          },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return;
    }
    await this.releaseNickname(entry);
  }
}
