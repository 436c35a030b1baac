/**
 * RoomLog on the chat table: the room's log (log#<room> / <seq>: each event as its members
 * received it, kept for the history retention) and the roster (room#<room> / member#<conn>).
 * Appending an event is one conditional write on its seq, so two fanouts can never give one
 * seq to two events; a membership event changes the roster and the member's entry in the
 * same transaction, so the roster follows the log exactly.
 *
 * The same transactions keep the roster's slices (slice#<room>#<s>: each member with the seq of
 * its `joined`, and for a day after its `left` with that seq too) and the room's size on its
 * logmark (members in all and per slice), so a large room is delivered slice by slice without
 * reading its whole roster per event (see deliver-room-event.ts).
 *
 * The head of each room's log and its size are cached per sandbox (rooms are handled in order,
 * usually by the same sandbox, and only the sequencer changes them): a message then costs one
 * write and no read of the head. A stale head shows up as a failed append and is read again.
 */
import {
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  paginateQuery,
  QueryCommand,
  type TransactWriteItem,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type {
  AppendResult,
  LogChange,
  LogRecord,
  RoomLog,
  RoomSize,
  RosterMember,
  SliceMember,
} from '../../ports.js';
import { failedConditions, isConditionFailure, transact } from './conditions.js';
import {
  CONNECTION_TTL_SECONDS,
  epochSeconds,
  type Item,
  key,
  LEFT_MEMBER_TTL_SECONDS,
  logItem,
  memberItem,
  SLICES,
  seqKey,
  shardOf,
  sliceCount,
  sliceFrom,
  sliceLeftItem,
  sliceMemberItem,
  toLogRecord,
  toMember,
  toSliceMember,
} from './table-layout.js';

const HEAD_CACHE_SIZE = 10_000;
const S = (value: string) => ({ S: value });
const N = (value: number) => ({ N: String(value) });

export interface RoomLogOptions {
  /** How long logged events are kept (history), in days. */
  retentionDays: number;
  /** Slices of the roster (fixed for a table's life; tests use few). Default SLICES. */
  slices?: number;
  now?: () => Date;
}

/** What is cached per room: its head and its size after the head. */
interface RoomState {
  head: { seq: number; eventId?: string };
  size: RoomSize;
}

/** The room's size as the logmark holds it. */
function sizeOf(mark: Item | undefined): RoomSize {
  const slices = new Map<number, number>();
  for (const [name, value] of Object.entries(mark ?? {})) {
    const slice = /^m(\d+)$/.exec(name)?.[1];
    const count = Number(value.N ?? 0);
    if (slice !== undefined && count > 0) slices.set(Number(slice), count);
  }
  return { members: Number(mark?.members?.N ?? 0), slices, sliced: mark?.sliced?.BOOL === true };
}

export class DynamoDbRoomLog implements RoomLog {
  private readonly rooms = new Map<string, RoomState>();
  private readonly now: () => Date;
  readonly sliceCount: number;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly options: RoomLogOptions,
  ) {
    this.now = options.now ?? (() => new Date());
    this.sliceCount = options.slices ?? SLICES;
  }

  private remember(roomId: string, state: RoomState): void {
    this.rooms.delete(roomId);
    this.rooms.set(roomId, state);
    if (this.rooms.size > HEAD_CACHE_SIZE) this.rooms.delete(this.rooms.keys().next().value as string);
  }

  sliceOf(connectionId: string): number {
    return shardOf(connectionId, this.sliceCount);
  }

  async head(roomId: string): Promise<{ seq: number; eventId?: string }> {
    return (await this.state(roomId)).head;
  }

  async size(roomId: string): Promise<RoomSize> {
    return (await this.state(roomId)).size;
  }

  private async state(roomId: string): Promise<RoomState> {
    const cached = this.rooms.get(roomId);
    if (cached) return cached;
    const [{ Items = [] }, { Item: mark }] = await Promise.all([
      this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': S(`log#${roomId}`) },
          ProjectionExpression: 'seq, eventId',
          ScanIndexForward: false,
          Limit: 1,
          ConsistentRead: true,
        }),
      ),
      this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: key.logMark(roomId), ConsistentRead: true }),
      ),
    ]);
    const [newest] = Items;
    // With no event kept (a room idle longer than the retention), the room carries on after the
    // seq of its last logged `left`, which the logmark keeps without expiry, instead of at 1.
    const head = newest
      ? { seq: Number(newest.seq?.N ?? 0), eventId: newest.eventId?.S ?? '' }
      : { seq: Number(mark?.seq?.N ?? 0) };
    const state = { head, size: sizeOf(mark) };
    this.remember(roomId, state);
    return state;
  }

  async markSliced(roomId: string): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: key.logMark(roomId),
        UpdateExpression: 'SET sliced = :true',
        ExpressionAttributeValues: { ':true': { BOOL: true } },
      }),
    );
    const cached = this.rooms.get(roomId);
    if (cached) cached.size = { ...cached.size, sliced: true };
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
        this.rooms.delete(roomId);
        return 'seq-taken';
      }
      if (failedConditions(error).length > 0) return 'conflict';
      throw error;
    }
    const before = this.rooms.get(roomId);
    if (before) {
      this.remember(roomId, {
        head: { seq: record.seq, eventId: record.eventId },
        size: this.resized(before.size, change),
      });
    } else {
      this.rooms.delete(roomId);
    }
    return 'appended';
  }

  /** The cached size after a change (the same counts the transaction added). */
  private resized(size: RoomSize, change: LogChange): RoomSize {
    if (change.kind === 'message') return size;
    const by = change.kind === 'join' ? 1 : -1;
    const slice = this.sliceOf(change.kind === 'join' ? change.member.connectionId : change.connectionId);
    const slices = new Map(size.slices);
    const count = (slices.get(slice) ?? 0) + by;
    if (count > 0) slices.set(slice, count);
    else slices.delete(slice);
    return { ...size, members: size.members + by, slices };
  }

  /** The logmark's counts change with every join and leave, in the same transaction. */
  private countItem(roomId: string, connectionId: string, by: 1 | -1, leftSeq?: number): TransactWriteItem {
    return {
      Update: {
        TableName: this.tableName,
        Key: key.logMark(roomId),
        UpdateExpression: `ADD members :by, #slice :by${leftSeq === undefined ? '' : ' SET seq = :seq'}`,
        ExpressionAttributeNames: { '#slice': sliceCount(this.sliceOf(connectionId)) },
        ExpressionAttributeValues: { ':by': N(by), ...(leftSeq === undefined ? {} : { ':seq': N(leftSeq) }) },
      },
    };
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
      items.push(
        {
          Put: {
            TableName: this.tableName,
            Item: memberItem(roomId, member, nowSeconds + CONNECTION_TTL_SECONDS),
          },
        },
        {
          Put: {
            TableName: this.tableName,
            Item: sliceMemberItem(
              roomId,
              this.sliceOf(member.connectionId),
              member,
              nowSeconds + CONNECTION_TTL_SECONDS,
            ),
          },
        },
        this.countItem(roomId, member.connectionId, 1),
      );
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
    const slice = this.sliceOf(change.connectionId);
    items.push(this.countItem(roomId, change.connectionId, -1, record.seq));
    items.push({
      Delete: {
        TableName: this.tableName,
        Key: key.member(roomId, change.connectionId),
        ConditionExpression: 'entryId = :e',
        ExpressionAttributeValues: { ':e': S(change.entryId) },
      },
    });
    // Its slice forgets it as a member, and remembers its window for slices still behind.
    items.push(
      {
        Delete: {
          TableName: this.tableName,
          Key: key.sliceMember(roomId, slice, change.connectionId, change.entryId),
        },
      },
      {
        Put: {
          TableName: this.tableName,
          Item: sliceLeftItem(
            roomId,
            slice,
            {
              connectionId: change.connectionId,
              entryId: change.entryId,
              joinedSeq: change.joinedSeq,
              leftSeq: record.seq,
            },
            nowSeconds + LEFT_MEMBER_TTL_SECONDS,
          ),
        },
      },
    );
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

  async *roster(roomId: string, options: { pageSize?: number } = {}): AsyncIterable<RosterMember[]> {
    for await (const page of paginateQuery(
      { client: this.client, ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }) },
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

  async *sliceMembers(roomId: string, slice: number, fromSeq: number): AsyncIterable<SliceMember[]> {
    const nowSeconds = epochSeconds(this.now());
    for await (const page of paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        // Those that left at fromSeq or later (l#…), then everyone in the room (m#…).
        KeyConditionExpression: 'pk = :pk AND sk >= :from',
        ProjectionExpression: 'connectionId, entryId, joinedSeq, leftSeq, #ttl',
        ExpressionAttributeNames: { '#ttl': 'ttl' },
        ExpressionAttributeValues: { ':pk': key.slice(roomId, slice), ':from': S(sliceFrom(fromSeq)) },
        ConsistentRead: true,
      },
    )) {
      // A member whose TTL has passed (lost without $disconnect) is gone, as on the roster; one
      // that left stays readable until DynamoDB deletes it (its TTL only bounds how long).
      const members = (page.Items ?? [])
        .filter((item) => item.leftSeq !== undefined || Number(item.ttl?.N ?? 0) > nowSeconds)
        .map(toSliceMember);
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
