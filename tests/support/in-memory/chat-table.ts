/**
 * The in-memory chat table: the state the DynamoDB adapters keep in the chat table (see
 * functions/shared/adapters/dynamodb/table-layout.ts), one map per kind of item, shared by the
 * in-memory ports the way the adapters share one table. Mirrored details: TTL stamps on every
 * item that has one (read filters apply them, nothing deletes an item until `sweepExpired`, as
 * DynamoDB's TTL process lags), sort-key order (connection ids, room ids, seqs) and pages cut
 * before a filter, as a Query with a FilterExpression does.
 *
 * The contract suites (tests/support/contracts) run against these ports and the DynamoDB
 * adapters alike: that is what makes the use-case unit tests built on them trustworthy.
 */
import { CONNECTION_TTL_SECONDS } from '../../../functions/shared/adapters/dynamodb/table-layout';
import { nicknameKey } from '../../../functions/shared/domain/rules';
import type {
  Connection,
  Entry,
  EntryState,
  LogRecord,
  RateBucket,
  RosterMember,
  SliceMember,
} from '../../../functions/shared/ports';

export interface ConnectionItem {
  connection: Connection;
  ttl: number;
  /** The rate limiter's fixed windows, kept on the connection's item as the adapter does. */
  windows: Partial<Record<RateBucket, { window: number; count: number }>>;
}

export interface EntryItem {
  entry: Entry;
  /** The state an entry had before `beginExit` (the adapter's `leftFrom`). */
  leftFrom?: EntryState;
  ttl: number;
}

export interface NicknameItem {
  connectionId: string;
  roomId: string;
  entryId: string;
  nickname: string;
  ttl: number;
}

export interface MemberItem {
  roomId: string;
  member: RosterMember;
  ttl: number;
}

/** One item of a slice of a room's roster: in the room (m#) or left (l#, with its leftSeq). */
export interface SliceItem {
  roomId: string;
  slice: number;
  /** The adapter's sort key: m#<c>#<entry> or l#<leftSeq>#<c>#<entry> (its order). */
  sk: string;
  member: SliceMember;
  ttl: number;
}

/** The room's size, as the adapter keeps it on the logmark. */
export interface RoomSizeItem {
  members: number;
  slices: Record<number, number>;
  sliced: boolean;
}

export interface LogItem {
  record: LogRecord;
  ttl: number;
}

/** Proof that an entry was taken back (conn#<c> / cancelled#<entry>). */
export interface CancelledItem {
  ttl: number;
}

export interface FailureItem {
  eventId: string;
  failures: number;
  ttl: number;
}

export interface ChatTableSnapshot {
  connections: Record<string, ConnectionItem>;
  entries: Record<string, EntryItem>;
  cancelled: Record<string, CancelledItem>;
  nicknames: Record<string, NicknameItem>;
  members: Record<string, MemberItem>;
  logs: Record<string, Record<number, LogItem>>;
  logMarks: Record<string, number>;
  sliceItems: Record<string, SliceItem>;
  roomSizes: Record<string, RoomSizeItem>;
  failures: Record<string, FailureItem>;
}

export interface InMemoryChatTableOptions {
  now?: () => Date;
  /** Items per Query page (DynamoDB pages by size, 1 MB); small values exercise paging. */
  pageSize?: number;
}

const slot = (...parts: string[]) => parts.join('\0');

export class InMemoryChatTable {
  readonly connections = new Map<string, ConnectionItem>();
  /** Key: connectionId, roomId (conn#<c> / room#<r>). */
  readonly entries = new Map<string, EntryItem>();
  /** Key: connectionId, entryId (conn#<c> / cancelled#<entry>). */
  readonly cancelled = new Map<string, CancelledItem>();
  /** Key: roomId, nicknameKey (room#<r> / nick#<key>). */
  readonly nicknames = new Map<string, NicknameItem>();
  /** Key: roomId, connectionId (room#<r> / member#<c>). */
  readonly members = new Map<string, MemberItem>();
  /** roomId → seq → logged event (log#<r> / <seq>). */
  readonly logs = new Map<string, Map<number, LogItem>>();
  /** roomId → the seq of its last logged `left` (room#<r> / logmark, no TTL). */
  readonly logMarks = new Map<string, number>();
  /** Key: roomId, slice, sort key (slice#<r>#<s> / m#… or l#…). */
  readonly sliceItems = new Map<string, SliceItem>();
  /** roomId → its size (the logmark's counts, no TTL). */
  readonly roomSizes = new Map<string, RoomSizeItem>();
  /** groupId → failed attempts at its head event (group#<g> / failures). */
  readonly failures = new Map<string, FailureItem>();
  readonly now: () => Date;
  readonly pageSize: number;

