import type { Entry, EntryStore, RoomEventPublisher } from '../ports.js';
import { currentEntry, queueLeft, type RateBudget, spend } from './room-membership.js';

/**
 * `exitroom`:
 *   1. takes one room action from the connection's budget;
 *   2. finds the entry (the named room, or the only one the connection is in) and marks it
 *      `leaving`;
 *   3. queues its `left` (reason `exit`); the fanout logs it in the room's order, takes the
 *      member off the roster and frees the nickname, and sends `exited` to the caller after
 *      every event that came before it and `left` to the others.
 * If the `left` could not be confirmed as queued the exit is taken back, unless the fanout
 * already logged it: an error always means nothing happened.
 */
export async function exitRoom(
  deps: { entries: EntryStore; events: RoomEventPublisher; budget: RateBudget; now?: () => Date },
  input: { connectionId: string; roomId?: string | undefined; deadline?: number },
): Promise<Entry> {
  const now = deps.now?.() ?? new Date();
  await spend(deps.budget, input.connectionId, 'control', now);
  const entry = await currentEntry(deps.entries, input.connectionId, input.roomId);
  const leaving = await deps.entries.beginExit(entry);
  await queueLeft(deps, leaving, 'exit', {
    undo: true,
    now,
    ...(input.deadline === undefined ? {} : { deadline: input.deadline }),
  });
  return leaving;
}
