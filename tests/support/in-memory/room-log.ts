/**
 * RoomLog on the in-memory chat table (mirrors adapters/dynamodb/room-log-store.ts): a head
 * and size cache per instance (one per fanout sandbox), so a head another instance moved on
 * shows up as `seq-taken`; an append and its LogChange checked as one transaction, all or
 * nothing; the roster's slices and the room's counts kept by the same appends.
 */
import {
  LEFT_MEMBER_TTL_SECONDS,
  SLICES,
  seqKey,
  shardOf,
  sliceFrom,
} from '../../../functions/shared/adapters/dynamodb/table-layout';
import type {
  AppendResult,
  EntryState,
  LogChange,
  LogRecord,
  RoomLog,
  RoomSize,
  RosterMember,
  SliceMember,
} from '../../../functions/shared/ports';
import { byKey, InMemoryChatTable, type RoomSizeItem, Scripted } from './chat-table';

const { cancelledKey, entryKey, memberKey, sliceKey } = InMemoryChatTable;
type Head = { seq: number; eventId?: string };

export interface InMemoryRoomLogOptions {
  /** How long logged events are kept (history), in days. */
  retentionDays: number;
  /** Slices of the roster (default SLICES, as the adapter). */
  slices?: number;
}

const sizeOf = (item: RoomSizeItem | undefined): RoomSize => ({
  members: item?.members ?? 0,
  slices: new Map(
    Object.entries(item?.slices ?? {})
      .map(([slice, count]) => [Number(slice), count] as [number, number])
      .filter(([, count]) => count > 0),
  ),
  sliced: item?.sliced ?? false,
});

export class InMemoryRoomLog extends Scripted<keyof RoomLog> implements RoomLog {
  private readonly heads = new Map<string, Head>();
  private readonly sizes = new Map<string, RoomSize>();

  constructor(
    private readonly table: InMemoryChatTable,
    private readonly options: InMemoryRoomLogOptions = { retentionDays: 7 },
  ) {
    super();
  }

  get sliceCount(): number {
    return this.options.slices ?? SLICES;
  }

  sliceOf(connectionId: string): number {
    return shardOf(connectionId, this.sliceCount);
  }

  async head(roomId: string): Promise<Head> {
    await this.enter('head');
    const cached = this.heads.get(roomId);
    if (cached) return { ...cached };
    this.sizes.set(roomId, sizeOf(this.table.roomSizes.get(roomId)));
    // The newest log item, expired or not (a Query without a filter), else the log mark.
    const seqs = [...(this.table.logs.get(roomId)?.keys() ?? [])];
    const newest = seqs.length > 0 ? this.table.logs.get(roomId)?.get(Math.max(...seqs)) : undefined;
    const head: Head = newest
      ? { seq: newest.record.seq, eventId: newest.record.eventId }
      : { seq: this.table.logMarks.get(roomId) ?? 0 };
    this.heads.set(roomId, head);
    return { ...head };
  }

  async append(roomId: string, record: LogRecord, change: LogChange): Promise<AppendResult> {
    await this.enter('append');
    const log = this.table.logOf(roomId);
    if (log.has(record.seq)) {
      this.heads.delete(roomId);
      this.sizes.delete(roomId);
      return 'seq-taken';
    }
    if (change.kind !== 'message' && !this.changeHolds(roomId, change)) return 'conflict';
    const nowSeconds = this.table.nowSeconds();
    log.set(record.seq, {
      record: structuredClone(record),
      ttl: nowSeconds + this.options.retentionDays * 24 * 60 * 60,
    });
    if (change.kind === 'join') this.join(roomId, change.member, change.entryState);
    if (change.kind === 'leave') this.leave(roomId, record.seq, change);
    this.heads.set(roomId, { seq: record.seq, eventId: record.eventId });
    this.sizes.set(roomId, sizeOf(this.table.roomSizes.get(roomId)));
    return 'appended';
  }

  async size(roomId: string): Promise<RoomSize> {
    await this.enter('size');
    if (!this.heads.has(roomId)) await this.head(roomId);
    const size = this.sizes.get(roomId) ?? sizeOf(undefined);
    return { ...size, slices: new Map(size.slices) };
  }

  async markSliced(roomId: string): Promise<void> {
    await this.enter('markSliced');
    this.table.roomSizes.set(roomId, { ...this.roomSize(roomId), sliced: true });
    const cached = this.sizes.get(roomId);
    if (cached) this.sizes.set(roomId, { ...cached, sliced: true });
  }

  /** Everyone in the slice now, and those that left at `fromSeq` or later, in the adapter's order. */
  async *sliceMembers(roomId: string, slice: number, fromSeq: number): AsyncIterable<SliceMember[]> {
    await this.enter('sliceMembers');
    const from = sliceFrom(fromSeq);
    const items = [...this.table.sliceItems.values()]
      .filter((item) => item.roomId === roomId && item.slice === slice && item.sk >= from)
      .sort((a, b) => byKey(a.sk, b.sk));
    for (let start = 0; start < items.length; start += this.table.pageSize) {
      const now = this.table.nowSeconds();
      const page = items
        .slice(start, start + this.table.pageSize)
        .filter((item) => item.member.leftSeq !== undefined || item.ttl > now)
        .map((item) => ({ ...item.member }));
      if (page.length > 0) yield page;
    }
  }

