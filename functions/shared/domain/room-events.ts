/**
 * Room events: the versioned contract between the route functions (producers) and the
 * fanout (consumer) on the SQS FIFO queue. The fanout validates every record against it.
 *
 * Version 2: every room event names the *entry* it concerns (`entryId`: one per
 * `enterroom`), because the fanout is the room's sequencer and applies each event to the
 * room's roster only if that entry is current when the event reaches the room's log.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  array,
  discriminatedUnion,
  int,
  iso,
  literal,
  maxLength,
  minimum,
  minLength,
  nonnegative,
  object,
  optional,
  type output,
  string,
} from 'zod/mini';
import { LEAVE_REASONS, type LeaveReason } from './leave-reasons.js';
import type { DistributiveOmit } from './protocol.js';

export { LEAVE_REASONS, type LeaveReason };

export const ROOM_EVENT_VERSION = 2;

const base = {
  v: literal(ROOM_EVENT_VERSION),
  id: string().check(minLength(1), maxLength(80)),
  at: iso.datetime(),
};

const entry = {
  roomId: string().check(minLength(1), maxLength(64)),
  connectionId: string().check(minLength(1), maxLength(128)),
  entryId: string().check(minLength(1), maxLength(80)),
};

export const RoomEventSchema = discriminatedUnion('kind', [
  object({
    ...base,
    ...entry,
    kind: literal('joined'),
    nickname: string(),
    fromId: string(),
    /** Resume: the newcomer has seen the room's events up to this seq. */
    since: optional(int().check(nonnegative())),
  }),
  object({
    ...base,
    ...entry,
    kind: literal('message'),
    from: string(),
    fromId: string(),
    message: string(),
  }),
  object({
    ...base,
    ...entry,
    kind: literal('left'),
    nickname: string(),
    reason: literal(LEAVE_REASONS),
  }),
  /**
   * One slice of a large room's roster (see deliver-room-event.ts): the sequencer logged the
   * event at `seq` and forwards it, as delivered, to each slice in that slice's own FIFO group.
   */
  object({
    ...base,
    kind: literal('slice'),
    roomId: entry.roomId,
    slice: int().check(nonnegative()),
    seq: int().check(minimum(1)),
    /** The logged event as its members receive it (JSON), posted as is. */
    frame: string(),
    /** The event's subject, when it hears more than `frame`: a newcomer or a leaver. */
    subject: optional(
      object({
        connectionId: entry.connectionId,
        /** Posted as they are: a leaver's `exited`. */
        frames: optional(array(string())),
        /** A newcomer's `entered` (the roster at `seq`), then its history page, resuming from `since`. */
        entered: optional(
          object({
            nickname: string(),
            members: array(string()),
            memberCount: int().check(nonnegative()),
            since: optional(int().check(nonnegative())),
          }),
        ),
      }),
    ),
  }),
  object({
    ...base,
    kind: literal('broadcast'),
    from: string(),
    message: string(),
    /**
     * Which connection-index shard this record reaches. The route queues one record without a
     * shard; the fanout splits it into one record per shard (same id), each delivered apart.
     */
    shard: optional(int().check(minimum(0))),
  }),
]);

export type RoomEvent = output<typeof RoomEventSchema>;
export type RoomEventInput = DistributiveOmit<RoomEvent, 'v' | 'id' | 'at'>;
export type EntryEvent = Exclude<RoomEvent, { kind: 'broadcast' | 'slice' }>;
export type SliceRecord = Extract<RoomEvent, { kind: 'slice' }>;

export function roomEvent(
  input: RoomEventInput,
  now: Date = new Date(),
  id: string = randomUUID(),
): RoomEvent {
  return { ...input, v: ROOM_EVENT_VERSION, id, at: now.toISOString() } as RoomEvent;
}

/**
 * Ids derived from an entry: a retried `joined` or `left` of one entry (a route retrying its
 * publish, `$disconnect` racing the fanout's 410 pruning or an exit) carries the same id, so
 * SQS FIFO drops the repeat within its 5-minute window and clients drop it by `id`.
 */
export function entryEventId(kind: 'joined' | 'left', entryId: string): string {
  return createHash('sha256').update(`${kind}\0${entryId}`).digest('hex').slice(0, 32);
}

/**
 * The FIFO message group: one per room (one order for every member), one per slice of a room
 * (a connection is always in the same slice, so it still gets the room's order), one per
 * broadcast shard.
 */
export function messageGroupOf(event: RoomEvent): string {
  if (event.kind === 'slice') return `slice:${event.roomId}:${event.slice}`;
  if (event.kind !== 'broadcast') return `room:${event.roomId}`;
  return event.shard === undefined ? 'broadcast' : `broadcast:${event.shard}`;
}

/** SQS deduplication id: the event id (a broadcast's shard records and a room event's slice records share it). */
export function deduplicationIdOf(event: RoomEvent): string {
  if (event.kind === 'slice') return `${event.id}:s${event.slice}`;
  return event.kind === 'broadcast' && event.shard !== undefined ? `${event.id}:${event.shard}` : event.id;
}

export function parseRoomEvent(body: string): RoomEvent {
  return RoomEventSchema.parse(JSON.parse(body));
}
