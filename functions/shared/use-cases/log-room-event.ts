import type { RoomLogEvent } from '../domain/protocol.js';
import { type EntryEvent, entryEventId, roomEvent } from '../domain/room-events.js';
import type { EntryStore, LogChange, LogRecord, RoomLog, RosterMember } from '../ports.js';

export type LogOutcome =
  /**
   * In the log at `seq` (`replay`: it already was, and this is a redelivery). `preceding`:
   * events the sequencer logged just before it (a superseded entry's `left`), to deliver first.
   */
  | { kind: 'logged'; seq: number; event: RoomLogEvent; replay: boolean; preceding: RoomLogEvent[] }
  /** Not in the log: its entry was taken back (`undone`) or is no longer on the roster (`not-current`). */
  | { kind: 'dropped'; reason: 'undone' | 'not-current' };

type Decision =
  | { kind: 'append'; change: LogChange }
  | { kind: 'drop'; reason: 'undone' | 'not-current' }
  | { kind: 'logged'; seq: number }
  /** The roster still holds an older entry of this connection: log its `left` first. */
  | { kind: 'supersede'; member: RosterMember };

/**
 * How far back a redelivered record is looked for: a batch holds at most 10 records, and the
 * records behind a returned one in its room wait for it, so this covers what one failed batch
 * can have logged, with room to spare.
 */
export const RECENT_ON_REDELIVERY = 20;

/** Appends rarely race; a few rounds settle any stale head or changed entry. */
const MAX_ROUNDS = 8;

/**
 * The event as members receive it and `history` returns it, at its place in the log: `type`
 * first and `id`/`at` last, as in every other server event.
 */
export function toLogEvent(event: EntryEvent, seq: number): RoomLogEvent {
  const { id, at, roomId } = event;
  switch (event.kind) {
    case 'joined':
      return { type: 'joined', roomId, seq, nickname: event.nickname, id, at };
    case 'message':
      return {
        type: 'message',
        roomId,
        seq,
        from: event.from,
        fromId: event.fromId,
        message: event.message,
        id,
        at,
      };
    case 'left':
      return { type: 'left', roomId, seq, nickname: event.nickname, reason: event.reason, id, at };
  }
}

/** The log's record of an event at `seq`; a `joined` or `left` keeps whose entry it was. */
function logRecordOf(event: EntryEvent, seq: number): LogRecord {
  const record = { seq, eventId: event.id, event: toLogEvent(event, seq) };
  if (event.kind === 'message') return record;
  return { ...record, entry: { connectionId: event.connectionId, entryId: event.entryId } };
}

/**
 * The fanout as the room's sequencer. The FIFO group hands it the room's events one at a
 * time, in order; it gives each the next `seq` and applies it to the roster, or drops it:
 *   1. a redelivered event keeps its seq (it is the log's head, or, handed out again after a
 *      batch failed whole, among the room's newest events);
 *   2. a `joined` counts unless its entry was taken back (cancelled: the route could not
 *      confirm it, or its connection went away first); a `message` or `left` counts only
 *      while its entry is on the roster;
 *   3. a `left` whose exit was taken back (the entry is current again) is dropped;
 *   4. the event and its roster change are appended in one conditional write at head + 1, so
 *      a stale head or an entry that changed meanwhile is seen, re-read and decided again.
 */