  constructor(options: InMemoryChatTableOptions = {}) {
    this.now = options.now ?? (() => new Date());
    this.pageSize = Math.max(1, options.pageSize ?? 100);
  }

  static entryKey = (connectionId: string, roomId: string) => slot(connectionId, roomId);
  static cancelledKey = (connectionId: string, entryId: string) => slot(connectionId, entryId);
  static nicknameKey = (roomId: string, nickname: string) => slot(roomId, nicknameKey(nickname));
  static memberKey = (roomId: string, connectionId: string) => slot(roomId, connectionId);
  static sliceKey = (roomId: string, slice: number, sk: string) => slot(roomId, String(slice), sk);

  nowSeconds(): number {
    return Math.floor(this.now().getTime() / 1000);
  }

  /** The TTL the adapters stamp on connection, entry, nickname and roster items. */
  connectionExpiry(): number {
    return this.nowSeconds() + CONNECTION_TTL_SECONDS;
  }

  logOf(roomId: string): Map<number, LogItem> {
    let log = this.logs.get(roomId);
    if (!log) {
      log = new Map();
      this.logs.set(roomId, log);
    }
    return log;
  }

  /** Deletes every item whose TTL has passed, as DynamoDB's TTL process does (eventually). */
  sweepExpired(): void {
    const now = this.nowSeconds();
    for (const map of [
      this.connections,
      this.entries,
      this.cancelled,
      this.nicknames,
      this.members,
      this.sliceItems,
      this.failures,
    ]) {
      for (const [key, item] of map as Map<string, { ttl: number }>) if (item.ttl < now) map.delete(key);
    }
    for (const log of this.logs.values()) {
      for (const [seq, item] of log) if (item.ttl < now) log.delete(seq);
    }
  }

  /** A deep copy of every item, for "changes nothing" assertions. */
  snapshot(): ChatTableSnapshot {
    return structuredClone({
      connections: Object.fromEntries(this.connections),
      entries: Object.fromEntries(this.entries),
      cancelled: Object.fromEntries(this.cancelled),
      nicknames: Object.fromEntries(this.nicknames),
      members: Object.fromEntries(this.members),
      logs: Object.fromEntries([...this.logs].map(([room, log]) => [room, Object.fromEntries(log)])),
      logMarks: Object.fromEntries(this.logMarks),
      sliceItems: Object.fromEntries(this.sliceItems),
      roomSizes: Object.fromEntries(this.roomSizes),
      failures: Object.fromEntries(this.failures),
    });
  }
}

/** Sort-key order (DynamoDB compares strings by UTF-8 bytes; our keys are ASCII). */
export const byKey = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Lets other work run between two steps an adapter takes as separate requests. */
export const nextRequest = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

type Step = () => unknown;

/**
 * Scripting for a port: what its next call of a method does first (throw, or run another
 * actor's step, e.g. the fanout logging an event between two reads of a use case), and every
 * call made, in order.
 */
export class Scripted<M extends string> {
  /** Every method called, in order. */
  readonly calls: M[] = [];
  private readonly steps = new Map<M, Step[]>();

  /** The next call of `method` rejects with `error` (queue several for several calls). */
  failNext(method: M, error: unknown = new Error(`${method} failed (scripted)`)): this {
    return this.beforeNext(method, () => {
      throw error;
    });
  }

  /** Runs `step` at the start of the next call of `method`, before it reads or writes anything. */
  beforeNext(method: M, step: Step): this {
    const queue = this.steps.get(method) ?? [];
    queue.push(step);
    this.steps.set(method, queue);
    return this;
  }

  protected async enter(method: M): Promise<void> {
    this.calls.push(method);
    const step = this.steps.get(method)?.shift();
    if (step) await step();
  }
}
