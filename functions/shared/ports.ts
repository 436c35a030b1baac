/**
 * Ports: what the use cases need from the outside world. Each has one AWS adapter in
 * ./adapters; the local gateway and the tests swap endpoints, not implementations.
 *
 * Two views of who is in a room, written at different times:
 *   - entries (EntryStore): what the route functions decided, in request time. They answer
 *     `not_in_room`, `already_in_room` and `nickname_taken` at once and hold the nickname.
 *   - the roster (RoomLog): who receives the room's events, written only by the fanout, in the
 *     room's order (the log). A member receives exactly the events from its `joined` to its
 *     `left`, because both views change only where the log says so.
 * An entry's id ties them together: every room event names the entry it concerns, and the
 * fanout applies an event only if its entry is still current when it reaches the log.
 *
 * The roster is also kept in slices (a bucket per connection, the same in every room), each
 * member with the window of seqs it receives (from its `joined` to its `left`), so that a
 * large room's slices can be delivered in parallel, later than the log moved on.
 */
import type { RoomLogEvent } from './domain/protocol.js';
import type { RoomEvent } from './domain/room-events.js';

export type Role = 'user' | 'admin';

export interface Connection {
  connectionId: string;
  role: Role;
  /** The signed-in user (`sub`) in jwt mode; the role in token mode. */
  principalId: string;
  connectedAt: number;
  /** A display name from the sign-in (default nickname), when there is one. */
  displayName?: string;
}

export interface ConnectionRegistry {
  /** Registers a new connection (idempotent). */
  putConnection(connection: Connection): Promise<void>;
  getConnection(connectionId: string): Promise<Connection | undefined>;
  /** Removes the connection's own record (its entries are removed through their `left`). */
  deleteConnection(connectionId: string): Promise<void>;
  /** How many shards the broadcast index has (one broadcast record per shard). */
  readonly shards: number;
  /** Pages of the live connection ids of one shard (a Query of the sparse index). */
  connectionsOfShard(shard: number): AsyncIterable<string[]>;
}

/**
 * Where an entry stands:
 *   reserved → its `joined` may or may not be queued yet (the route is publishing it)
 *   queued   → its `joined` is queued
 *   active   → the fanout has put its `joined` in the log
 *   leaving  → an exit (or disconnect) is publishing its `left`
 *   exited   → its `left` is queued; the fanout deletes the entry when it logs the `left`
 */
export type EntryState = 'reserved' | 'queued' | 'active' | 'leaving' | 'exited';

export interface Entry {
  connectionId: string;
  roomId: string;
  entryId: string;
  nickname: string;
  /** The stable sender id messages of this entry carry (`fromId`). */
  fromId: string;
  state: EntryState;
  /** When the entry last changed state (epoch ms). */
  updatedAt: number;
}

export type NewEntry = Omit<Entry, 'state' | 'updatedAt'>;

export interface EntryStore {
  /**
   * Reserves the connection's entry into the room and its nickname, atomically (state
   * `reserved`). A previous entry of the connection in the room may be replaced only once it
   * has `exited` (its `left` is queued). Throws AlreadyInRoomError, NicknameTakenError, or
   * ConnectionNotFoundError.
   */
  reserve(entry: NewEntry): Promise<void>;
  /** reserved → queued. Answers what the entry is now: `active` if the fanout got there first. */
  markQueued(entry: Entry | NewEntry): Promise<'queued' | 'active' | 'superseded'>;
  /**
   * Takes back a `reserved` entry (its `joined` could not be confirmed as queued, its route
   * died, or its connection is gone), frees its nickname and leaves proof of it. True when
   * taken back (the fanout will drop its `joined`); false when the fanout already logged it,
   * so the entry stands.
   */
  cancel(entry: Pick<Entry, 'connectionId' | 'roomId' | 'entryId' | 'nickname'>): Promise<boolean>;
  /** Whether this entry was taken back (the fanout then drops its `joined`). */
  wasCancelled(connectionId: string, entryId: string): Promise<boolean>;
  /** queued|active → leaving, for the connection's current entry. Throws NotInRoomError. */
  beginExit(entry: Entry): Promise<Entry>;
  /**
   * leaving → the state it had, after a `left` that could not be confirmed as queued. True
   * when undone; false when the fanout already logged the `left`, so the exit stands.
   */
  undoExit(entry: Entry): Promise<boolean>;
  /** leaving → exited (the `left` is queued); a no-op if the entry is no longer this one. */
  markExited(entry: Entry): Promise<void>;
  get(connectionId: string, roomId: string): Promise<Entry | undefined>;
  list(connectionId: string): Promise<Entry[]>;
  /** Frees the entry's nickname if this entry still holds it (after the fanout logged its `left`). */
  releaseNickname(entry: Pick<Entry, 'roomId' | 'entryId' | 'nickname'>): Promise<void>;
  /**
   * Deletes this entry if it is `leaving`/`exited`, and frees its nickname: for a `left` the
   * fanout dropped because its entry never reached the roster (its `joined` was parked).
   */
  discardExited(entry: Pick<Entry, 'connectionId' | 'roomId' | 'entryId' | 'nickname'>): Promise<void>;
}

