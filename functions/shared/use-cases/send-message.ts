import { RateLimitedError } from '../domain/errors.js';
import { roomEvent } from '../domain/room-events.js';
import type { ConnectionStore, Membership, RoomEventPublisher } from '../ports.js';
import { resolveMembership } from './room-membership.js';

export interface SendLimits {
  /** Messages allowed per connection per window. */
  perWindow: number;
  windowSeconds: number;
}

/**
 * `sendmessage`: queues a `message` event for a room the connection is in. `from` is the
 * nickname on record for that membership, never anything the client sent.
 */
export async function sendMessage(
  deps: { store: ConnectionStore; events: RoomEventPublisher; limits: SendLimits; now?: () => Date },
  input: { connectionId: string; roomId?: string | undefined; message: string },
): Promise<Membership> {
  const membership = await resolveMembership(deps.store, input.connectionId, input.roomId);
  const now = deps.now?.() ?? new Date();
  const allowed = await deps.store.takeSendToken(
    input.connectionId,
    deps.limits.perWindow,
    deps.limits.windowSeconds,
    now,
  );
  if (!allowed) throw new RateLimitedError(deps.limits.perWindow, deps.limits.windowSeconds);
  await deps.events.publish(
    roomEvent(
      {
        kind: 'message',
        roomId: membership.roomId,
        connectionId: input.connectionId,
        from: membership.nickname,
        message: input.message,
      },
      now,
    ),
  );
  return membership;
}
