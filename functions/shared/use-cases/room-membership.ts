import { NotInRoomError, RoomRequiredError } from '../domain/errors.js';
import type { ConnectionStore, Membership } from '../ports.js';

/**
 * The membership a request is about: the named room, or the only room the connection is
 * in when `roomId` is left out. Throws NotInRoomError / RoomRequiredError.
 */
export async function resolveMembership(
  store: ConnectionStore,
  connectionId: string,
  roomId: string | undefined,
): Promise<Membership> {
  if (roomId !== undefined) {
    const membership = await store.getMembership(connectionId, roomId);
    if (!membership) throw new NotInRoomError(roomId);
    return membership;
  }
  const memberships = await store.listMemberships(connectionId);
  const [only] = memberships;
  if (!only) throw new NotInRoomError();
  if (memberships.length > 1) throw new RoomRequiredError(memberships.map((m) => m.roomId));
  return only;
}
