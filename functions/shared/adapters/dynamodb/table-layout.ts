/**
 * The chat table's keys and items, in one place (pk/sk strings, TTL attribute `ttl`):
 *
 *   pk = conn#<connectionId>  sk = meta             the connection (role, principal, rate windows)
 *   pk = conn#<connectionId>  sk = room#<roomId>    its entry into a room (route side)
 *   pk = conn#<connectionId>  sk = cancelled#<entry> an entry taken back (expires after a day)
 *   pk = room#<roomId>        sk = nick#<key>       a nickname held in the room (unique per room)
 *   pk = room#<roomId>        sk = member#<connId>  the room's roster (fanout side, Query never Scan)
 *   pk = room#<roomId>        sk = logmark          the seq of the room's last `left`, and its size:
 *                                                   members, m<slice> per slice, sliced (never expires)
 *   pk = slice#<roomId>#<s>   sk = m#<connId>#<entry>         a member of the roster's slice s, with
 *                                                           its joinedSeq (deleted at its `left`)
 *   pk = slice#<roomId>#<s>   sk = l#<leftSeq>#<connId>#<entry> one that left, with its window
 *                                                           (expires after a day)
 *   pk = log#<roomId>         sk = <seq, 12 digits> the room's log: each event as delivered (history)
 *   pk = group#<groupId>      sk = failures         failed attempts at a FIFO group's head event
 *
 * A slice's items sort those that left (l#, by leftSeq) before those in the room (m#), so one
 * Query from l#<seq> reads everyone a slice record for <seq> may have to reach.
 *
 * Connection items also carry gsi1pk = conns#<shard>, gsi1sk = connectionId: a sparse,
 * keys-only index that lets broadcast read every connection, a shard per record.
 */
import { createHash } from 'node:crypto';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { nicknameKey } from '../../domain/rules.js';
import type {
  Connection,
  Entry,
  EntryState,
  LogRecord,
  Role,
  RosterMember,
  SliceMember,
} from '../../ports.js';

export type Item = Record<string, AttributeValue>;

/** API Gateway closes every connection after 2 h; TTL cleans up after a lost `$disconnect`. */
export const CONNECTION_TTL_SECONDS = 2 * 60 * 60 + 15 * 60;
export const CONNECTION_INDEX = 'ConnectionsByShard';
export const CONNECTION_SHARDS = 16;
/** How long the failure count of a group's head event is kept. */
export const FAILURE_TTL_SECONDS = 24 * 60 * 60;
/** How long a cancelled entry is remembered: longer than a queued `joined` can wait (retention 1 day). */
export const CANCELLED_TTL_SECONDS = 25 * 60 * 60;
/** How long a slice remembers one that left: longer than a slice record can wait in the queue (1 day). */
export const LEFT_MEMBER_TTL_SECONDS = 25 * 60 * 60;
/** Slices of every room's roster (a connection's slice is a hash of its id): fixed for a table's life. */
export const SLICES = 100;

const s = (value: string): AttributeValue => ({ S: value });
const n = (value: number): AttributeValue => ({ N: String(value) });

export const key = {
  connection: (connectionId: string) => ({ pk: s(`conn#${connectionId}`), sk: s('meta') }),
  entry: (connectionId: string, roomId: string) => ({
    pk: s(`conn#${connectionId}`),
    sk: s(`room#${roomId}`),
  }),
  /** Proof that an entry was taken back before its `joined` reached the log (expires). */
  cancelled: (connectionId: string, entryId: string) => ({
    pk: s(`conn#${connectionId}`),
    sk: s(`cancelled#${entryId}`),
  }),
  nickname: (roomId: string, nickname: string) => ({
    pk: s(`room#${roomId}`),
    sk: s(`nick#${nicknameKey(nickname)}`),
  }),
  member: (roomId: string, connectionId: string) => ({
    pk: s(`room#${roomId}`),
    sk: s(`member#${connectionId}`),
  }),
  logEvent: (roomId: string, seq: number) => ({ pk: s(`log#${roomId}`), sk: s(seqKey(seq)) }),
  /** The partition of one slice of a room's roster. */
  slice: (roomId: string, slice: number) => s(`slice#${roomId}#${slice}`),
  sliceMember: (roomId: string, slice: number, connectionId: string, entryId: string) => ({
    pk: key.slice(roomId, slice),
    sk: s(`m#${connectionId}#${entryId}`),
  }),
  sliceLeft: (roomId: string, slice: number, leftSeq: number, connectionId: string, entryId: string) => ({
    pk: key.slice(roomId, slice),
    sk: s(`l#${seqKey(leftSeq)}#${connectionId}#${entryId}`),
  }),
  /** The seq of the room's last `left` (no TTL), so a fully expired log carries on after it. */
  logMark: (roomId: string) => ({ pk: s(`room#${roomId}`), sk: s('logmark') }),
  failures: (groupId: string) => ({ pk: s(`group#${groupId}`), sk: s('failures') }),
};

/** Sort keys of the log: zero-padded so string order is seq order. */
export function seqKey(seq: number): string {
  return String(seq).padStart(12, '0');
}

/** The sort key from which a slice's Query reads everyone in the room at `seq` or later. */
export const sliceFrom = (seq: number) => `l#${seqKey(seq)}`;

/** The logmark's attribute counting the members of one slice. */
export const sliceCount = (slice: number) => `m${slice}`;

