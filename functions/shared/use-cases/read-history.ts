import { NotInRoomError } from '../domain/errors.js';
import { HISTORY_DEFAULT_LIMIT } from '../domain/rules.js';
import type { ConnectionNotifier, EntryStore, RoomLog } from '../ports.js';
import { historyFrames } from './deliver-room-event.js';
import { isInRoom, type RateBudget, spend } from './room-membership.js';

/**
 * `history`: the room's logged events before `before` (or the newest), up to `limit`, sent to
 * the caller as one or more `history` events (each within one frame; `more` says whether
 * older events are retained). Only a current member of the room may read it.
 */
export async function readHistory(
  deps: {
    entries: EntryStore;
    log: RoomLog;
    notifier: ConnectionNotifier;
    budget: RateBudget;
    now?: () => Date;
  },
  input: { connectionId: string; roomId: string; before?: number | undefined; limit?: number | undefined },
): Promise<{ events: number; more: boolean }> {
  await spend(deps.budget, input.connectionId, 'control', deps.now?.() ?? new Date());
  const entry = await deps.entries.get(input.connectionId, input.roomId);
  if (!entry || !isInRoom(entry)) throw new NotInRoomError(input.roomId);
  const limit = input.limit ?? HISTORY_DEFAULT_LIMIT;
  const newest = await deps.log.events(input.roomId, {
    ...(input.before === undefined ? {} : { before: input.before }),
    limit: limit + 1,
    take: 'newest',
  });
  const more = newest.length > limit;
  const events = (more ? newest.slice(1) : newest).map((r) => r.event);
  for (const payload of historyFrames(input.roomId, events, more)) {
    if ((await deps.notifier.send(input.connectionId, payload)) === 'gone') break;
  }
  return { events: events.length, more };
}
