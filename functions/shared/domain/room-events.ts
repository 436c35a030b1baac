/**
 * Room events: the versioned contract between the route functions (producers) and the
 * fanout (consumer) on the SQS FIFO queue. The fanout validates every record against it.
 */
import { randomUUID } from 'node:crypto';
import {
  array,
  discriminatedUnion,
  iso,
  literal,
  maxLength,
  minLength,
  number,
  object,
  optional,
  type output,
  string,
} from 'zod/mini';
import type { DistributiveOmit } from './protocol.js';

export const ROOM_EVENT_VERSION = 1;
/** MessageGroupId for admin broadcasts (room ids cannot contain ':' so this cannot clash). */
export const BROADCAST_GROUP = 'broadcast:all';

const base = {
  v: literal(ROOM_EVENT_VERSION),
  id: string().check(minLength(1), maxLength(80)),
  at: iso.datetime(),
};

export const RoomEventSchema = discriminatedUnion('kind', [
  object({
    ...base,
    kind: literal('joined'),
    roomId: string(),
    connectionId: string(),
    nickname: string(),
    members: array(string()),
    memberCount: optional(number()),
  }),
  object({
    ...base,
    kind: literal('message'),
    roomId: string(),
    connectionId: string(),
    from: string(),
    message: string(),
  }),
  object({
    ...base,
    kind: literal('left'),
    roomId: string(),
    connectionId: string(),
    nickname: string(),
    reason: literal(['exit', 'disconnect', 'gone']),
  }),
  object({
    ...base,
    kind: literal('broadcast'),
    from: string(),
    message: string(),
  }),
]);

export type RoomEvent = output<typeof RoomEventSchema>;
export type RoomEventInput = DistributiveOmit<RoomEvent, 'v' | 'id' | 'at'>;

export function roomEvent(input: RoomEventInput, now: Date = new Date()): RoomEvent {
  return { ...input, v: ROOM_EVENT_VERSION, id: randomUUID(), at: now.toISOString() } as RoomEvent;
}

/** The FIFO message group: one per room so every member sees the room in the same order. */
export function messageGroupOf(event: RoomEvent): string {
  return event.kind === 'broadcast' ? BROADCAST_GROUP : `room:${event.roomId}`;
}

export function parseRoomEvent(body: string): RoomEvent {
  return RoomEventSchema.parse(JSON.parse(body));
}
