import { ConnectionNotFoundError, ForbiddenError } from '../domain/errors.js';
import { roomEvent } from '../domain/room-events.js';
import type { ConnectionStore, RoomEventPublisher } from '../ports.js';

/** `broadcast`: admins only (role from the server's connection record); reaches every connection. */
export async function broadcast(
  deps: { store: ConnectionStore; events: RoomEventPublisher },
  input: { connectionId: string; message: string },
): Promise<void> {
  const connection = await deps.store.getConnection(input.connectionId);
  if (!connection) throw new ConnectionNotFoundError();
  if (connection.role !== 'admin') throw new ForbiddenError('Only admins may broadcast.');
  await deps.events.publish(
    roomEvent({ kind: 'broadcast', from: connection.principalId, message: input.message }),
  );
}
