import { roomEvent } from '../domain/room-events.js';
import type { ConnectionStore, Membership, RoomEventPublisher } from '../ports.js';
import { resolveMembership } from './room-membership.js';

/**
 * `exitroom`: leaves the named room (or the only one the connection is in) and queues a
 * `left` event (reason `exit`); the caller gets `exited` through the fanout, after every
 * message that reached the room before it left. If the event cannot be queued the
 * membership is restored so nobody is left believing something that did not happen.
 */
export async function exitRoom(
  deps: { store: ConnectionStore; events: RoomEventPublisher },
  input: { connectionId: string; roomId?: string | undefined },
): Promise<Membership> {
  const target = await resolveMembership(deps.store, input.connectionId, input.roomId);
  const membership = await deps.store.exitRoom(target.connectionId, target.roomId, target);
  try {
    await deps.events.publish(roomEvent({ kind: 'left', reason: 'exit', ...membership }));
  } catch (error) {
    await restore(deps.store, membership);
    throw error;
  }
  return membership;
}

/** Puts a member whose `left` event could not be queued back where it was (best effort). */
async function restore(store: ConnectionStore, m: Membership): Promise<void> {
  try {
    await store.enterRoom(m);
    await store.activateMember(m.roomId, m.connectionId);
  } catch {
    // The nickname went to someone else meanwhile: take the member off the roster entirely.
    await store.forgetMember(m.roomId, m.connectionId).catch(() => undefined);
  }
}
