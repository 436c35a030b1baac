import type { LeaveReason } from '../domain/room-events.js';
import type { ConnectionRegistry, Entry, EntryStore, RoomEventPublisher } from '../ports.js';
import { queueLeft } from './room-membership.js';

export interface RemoveConnectionDeps {
  registry: ConnectionRegistry;
  entries: EntryStore;
  events: RoomEventPublisher;
  now?: () => Date;
}

/**
 * `$disconnect`, and the fanout's pruning of a connection that answered 410:
 *   1. deletes the connection's record first, so no new entry can start (enterroom checks it);
 *   2. for each of its entries: a `reserved` one is taken back (its `joined` will be dropped);
 *      any other gets its `left` queued (reason `disconnect` or `gone`; an exit already under
 *      way queues the same `left`, with the same id, once). The fanout logs each `left`, takes
 *      the member off the roster and deletes the entry.
 * Every entry is tried; the first failure is thrown at the end. A `left` that could not be
 * queued stays `leaving`: the next 410 for this connection, or TTL, finishes it.
 */
export async function removeConnection(
  deps: RemoveConnectionDeps,
  input: { connectionId: string; reason: Exclude<LeaveReason, 'exit'>; deadline?: number },
): Promise<Entry[]> {
  const now = deps.now?.() ?? new Date();
  await deps.registry.deleteConnection(input.connectionId);
  const entries = await deps.entries.list(input.connectionId);
  let firstError: unknown;
  const left: Entry[] = [];
  for (const entry of entries) {
    try {
      if (await leave(deps, entry, input.reason, now, input.deadline)) left.push(entry);
    } catch (error) {
      firstError ??= error;
    }
  }
  if (firstError !== undefined) throw firstError;
  return left;
}

/** Ends one entry of a connection that is gone; false when there was nothing to tell the room. */
async function leave(
  deps: RemoveConnectionDeps,
  entry: Entry,
  reason: Exclude<LeaveReason, 'exit'>,
  now: Date,
  deadline: number | undefined,
): Promise<boolean> {
  let current: Entry | undefined = entry;
  if (current.state === 'reserved') {
    if (await deps.entries.cancel(current)) return false;
    current = await deps.entries.get(entry.connectionId, entry.roomId);
    if (current?.entryId !== entry.entryId) return false;
  }
  if (current.state === 'queued' || current.state === 'active') {
    current = await deps.entries.beginExit(current).catch(async (error: unknown) => {
      // Its exit began meanwhile (an exitroom, a racing 410): carry on with it. Anything else
      // is a failure: a left queued for an entry that is not leaving would only be dropped.
      const now = await deps.entries.get(entry.connectionId, entry.roomId);
      if (now?.entryId !== entry.entryId) return undefined;
      if (now.state === 'leaving' || now.state === 'exited') return now;
      throw error;
    });
    if (!current) return false;
  }
  await queueLeft(deps, current, reason, {
    undo: false,
    now,
    ...(deadline === undefined ? {} : { deadline }),
  });
  return true;
}