/** A member on a room's roster: receives the room's events. */
export interface RosterMember {
  connectionId: string;
  entryId: string;
  nickname: string;
  /** The seq of the member's `joined`. */
  joinedSeq: number;
}

/** One event of a room's log, as its members received it. */
export interface LogRecord {
  seq: number;
  /** The queue event's id (= the client event's id). */
  eventId: string;
  event: RoomLogEvent;
  /** The membership a `joined` or `left` changed (kept with the record, never delivered). */
  entry?: { connectionId: string; entryId: string };
}

/**
 * What logging an event changes besides the log, in the same transaction:
 *   join  → the member is added to the roster, and its entry (seen in `entryState`) becomes
 *           `active` if it was reserved/queued (`entryState` undefined: the entry has since
 *           exited and been replaced; the append then requires that it was never cancelled);
 *   leave → the member is taken off the roster, and its entry is deleted if it was seen
 *           `leaving`/`exited` (`entryState`; undefined: the entry is already gone or replaced).
 * Each fails as a conflict if the entry or roster member changed since they were read.
 */
export type LogChange =
  | { kind: 'message' }
  | { kind: 'join'; member: RosterMember; entryState?: EntryState }
  | { kind: 'leave'; connectionId: string; entryId: string; joinedSeq: number; entryState?: EntryState };

export type AppendResult = 'appended' | 'seq-taken' | 'conflict';

/** A member of one slice of a room's roster and the seqs it receives: joinedSeq < seq < leftSeq. */
export interface SliceMember {
  connectionId: string;
  entryId: string;
  joinedSeq: number;
  /** The seq of its `left`; undefined while it is in the room. */
  leftSeq?: number;
}

/** How many are on a room's roster, in all and per slice, kept by the same writes as the roster. */
export interface RoomSize {
  members: number;
  /** Members per slice (bucket → count); slices with nobody are left out. */
  slices: Map<number, number>;
  /** The room's events have been delivered in slices (it then stays so, see deliver-room-event.ts). */
  sliced: boolean;
}

export interface RoomLog {
  /** The newest logged event of the room (seq 0 and no event id when the log is empty). */
  head(roomId: string): Promise<{ seq: number; eventId?: string }>;
  /** Appends `record` (its seq must be the head's + 1) with the change it makes, atomically. */
  append(roomId: string, record: LogRecord, change: LogChange): Promise<AppendResult>;
  member(roomId: string, connectionId: string): Promise<RosterMember | undefined>;
  /** Pages of the room's roster (a Query, never a Scan), of at most `pageSize` members if given. */
  roster(roomId: string, options?: { pageSize?: number }): AsyncIterable<RosterMember[]>;
  /** The room's size after its head event (cached with the head). */
  size(roomId: string): Promise<RoomSize>;
  /** Records that the room is delivered in slices from now on. */
  markSliced(roomId: string): Promise<void>;
  /** The slice (bucket) a connection's memberships are kept in, in every room. */
  sliceOf(connectionId: string): number;
  /** How many slices every roster has (0 … sliceCount - 1). */
  readonly sliceCount: number;
  /**
   * Pages of one slice of the room's roster: the members in the room now, and those that left
   * at `fromSeq` or later (kept long enough for any slice still delivering before their `left`).
   */
  sliceMembers(roomId: string, slice: number, fromSeq: number): AsyncIterable<SliceMember[]>;
  /**
   * Logged events with `after` < seq < `before`, oldest first: the newest `limit` of them
   * (`take: 'newest'`) or the oldest (`take: 'oldest'`, for a resume).
   */
  events(
    roomId: string,
    range: { after?: number; before?: number; limit: number; take: 'newest' | 'oldest' },
  ): Promise<LogRecord[]>;
}

export type RateBucket = 'send' | 'control';

export interface RateRule {
  /** Actions allowed per connection per window. */
  limit: number;
  windowSeconds: number;
}

export interface RateLimiter {
  /**
   * Takes one token from the connection's bucket; false when the window's allowance is used
   * up. Throws ConnectionNotFoundError when the connection is not registered.
   */
  take(connectionId: string, bucket: RateBucket, rule: RateRule, now: Date): Promise<boolean>;
}

export interface FailureCounter {
  /** Counts one failed attempt at `eventId` (the head of FIFO group `groupId`); returns the count so far. */
  recordFailure(groupId: string, eventId: string): Promise<number>;
}

export interface PublishOptions {
  /** Epoch ms after which a publish that cannot be confirmed gives up (PublishUnconfirmedError). */
  deadline?: number;
}

export interface RoomEventPublisher {
  /**
   * Publishes events in order (events of one room keep their order), retrying an unconfirmed
   * publish with the same deduplication ids until `deadline`. Throws PublishRefusedError when
   * SQS refused (nothing was queued) and PublishUnconfirmedError when it could not confirm.
   */
  publish(events: RoomEvent[], options?: PublishOptions): Promise<void>;
}

export type DeliveryResult = 'delivered' | 'gone';

export interface ConnectionNotifier {
  /**
   * Sends one text frame to a connection. Resolves 'gone' when the connection no longer
   * exists (410); throws when delivery failed after retries. No retry starts after `deadline`.
   */
  send(connectionId: string, payload: string, options?: { deadline?: number }): Promise<DeliveryResult>;
}