export async function logRoomEvent(
  deps: { log: RoomLog; entries: EntryStore },
  event: EntryEvent,
  options: { redelivered?: boolean } = {},
): Promise<LogOutcome> {
  const preceding: RoomLogEvent[] = [];
  const logged = (seq: number, replay: boolean): LogOutcome => ({
    kind: 'logged',
    seq,
    event: toLogEvent(event, seq),
    replay,
    preceding,
  });
  if (options.redelivered) {
    // A batch that failed whole (a crashed or timed-out invocation) comes back with records it
    // had already logged, and later records of their room may have been logged after them: look
    // among the room's newest events, not only at its head.
    const recent = await deps.log.events(event.roomId, { limit: RECENT_ON_REDELIVERY, take: 'newest' });
    const found = recent.find((record) => record.eventId === event.id);
    if (found) return logged(found.seq, true);
  }
  for (let round = 1; round <= MAX_ROUNDS; round++) {
    const head = await deps.log.head(event.roomId);
    if (head.eventId === event.id) return logged(head.seq, true);
    const seq = head.seq + 1;
    const decision = await decide(deps, event, seq);
    if (decision.kind === 'drop') return { kind: 'dropped', reason: decision.reason };
    if (decision.kind === 'logged') return logged(decision.seq, true);
    if (decision.kind === 'supersede') {
      const left = await logSupersededLeft(deps, event, decision.member, seq);
      if (left) preceding.push(left);
      continue;
    }
    const record = logRecordOf(event, seq);
    const result = await deps.log.append(event.roomId, record, decision.change);
    if (result === 'appended') return logged(seq, false);
  }
  throw new Error(`Could not log ${event.kind} ${event.id} in room ${event.roomId}: its log kept changing`);
}

async function decide(
  deps: { log: RoomLog; entries: EntryStore },
  event: EntryEvent,
  seq: number,
): Promise<Decision> {
  const { roomId, connectionId, entryId } = event;
  const member = await deps.log.member(roomId, connectionId);
  if (event.kind === 'joined') {
    if (member?.entryId === entryId) return { kind: 'logged', seq: member.joinedSeq };
    const entry = await deps.entries.get(connectionId, roomId);
    // An entry that is gone or replaced was either taken back (proof kept) or has exited and
    // been followed by the next one, whose `joined` comes after this entry's `left`.
    const current = entry?.entryId === entryId;
    if (!current && (await deps.entries.wasCancelled(connectionId, entryId)))
      return { kind: 'drop', reason: 'undone' };
    if (member) return { kind: 'supersede', member };
    return {
      kind: 'append',
      change: {
        kind: 'join',
        member: { connectionId, entryId, nickname: event.nickname, joinedSeq: seq },
        ...(current ? { entryState: entry.state } : {}),
      },
    };
  }
  if (member?.entryId !== entryId) return { kind: 'drop', reason: 'not-current' };
  if (event.kind === 'message') return { kind: 'append', change: { kind: 'message' } };
  const entry = await deps.entries.get(connectionId, roomId);
  if (entry?.entryId === entryId && entry.state !== 'leaving' && entry.state !== 'exited') {
    return { kind: 'drop', reason: 'undone' };
  }
  return {
    kind: 'append',
    change: {
      kind: 'leave',
      connectionId,
      entryId,
      joinedSeq: member.joinedSeq,
      ...(entry?.entryId === entryId ? { entryState: entry.state } : {}),
    },
  };
}

/**
 * A `joined` found the connection still on the roster with an older entry whose `left`
 * never reached the log (it was parked): that entry leaves first, at this seq, with the id
 * its own `left` has, so the room sees it go before the new entry comes.
 */
async function logSupersededLeft(
  deps: { log: RoomLog; entries: EntryStore },
  event: EntryEvent,
  member: RosterMember,
  seq: number,
): Promise<RoomLogEvent | undefined> {
  const left = roomEvent(
    {
      kind: 'left',
      roomId: event.roomId,
      connectionId: member.connectionId,
      entryId: member.entryId,
      nickname: member.nickname,
      reason: 'exit',
    },
    new Date(event.at),
    entryEventId('left', member.entryId),
  ) as Extract<EntryEvent, { kind: 'left' }>;
  const record = logRecordOf(left, seq);
  const result = await deps.log.append(event.roomId, record, {
    kind: 'leave',
    connectionId: member.connectionId,
    entryId: member.entryId,
    joinedSeq: member.joinedSeq,
  });
  if (result !== 'appended') return undefined;
  await deps.entries.releaseNickname(left);
  return record.event;
}
