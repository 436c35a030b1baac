/**
 * Room events: the versioned contract between the route functions (producers) and the
 * fanout (consumer) on the SQS FIFO queue. The fanout validates every record against it.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';

export const ROOM_EVENT_VERSION = 1;
/** MessageGroupId for admin broadcasts (room ids cannot contain ':' so this cannot clash). */
export const BROADCAST_GROUP = 'broadcast:all';

const base = {
  v: z.literal(ROOM_EVENT_VERSION),
  id: z.string().min(1).max(80),
  at: z.iso.datetime(),
};

export const RoomEventSchema = z.discriminatedUnion('kind', [
  z.object({
    ...base,
    kind: z.literal('joined'),
    roomId: z.string(),
    connectionId: z.string(),
    nickname: z.string(),
    members: z.array(z.string()),
  }),
  z.object({
    ...base,
    kind: z.literal('message'),
    roomId: z.string(),
    connectionId: z.string(),
    from: z.string(),
    message: z.string(),
  }),
  z.object({
    ...base,
    kind: z.literal('left'),
    roomId: z.string(),
    connectionId: z.string(),
    nickname: z.string(),
    reason: z.enum(['exit', 'disconnect', 'gone']),
  }),
  z.object({
    ...base,
    kind: z.literal('broadcast'),
    from: z.string(),
    message: z.string(),
  }),
]);

export type RoomEvent = z.infer<typeof RoomEventSchema>;
type DistributiveOmit<T, K extends keyof never> = T extends unknown ? Omit<T, K> : never;
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
