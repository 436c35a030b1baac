import { NotInRoomError, RateLimitedError, RoomRequiredError } from '../domain/errors.js';
import { entryEventId, type LeaveReason, roomEvent } from '../domain/room-events.js';
import type { Entry, EntryStore, RateBucket, RateLimiter, RateRule, RoomEventPublisher } from '../ports.js';

/** An entry that counts as "in the room" for the routes: its `joined` is queued or logged. */
export const isInRoom = (entry: Entry): boolean => entry.state === 'queued' || entry.state === 'active';

/**
 * The entry a request is about: the named room, or the only room the connection is in when
 * `roomId` is left out. Throws NotInRoomError / RoomRequiredError.
 */
export async function currentEntry(
  entries: EntryStore,
  connectionId: string,
  roomId: string | undefined,
): Promise<Entry> {
  if (roomId !== undefined) {
    const entry = await entries.get(connectionId, roomId);
    if (!entry || !isInRoom(entry)) throw new NotInRoomError(roomId);
    return entry;
  }
  const current = (await entries.list(connectionId)).filter(isInRoom);
  const [only] = current;
  if (!only) throw new NotInRoomError();
  if (current.length > 1) throw new RoomRequiredError(current.map((e) => e.roomId));
  return only;
}

export interface RateBudget {
  limiter: RateLimiter;
  rules: Record<RateBucket, RateRule>;
}

/** Takes one action from the connection's budget, or throws RateLimitedError. */
export async function spend(budget: RateBudget, connectionId: string, bucket: RateBucket, now: Date) {
  const rule = budget.rules[bucket];
  if (!(await budget.limiter.take(connectionId, bucket, rule, now))) {
    throw new RateLimitedError(
      rule.limit,
      rule.windowSeconds,
      bucket === 'send' ? 'messages' : 'room actions',
    );
  }
}

/**
 * Queues the `left` of an entry that is `leaving`. Its id is derived from the entry, so a
 * `$disconnect`, the fanout's 410 pruning and an enterroom finishing the exit queue it once.
 * An exit that may be taken back (`undo`) queues a `left` of its own id: after an undone exit
 * the fanout drops its `left`, and a derived id would make SQS FIFO drop the next exit's
 * `left` too (same deduplication id within 5 minutes). A second `left` of one entry is
 * harmless: the fanout logs the first and drops the rest (not on the roster any more).
 * If the publish cannot be confirmed, `undo` takes the exit back unless the fanout has
 * already logged it (then the exit stands and nothing is thrown).
 */
export async function queueLeft(
  deps: { entries: EntryStore; events: RoomEventPublisher },
  entry: Entry,
  reason: LeaveReason,
  options: { undo: boolean; deadline?: number; now: Date },
): Promise<void> {
  const left = roomEvent(
    {
      kind: 'left',
      roomId: entry.roomId,
      connectionId: entry.connectionId,
      entryId: entry.entryId,
      nickname: entry.nickname,
      reason,
    },
    options.now,
    options.undo ? undefined : entryEventId('left', entry.entryId),
  );
  try {
    await deps.events.publish([left], options.deadline === undefined ? {} : { deadline: options.deadline });
  } catch (error) {
    if (!options.undo || (await deps.entries.undoExit(entry))) throw error;
    return;
  }
  await deps.entries.markExited(entry).catch(() => undefined);
}
