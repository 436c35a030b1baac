import { roomEvent } from '../domain/room-events.js';
import type { Entry, EntryStore, RoomEventPublisher } from '../ports.js';
import { currentEntry, type RateBudget, spend } from './room-membership.js';

/**
 * `sendmessage`: queues a `message` for a room the connection is in. `from` and `fromId` are
 * the entry's, never anything the client sent. The fanout logs it only if the entry is still
 * on the roster when it reaches the room's log (a message overtaken by its sender's own
 * `left` is not delivered; the sender is told with an `error`).
 */
export async function sendMessage(
  deps: { entries: EntryStore; events: RoomEventPublisher; budget: RateBudget; now?: () => Date },
  input: { connectionId: string; roomId?: string | undefined; message: string; deadline?: number },
): Promise<Entry> {
  const entry = await currentEntry(deps.entries, input.connectionId, input.roomId);
  const now = deps.now?.() ?? new Date();
  await spend(deps.budget, input.connectionId, 'send', now);
  await deps.events.publish(
    [
      roomEvent(
        {
          kind: 'message',
          roomId: entry.roomId,
          connectionId: entry.connectionId,
          entryId: entry.entryId,
          from: entry.nickname,
          fromId: entry.fromId,
          message: input.message,
        },
        now,
      ),
    ],
    input.deadline === undefined ? {} : { deadline: input.deadline },
  );
  return entry;
}