  private roomSize(roomId: string): RoomSizeItem {
    const item = this.table.roomSizes.get(roomId);
    return item ? { ...item, slices: { ...item.slices } } : { members: 0, slices: {}, sliced: false };
  }

  /** The logmark's counts, changed with a join (+1) or a leave (-1). */
  private count(roomId: string, connectionId: string, by: 1 | -1): void {
    const size = this.roomSize(roomId);
    const slice = this.sliceOf(connectionId);
    size.members += by;
    size.slices[slice] = (size.slices[slice] ?? 0) + by;
    this.table.roomSizes.set(roomId, size);
  }

  /** The transaction's conditions on the roster and the entry (see LogChange). */
  private changeHolds(roomId: string, change: Exclude<LogChange, { kind: 'message' }>): boolean {
    if (change.kind === 'join') {
      const { connectionId, entryId } = change.member;
      // An entry seen as gone or replaced may join only if it was never taken back.
      if (change.entryState === undefined)
        return !this.table.cancelled.has(cancelledKey(connectionId, entryId));
      const entry = this.table.entries.get(entryKey(connectionId, roomId))?.entry;
      return entry?.entryId === entryId && entry.state === change.entryState;
    }
    const member = this.table.members.get(memberKey(roomId, change.connectionId));
    if (member?.member.entryId !== change.entryId) return false;
    const entry = this.table.entries.get(entryKey(change.connectionId, roomId))?.entry;
    if (change.entryState === undefined) return entry?.entryId !== change.entryId;
    return entry?.entryId === change.entryId && entry.state === change.entryState;
  }

  private join(roomId: string, member: RosterMember, entryState: EntryState | undefined): void {
    this.table.members.set(memberKey(roomId, member.connectionId), {
      roomId,
      member: { ...member },
      ttl: this.table.connectionExpiry(),
    });
    const slice = this.sliceOf(member.connectionId);
    const sk = `m#${member.connectionId}#${member.entryId}`;
    this.table.sliceItems.set(sliceKey(roomId, slice, sk), {
      roomId,
      slice,
      sk,
      member: { connectionId: member.connectionId, entryId: member.entryId, joinedSeq: member.joinedSeq },
      ttl: this.table.connectionExpiry(),
    });
    this.count(roomId, member.connectionId, 1);
    const item = this.table.entries.get(entryKey(member.connectionId, roomId));
    if (item && (entryState === 'reserved' || entryState === 'queued')) {
      item.entry.state = 'active';
      item.entry.updatedAt = this.table.now().getTime();
    }
  }

  private leave(roomId: string, seq: number, change: Extract<LogChange, { kind: 'leave' }>): void {
    this.table.logMarks.set(roomId, seq);
    this.table.members.delete(memberKey(roomId, change.connectionId));
    const { connectionId, entryId, joinedSeq } = change;
    const slice = this.sliceOf(connectionId);
    this.table.sliceItems.delete(sliceKey(roomId, slice, `m#${connectionId}#${entryId}`));
    const sk = `l#${seqKey(seq)}#${connectionId}#${entryId}`;
    this.table.sliceItems.set(sliceKey(roomId, slice, sk), {
      roomId,
      slice,
      sk,
      member: { connectionId, entryId, joinedSeq, leftSeq: seq },
      ttl: this.table.nowSeconds() + LEFT_MEMBER_TTL_SECONDS,
    });
    this.count(roomId, connectionId, -1);
    if (change.entryState !== undefined) this.table.entries.delete(entryKey(change.connectionId, roomId));
  }

  async member(roomId: string, connectionId: string): Promise<RosterMember | undefined> {
    await this.enter('member');
    const item = this.table.members.get(memberKey(roomId, connectionId));
    if (!item || item.ttl <= this.table.nowSeconds()) return undefined;
    return { ...item.member };
  }

  /** Pages cut before the TTL filter, in connection id order, empty pages left out. */
  async *roster(roomId: string, options: { pageSize?: number } = {}): AsyncIterable<RosterMember[]> {
    await this.enter('roster');
    const items = [...this.table.members.values()]
      .filter((item) => item.roomId === roomId)
      .sort((a, b) => byKey(a.member.connectionId, b.member.connectionId));
    const pageSize = Math.min(this.table.pageSize, options.pageSize ?? this.table.pageSize);
    for (let start = 0; start < items.length; start += pageSize) {
      const now = this.table.nowSeconds();
      const page = items
        .slice(start, start + pageSize)
        .filter((item) => item.ttl > now)
        .map((item) => ({ ...item.member }));
      if (page.length > 0) yield page;
    }
  }

  async events(
    roomId: string,
    range: { after?: number; before?: number; limit: number; take: 'newest' | 'oldest' },
  ): Promise<LogRecord[]> {
    await this.enter('events');
    const low = (range.after ?? 0) + 1;
    const high = range.before === undefined ? Number.MAX_SAFE_INTEGER : range.before - 1;
    const now = this.table.nowSeconds();
    const inRange = [...(this.table.logs.get(roomId)?.values() ?? [])]
      .filter((item) => item.record.seq >= low && item.record.seq <= high && item.ttl > now)
      .map((item) => structuredClone(item.record))
      .sort((a, b) => (range.take === 'oldest' ? a.seq - b.seq : b.seq - a.seq))
      .slice(0, range.limit);
    return range.take === 'oldest' ? inRange : inRange.reverse();
  }
}
