/**
 * RoomLog on the chat table: the room's log (log#<room> / <seq>: each event as its members
 * received it, kept for the history retention) and the roster (room#<room> / member#<conn>).
 * Appending an event is one conditional write on its seq, so two fanouts can never give one
 * seq to two events; a membership event changes the roster and the member's entry in the
 * same transaction, so the roster follows the log exactly.
 *
 * The head of each room's log is cached per sandbox (rooms are handled in order, usually by
 * the same sandbox): a message then costs one write and no read of the head. A stale head
 * shows up as a failed append and is read again.
 */
import {
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  paginateQuery,
  QueryCommand,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import type { AppendResult, LogChange, LogRecord, RoomLog, RosterMember } from '../../ports.js';
import { failedConditions, isConditionFailure, transact } from './conditions.js';
import {
  CONNECTION_TTL_SECONDS,
  epochSeconds,
  key,
  logItem,
  memberItem,
  seqKey,
  toLogRecord,
  toMember,
} from './table-layout.js';

const HEAD_CACHE_SIZE = 10_000;
const S = (value: string) => ({ S: value });

export interface RoomLogOptions {
  /** How long logged events are kept (history), in days. */
  retentionDays: number;
  now?: () => Date;
}

export class DynamoDbRoomLog implements RoomLog {
  private readonly heads = new Map<string, { seq: number; eventId?: string }>();
  private readonly now: () => Date;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly options: RoomLogOptions,
  ) {
    this.now = options.now ?? (() => new Date());
  }

  private remember(roomId: string, head: { seq: number; eventId?: string }): void {
    this.heads.delete(roomId);
    this.heads.set(roomId, head);
    if (this.heads.size > HEAD_CACHE_SIZE) this.heads.delete(this.heads.keys().next().value as string);
  }

  async head(roomId: string): Promise<{ seq: number; eventId?: string }> {
    const cached = this.heads.get(roomId);
    if (cached) return cached;
    const { Items = [] } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': S(`log#${roomId}`) },
        ProjectionExpression: 'seq, eventId',
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    const [newest] = Items;
    const head = newest
      ? { seq: Number(newest.seq?.N ?? 0), eventId: newest.eventId?.S ?? '' }
      : { seq: await this.markedSeq(roomId) };
    this.remember(roomId, head);
    return head;
  }

  /**
   * The seq of the room's last logged `left`, kept without expiry: a room whose whole log
   * has expired (idle longer than the retention) carries on after it instead of at 1.
   */
  private async markedSeq(roomId: string): Promise<number> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: key.logMark(roomId), ConsistentRead: true }),
    );
    return Number(Item?.seq?.N ?? 0);
  }

  async append(roomId: string, record: LogRecord, change: LogChange): Promise<AppendResult> {
    const nowSeconds = epochSeconds(this.now());
    const put: TransactWriteItem = {
      Put: {
        TableName: this.tableName,
        Item: logItem(roomId, record, nowSeconds + this.options.retentionDays * 24 * 60 * 60),
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
    try {
      if (change.kind === 'message') {
        await this.client.send(new PutItemCommand(put.Put as NonNullable<TransactWriteItem['Put']>));
      } else {
        await transact(this.client, {
          TransactItems: [put, ...this.changeItems(roomId, record, change, nowSeconds)],
        });
      }
    } catch (error) {
      if (isConditionFailure(error) || failedConditions(error).includes(0)) {
        this.heads.delete(roomId);
        return 'seq-taken';
      }
      if (failedConditions(error).length > 0) return 'conflict';
      throw error;
    }
    this.remember(roomId, { seq: record.seq, eventId: record.eventId });
    return 'appended';
  }

  /** The roster and entry writes of a membership event (see LogChange). */
  private changeItems(
    roomId: string,
    record: LogRecord,
    change: Exclude<LogChange, { kind: 'message' }>,
    nowSeconds: number,
  ) {
    const items: TransactWriteItem[] = [];
    if (change.kind === 'join') {
      const { member, entryState } = change;
      items.push({
        Put: {
          TableName: this.tableName,
          Item: memberItem(roomId, member, nowSeconds + CONNECTION_TTL_SECONDS),
        },
      });
      const entry = {
        TableName: this.tableName,
        Key: key.entry(member.connectionId, roomId),
        ExpressionAttributeNames: { '#state': 'state' },
      };
      const activate = entryState === 'reserved' || entryState === 'queued';
      if (entryState === undefined) {
        items.push({
          ConditionCheck: {
            TableName: this.tableName,
            Key: key.cancelled(member.connectionId, member.entryId),
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        });
        return items;
      }
      items.push(
        activate
          ? {
              Update: {
                ...entry,
                UpdateExpression: 'SET #state = :active, updatedAt = :at',
                ConditionExpression: 'entryId = :e AND #state = :seen',
                ExpressionAttributeValues: {
                  ':e': S(member.entryId),
                  ':seen': S(entryState),
                  ':active': S('active'),
                  ':at': { N: String(this.now().getTime()) },
                },
              },
            }
          : {
              ConditionCheck: {
                ...entry,
                ConditionExpression: 'entryId = :e AND #state = :seen',
                ExpressionAttributeValues: { ':e': S(member.entryId), ':seen': S(entryState) },
              },
            },
      );
      return items;
    }
    items.push({
      Put: { TableName: this.tableName, Item: { ...key.logMark(roomId), seq: { N: String(record.seq) } } },
    });
    items.push({
      Delete: {
        TableName: this.tableName,
        Key: key.member(roomId, change.connectionId),
        ConditionExpression: 'entryId = :e',
        ExpressionAttributeValues: { ':e': S(change.entryId) },
      },
    });
    const entryKey = key.entry(change.connectionId, roomId);
    items.push(
      change.entryState === undefined
        ? {
            // Still gone, or still another entry's: the exit stands.
            ConditionCheck: {
              TableName: this.tableName,
              Key: entryKey,
              ConditionExpression: 'attribute_not_exists(pk) OR entryId <> :e',
              ExpressionAttributeValues: { ':e': S(change.entryId) },
            },
          }
        : {
            Delete: {
              TableName: this.tableName,
              Key: entryKey,
              ConditionExpression: 'entryId = :e AND #state = :seen',
              ExpressionAttributeNames: { '#state': 'state' },
              ExpressionAttributeValues: { ':e': S(change.entryId), ':seen': S(change.entryState) },
            },
          },
    );
    return items;
  }

  async member(roomId: string, connectionId: string): Promise<RosterMember | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: key.member(roomId, connectionId),
        ConsistentRead: true,
      }),
    );
    if (!Item || Number(Item.ttl?.N ?? 0) <= epochSeconds(this.now())) return undefined;
    return toMember(Item);
  }

  async *roster(roomId: string): AsyncIterable<RosterMember[]> {
    for await (const page of paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :member)',
        // TTL deletion lags; an expired member (its connection lost without $disconnect) is gone.
        FilterExpression: '#ttl > :now',
        ProjectionExpression: 'connectionId, entryId, nickname, joinedSeq',
        ExpressionAttributeNames: { '#ttl': 'ttl' },
        ExpressionAttributeValues: {
          ':pk': S(`room#${roomId}`),
          ':member': S('member#'),
          ':now': { N: String(epochSeconds(this.now())) },
        },
        ConsistentRead: true,
      },
    )) {
      const members = (page.Items ?? []).map(toMember);
      if (members.length > 0) yield members;
    }
  }

  async events(
    roomId: string,
    range: { after?: number; before?: number; limit: number; take: 'newest' | 'oldest' },
  ): Promise<LogRecord[]> {
    const low = seqKey((range.after ?? 0) + 1);
    const high = range.before === undefined ? '9'.repeat(12) : seqKey(range.before - 1);
    if (high < low) return [];
    const records: LogRecord[] = [];
    const nowSeconds = epochSeconds(this.now());
    for await (const page of paginateQuery(
      { client: this.client, pageSize: range.limit },
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :low AND :high',
        FilterExpression: '#ttl > :now',
        ExpressionAttributeNames: { '#ttl': 'ttl' },
        ExpressionAttributeValues: {
          ':pk': S(`log#${roomId}`),
          ':low': S(low),
          ':high': S(high),
          ':now': { N: String(nowSeconds) },
        },
        ScanIndexForward: range.take === 'oldest',
        ConsistentRead: true,
      },
    )) {
      records.push(...(page.Items ?? []).map(toLogRecord));
      if (records.length >= range.limit) break;
    }
    const taken = records.slice(0, range.limit);
    return range.take === 'oldest' ? taken : taken.reverse();
  }
}