export function shardOf(connectionId: string, shards = CONNECTION_SHARDS): number {
  return createHash('sha1').update(connectionId).digest().readUInt16BE(0) % shards;
}

export const epochSeconds = (date: Date): number => Math.floor(date.getTime() / 1000);
const str = (item: Item, name: string): string => item[name]?.S ?? '';
const num = (item: Item, name: string): number => Number(item[name]?.N ?? 0);

/** The connection's item (also used to bulk-load tables in benchmarks and tests). */
export function connectionItem(c: Connection, ttl: number): Item {
  return {
    ...key.connection(c.connectionId),
    connectionId: s(c.connectionId),
    role: s(c.role),
    principalId: s(c.principalId),
    ...(c.displayName ? { displayName: s(c.displayName) } : {}),
    connectedAt: n(c.connectedAt),
    gsi1pk: s(`conns#${shardOf(c.connectionId)}`),
    gsi1sk: s(c.connectionId),
    ttl: n(ttl),
  };
}

export function toConnection(item: Item): Connection {
  const displayName = item.displayName?.S;
  return {
    connectionId: str(item, 'connectionId'),
    role: str(item, 'role') as Role,
    principalId: str(item, 'principalId'),
    connectedAt: num(item, 'connectedAt'),
    ...(displayName ? { displayName } : {}),
  };
}

export function entryItem(entry: Entry, ttl: number): Item {
  return {
    ...key.entry(entry.connectionId, entry.roomId),
    connectionId: s(entry.connectionId),
    roomId: s(entry.roomId),
    entryId: s(entry.entryId),
    nickname: s(entry.nickname),
    fromId: s(entry.fromId),
    state: s(entry.state),
    updatedAt: n(entry.updatedAt),
    ttl: n(ttl),
  };
}

export function toEntry(item: Item): Entry {
  return {
    connectionId: str(item, 'connectionId'),
    roomId: str(item, 'roomId'),
    entryId: str(item, 'entryId'),
    nickname: str(item, 'nickname'),
    fromId: str(item, 'fromId'),
    state: str(item, 'state') as EntryState,
    updatedAt: num(item, 'updatedAt'),
  };
}

export function nicknameItem(
  entry: Pick<Entry, 'connectionId' | 'roomId' | 'entryId' | 'nickname'>,
  ttl: number,
): Item {
  return {
    ...key.nickname(entry.roomId, entry.nickname),
    connectionId: s(entry.connectionId),
    roomId: s(entry.roomId),
    entryId: s(entry.entryId),
    nickname: s(entry.nickname),
    ttl: n(ttl),
  };
}

export function memberItem(roomId: string, member: RosterMember, ttl: number): Item {
  return {
    ...key.member(roomId, member.connectionId),
    connectionId: s(member.connectionId),
    roomId: s(roomId),
    entryId: s(member.entryId),
    nickname: s(member.nickname),
    joinedSeq: n(member.joinedSeq),
    ttl: n(ttl),
  };
}

export function toMember(item: Item): RosterMember {
  return {
    connectionId: str(item, 'connectionId'),
    entryId: str(item, 'entryId'),
    nickname: str(item, 'nickname'),
    joinedSeq: num(item, 'joinedSeq'),
  };
}

export function sliceMemberItem(
  roomId: string,
  slice: number,
  member: Pick<RosterMember, 'connectionId' | 'entryId' | 'joinedSeq'>,
  ttl: number,
): Item {
  return {
    ...key.sliceMember(roomId, slice, member.connectionId, member.entryId),
    connectionId: s(member.connectionId),
    entryId: s(member.entryId),
    joinedSeq: n(member.joinedSeq),
    ttl: n(ttl),
  };
}

export function sliceLeftItem(
  roomId: string,
  slice: number,
  member: Required<SliceMember>,
  ttl: number,
): Item {
  return {
    ...key.sliceLeft(roomId, slice, member.leftSeq, member.connectionId, member.entryId),
    connectionId: s(member.connectionId),
    entryId: s(member.entryId),
    joinedSeq: n(member.joinedSeq),
    leftSeq: n(member.leftSeq),
    ttl: n(ttl),
  };
}

export function toSliceMember(item: Item): SliceMember {
  const leftSeq = item.leftSeq?.N;
  return {
    connectionId: str(item, 'connectionId'),
    entryId: str(item, 'entryId'),
    joinedSeq: num(item, 'joinedSeq'),
    ...(leftSeq === undefined ? {} : { leftSeq: Number(leftSeq) }),
  };
}

export function logItem(roomId: string, record: LogRecord, ttl: number): Item {
  return {
    ...key.logEvent(roomId, record.seq),
    seq: n(record.seq),
    eventId: s(record.eventId),
    event: s(JSON.stringify(record.event)),
    ...(record.entry
      ? { entryConnectionId: s(record.entry.connectionId), entryId: s(record.entry.entryId) }
      : {}),
    ttl: n(ttl),
  };
}

export function toLogRecord(item: Item): LogRecord {
  const record = {
    seq: num(item, 'seq'),
    eventId: str(item, 'eventId'),
    event: JSON.parse(str(item, 'event')),
  };
  const [connectionId, entryId] = [item.entryConnectionId?.S, item.entryId?.S];
  return connectionId && entryId ? { ...record, entry: { connectionId, entryId } } : record;
}
