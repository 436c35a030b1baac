import { randomUUID } from 'node:crypto';
import { AlreadyInRoomError } from '../domain/errors.js';
import { entryEventId, roomEvent } from '../domain/room-events.js';
import type { EntryStore, NewEntry, RoomEventPublisher } from '../ports.js';
import { queueLeft, type RateBudget, spend } from './room-membership.js';

export interface EnterRoomInput {
  connectionId: string;
  roomId: string;
  nickname: string;
  /** The stable sender id this entry's messages carry. */
  fromId: string;
  /** Resume: the last seq the client saw of the room. */
  since?: number | undefined;
  /** Epoch ms by which the `joined` must be confirmed as queued. */
  deadline?: number;
}

export interface EnterRoomDeps {
  entries: EntryStore;
  events: RoomEventPublisher;
  budget: RateBudget;
  now?: () => Date;
}

/**
 * `enterroom`:
 *   1. takes one room action from the connection's budget;
 *   2. reserves a new entry (its own id) and its nickname, unique in the room;
 *   3. queues the entry's `joined`; the fanout logs it in the room's order, puts the
 *      newcomer on the roster and sends `entered` (with the latest page, or what it missed
 *      since `since`) to the caller and `joined` to the others;
 *   4. marks the entry queued. If the `joined` could not be confirmed as queued the entry is
 *      taken back, unless the fanout already logged it: an error always means nothing happened.
 */
export async function enterRoom(deps: EnterRoomDeps, input: EnterRoomInput): Promise<NewEntry> {
  const now = deps.now?.() ?? new Date();
  await spend(deps.budget, input.connectionId, 'control', now);
  const entry: NewEntry = {
    connectionId: input.connectionId,
    roomId: input.roomId,
    entryId: randomUUID(),
    nickname: input.nickname,
    fromId: input.fromId,
  };
  await reserve(deps, entry, input.deadline, now);
  const joined = roomEvent(
    {
      kind: 'joined',
      roomId: entry.roomId,
      connectionId: entry.connectionId,
      entryId: entry.entryId,
      nickname: entry.nickname,
      fromId: entry.fromId,
      ...(input.since === undefined ? {} : { since: input.since }),
    },
    now,
    entryEventId('joined', entry.entryId),
  );
  try {
    await deps.events.publish([joined], input.deadline === undefined ? {} : { deadline: input.deadline });
  } catch (error) {
    if (await deps.entries.cancel(entry)) throw error;
    return entry; // the fanout logged it meanwhile: the entry stands
  }
  const state = await deps.entries.markQueued(entry).catch(() => 'queued' as const);
  if (state === 'superseded') throw new AlreadyInRoomError(entry.roomId);
  return entry;
}

/** A `reserved` entry older than this was left by a route that died (routes time out in 10 s). */
export const STALE_RESERVATION_MS = 30_000;

/**
 * Reserves the entry. A previous entry of this connection that is still `leaving` (an exit
 * sent just before, whose `left` is being queued) is finished first: its `left` is queued
 * (the same id the exit queues, so it is queued once) and the new entry follows it. One
 * still `reserved` long after its route must have ended is taken back first (its `joined`,
 * if queued at all, is dropped).
 */
async function reserve(deps: EnterRoomDeps, entry: NewEntry, deadline: number | undefined, now: Date) {
  try {
    await deps.entries.reserve(entry);
  } catch (error) {
    if (!(error instanceof AlreadyInRoomError)) throw error;
    const previous = await deps.entries.get(entry.connectionId, entry.roomId);
    if (previous?.state === 'leaving') {
      await queueLeft(deps, previous, 'exit', {
        undo: false,
        now,
        ...(deadline === undefined ? {} : { deadline }),
      });
    } else if (previous?.state === 'reserved' && previous.updatedAt < now.getTime() - STALE_RESERVATION_MS) {
      await deps.entries.cancel(previous);
    } else {
      throw error;
    }
    await deps.entries.reserve(entry);
  }
}
