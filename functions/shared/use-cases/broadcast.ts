import { ConnectionNotFoundError, ForbiddenError } from '../domain/errors.js';
import { roomEvent } from '../domain/room-events.js';
import type { ConnectionRegistry, RoomEventPublisher } from '../ports.js';

/**
 * `broadcast`: admins only (role from the server's connection record). Queues one record;
 * the fanout splits it into one record per connection-index shard, so a broadcast to any
 * number of connections is delivered by records of bounded size.
 */
export async function broadcast(
  deps: { registry: ConnectionRegistry; events: RoomEventPublisher },
  input: { connectionId: string; message: string; deadline?: number },
): Promise<void> {
  const connection = await deps.registry.getConnection(input.connectionId);
  if (!connection) throw new ConnectionNotFoundError();
  if (connection.role !== 'admin') throw new ForbiddenError('Only admins may broadcast.');
  await deps.events.publish(
    [
      roomEvent({
        kind: 'broadcast',
        from: connection.displayName ?? connection.principalId,
        message: input.message,
      }),
    ],
    input.deadline === undefined ? {} : { deadline: input.deadline },
  );
}
