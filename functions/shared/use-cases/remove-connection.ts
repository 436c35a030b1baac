import { createHash } from 'node:crypto';
import type { LeaveReason } from '../domain/protocol.js';
import { ROOM_EVENT_VERSION, type RoomEvent } from '../domain/room-events.js';
import type { ConnectionStore, Membership, RoomEventPublisher } from '../ports.js';

/**
 * A connection leaves only once, so its `left` events get ids derived from the connection
 * and room: a retried removal (or `$disconnect` racing the fanout's 410 pruning) produces
 * the same ids, which SQS FIFO deduplicates and clients can drop.
 */
export function leftEventId(connectionId: string, roomId: string): string {
  return createHash('sha256').update(`left\0${connectionId}\0${roomId}`).digest('hex').slice(0, 32);
}

/**
 * `$disconnect`, and the fanout's pruning of a connection that answered 410: tells each
 * room the connection was in, then deletes the connection and its memberships. Telling
 * first means a failure part-way is retried without losing a notice.
 */
export async function removeConnection(
  deps: { store: ConnectionStore; events: RoomEventPublisher; now?: () => Date },
  input: { connectionId: string; reason: Exclude<LeaveReason, 'exit'> },
): Promise<Membership[]> {
  const memberships = await deps.store.listMemberships(input.connectionId);
  const at = (deps.now?.() ?? new Date()).toISOString();
  const notices: RoomEvent[] = memberships.map((m) => ({
    v: ROOM_EVENT_VERSION,
    id: leftEventId(m.connectionId, m.roomId),
    at,
    kind: 'left',
    roomId: m.roomId,
    connectionId: m.connectionId,
    nickname: m.nickname,
    reason: input.reason,
  }));
  if (notices.length > 0) await deps.events.publish(...notices);
  await deps.store.removeConnection(input.connectionId, memberships);
  return memberships;
}
