import { createHash } from 'node:crypto';
import { listedMembers, pagesByBytes } from '../domain/event-pages.js';
import { type RoomLogEvent, type ServerEvent, serverEvent } from '../domain/protocol.js';
import type { EntryEvent, RoomEvent } from '../domain/room-events.js';
import { HISTORY_DEFAULT_LIMIT } from '../domain/rules.js';
import type {
  ConnectionNotifier,
  ConnectionRegistry,
  EntryStore,
  RoomEventPublisher,
  RoomLog,
  RosterMember,
} from '../ports.js';
import { forEachConcurrentlyPaged } from '../runtime/concurrency.js';
import { logRoomEvent } from './log-room-event.js';
import { removeConnection } from './remove-connection.js';

export interface FanoutDeps {
  registry: ConnectionRegistry;
  entries: EntryStore;
  log: RoomLog;
  notifier: ConnectionNotifier;
  events: RoomEventPublisher;
  /** Upper bound on posts in flight at once. */
  concurrency: number;
  now?: () => Date;
}

export interface DeliveryReport {
  /** Where the event is in the room's log (room events only). */
  seq?: number;
  /** Set when the event was not logged (and not delivered): why. */
  dropped?: 'undone' | 'not-current';
  delivered: number;
  gone: string[];
  failed: number;
}

/** Thrown when some live recipients could not be reached; the record is then retried whole. */
export class DeliveryFailedError extends Error {
  constructor(readonly report: DeliveryReport) {
    super(`${report.failed} deliveries failed after retries`);
    this.name = 'DeliveryFailedError';
  }
}

/**
 * Thrown when the invocation ran out of time before every recipient was posted to: the
 * record is retried whole, and this does not count as a failure of the event (it never
 * failed; the batch was too long for the time left).
 */
export class DeadlineReachedError extends Error {
  constructor(readonly report: DeliveryReport) {
    super('the invocation is about to time out; the rest is left for the next one');
    this.name = 'DeadlineReachedError';
  }
}

/** Most retained events a resume delivers; a client further behind gets the latest page (resumed: false). */
export const MAX_RESUME_EVENTS = 500;

type Recipient = { connectionId: string; payloads: string[] };

const frame = (event: ServerEvent): string => JSON.stringify(event);

/** A stable id for a notice the fanout derives from a room event (so a redelivery repeats it). */
const derivedId = (kind: string, eventId: string) =>
  createHash('sha256').update(`${kind}\0${eventId}`).digest('hex').slice(0, 32);

/**
 * The fanout's work for one queue record:
 *   - a room event is logged by the room's sequencer (logRoomEvent), then posted to whoever
 *     the roster says receives it at its seq: `entered` (+ the latest page, or what a resuming
 *     client missed) to a newcomer and `joined` to the others; `message` to everyone, the
 *     sender too; `exited` to the leaver and `left` to the others;
 *   - a broadcast is split into one record per connection-index shard; each shard's record is
 *     posted to that shard's connections.
 * Connections that answer 410 are removed (their rooms get `left`, reason `gone`). If a live
 * recipient still fails after the notifier's retries, DeliveryFailedError: the record comes
 * back and is posted again to everyone (clients drop repeats by `id`).
 */
export async function handleRoomEvent(
  deps: FanoutDeps,
  event: RoomEvent,
  options: { deadline?: number; redelivered?: boolean } = {},
): Promise<DeliveryReport> {
  if (event.kind === 'broadcast') {
    if (event.shard === undefined) return splitBroadcast(deps, event);
    const payload = frame(
      serverEvent({ type: 'broadcast', from: event.from, message: event.message }, event),
    );
    return post(deps, recipientPages(deps.registry.connectionsOfShard(event.shard), payload), options);
  }
  const outcome = await logRoomEvent(deps, event, { redelivered: options.redelivered ?? false });
  if (outcome.kind === 'dropped') {
    await onDropped(deps, event, outcome.reason, options);
    return { dropped: outcome.reason, delivered: 0, gone: [], failed: 0 };
  }
  if (event.kind === 'left') await deps.entries.releaseNickname(event);
  const report: DeliveryReport = { seq: outcome.seq, delivered: 0, gone: [], failed: 0 };
  for (const earlier of outcome.preceding) {
    merge(report, await post(deps, rosterPages(deps.log, event.roomId, [frame(earlier)]), options));
  }
  const recipients: AsyncIterable<Recipient[]> =
    event.kind === 'joined'
      ? await joinedRecipients(deps, event, outcome.event)
      : event.kind === 'left'
        ? leftRecipients(deps, event, outcome.event)
        : rosterPages(deps.log, event.roomId, [frame(outcome.event)]);
  return merge(report, await post(deps, recipients, options));
}

function merge(into: DeliveryReport, from: DeliveryReport): DeliveryReport {
  into.delivered += from.delivered;
  into.gone.push(...from.gone);
  into.failed += from.failed;
  return into;
}

/** A broadcast record becomes one record per shard, queued with ids derived from it (idempotent). */
async function splitBroadcast(
  deps: FanoutDeps,
  event: Extract<RoomEvent, { kind: 'broadcast' }>,
): Promise<DeliveryReport> {
  const shards = Array.from({ length: deps.registry.shards }, (_, shard) => ({ ...event, shard }));
  await deps.events.publish(shards);
  return { delivered: 0, gone: [], failed: 0 };
}

async function* recipientPages(pages: AsyncIterable<string[]>, payload: string): AsyncGenerator<Recipient[]> {
  for await (const page of pages) yield page.map((connectionId) => ({ connectionId, payloads: [payload] }));
}

async function* rosterPages(log: RoomLog, roomId: string, payloads: string[], skip?: string) {
  for await (const page of log.roster(roomId)) {
    yield page
      .filter((m) => m.connectionId !== skip)
      .map((m) => ({ connectionId: m.connectionId, payloads }));
  }
}

async function* leftRecipients(
  deps: FanoutDeps,
  event: Extract<EntryEvent, { kind: 'left' }>,
  logged: RoomLogEvent,
): AsyncGenerator<Recipient[]> {
  // The leaver hears `exited` after every event that came before its exit; a connection
  // that is gone (disconnect, 410) cannot hear anything.
  if (event.reason === 'exit') {
    const exited = serverEvent({ type: 'exited', roomId: event.roomId, seq: logged.seq }, logged);
    yield [{ connectionId: event.connectionId, payloads: [frame(exited)] }];
  }
  yield* rosterPages(deps.log, event.roomId, [frame(logged)], event.connectionId);
}

/**
 * A newcomer gets `entered` (the roster at its `joined`, as many nicknames as fit one frame,
 * and the count), then the latest page of the room's log, or, resuming from `since`, every
 * retained event it missed (resumed: false and the latest page when they are not all
 * retained). Both end just before its `joined`, so with the live events that follow there is
 * no gap and no overlap. The others get `joined`.
 */
async function joinedRecipients(
  deps: FanoutDeps,
  event: Extract<EntryEvent, { kind: 'joined' }>,
  logged: RoomLogEvent,
): Promise<AsyncIterable<Recipient[]>> {
  const roster: RosterMember[] = [];
  for await (const page of deps.log.roster(event.roomId)) roster.push(...page);
  const { events, resumed } = await missedEvents(deps.log, event.roomId, logged.seq, event.since);
  const entered = serverEvent(
    {
      type: 'entered',
      roomId: event.roomId,
      seq: logged.seq,
      nickname: event.nickname,
      members: listedMembers(roster.map((m) => m.nickname)),
      memberCount: roster.length,
      ...(resumed === undefined ? {} : { resumed }),
    },
    logged,
  );
  const newcomer: Recipient = {
    connectionId: event.connectionId,
    payloads: [frame(entered), ...historyFrames(event.roomId, events.records, events.olderExist, logged.id)],
  };
  const joined = frame(logged);
  const others = roster
    .filter((m) => m.connectionId !== event.connectionId)
    .map((m) => ({ connectionId: m.connectionId, payloads: [joined] }));
  return (async function* () {
    yield [newcomer];
    if (others.length > 0) yield others;
  })();
}

async function missedEvents(
  log: RoomLog,
  roomId: string,
  seq: number,
  since: number | undefined,
): Promise<{ events: { records: RoomLogEvent[]; olderExist: boolean }; resumed?: boolean }> {
  if (since !== undefined && since < seq) {
    const expected = seq - 1 - since;
    if (expected === 0) return { events: { records: [], olderExist: since > 0 }, resumed: true };
    if (expected <= MAX_RESUME_EVENTS) {
      const records = await log.events(roomId, {
        after: since,
        before: seq,
        limit: expected,
        take: 'oldest',
      });
      if (records.length === expected) {
        return { events: { records: records.map((r) => r.event), olderExist: since > 0 }, resumed: true };
      }
    }
  }
  const latest = await log.events(roomId, { before: seq, limit: HISTORY_DEFAULT_LIMIT + 1, take: 'newest' });
  const olderExist = latest.length > HISTORY_DEFAULT_LIMIT;
  const records = (olderExist ? latest.slice(1) : latest).map((r) => r.event);
  return { events: { records, olderExist }, ...(since === undefined ? {} : { resumed: false }) };
}

/**
 * `history` events for a run of the log (oldest first), each within one frame. `more` tells
 * whether older retained events exist before a page's first event. Ids are derived from
 * `idBase` so a redelivery repeats them.
 */
export function historyFrames(
  roomId: string,
  events: RoomLogEvent[],
  olderExist: boolean,
  idBase?: string,
): string[] {
  return pagesByBytes(events).map((page, index) =>
    frame(
      serverEvent(
        { type: 'history', roomId, events: page, more: index === 0 ? olderExist : true },
        idBase === undefined ? {} : { id: derivedId(`history${index}`, idBase) },
      ),
    ),
  );
}

/**
 * A dropped `message` was overtaken by its sender's own `left` (frames of one connection run
 * concurrently): the sender hears it was not delivered. A `left` dropped because its entry is
 * not on the roster (a repeat, or its `joined` was parked) leaves the entry and nickname to
 * free; one dropped because the exit was undone changes nothing.
 */
async function onDropped(
  deps: FanoutDeps,
  event: EntryEvent,
  reason: 'undone' | 'not-current',
  options: { deadline?: number },
) {
  if (event.kind === 'message') {
    const notice = serverEvent(
      {
        type: 'error',
        code: 'not_in_room',
        message: `Your message was not delivered: you had left room "${event.roomId}" before it reached the room.`,
        action: 'sendmessage',
      },
      { id: derivedId('dropped', event.id) },
    );
    await post(
      deps,
      (async function* () {
        yield [{ connectionId: event.connectionId, payloads: [frame(notice)] }];
      })(),
      options,
    );
  }
  if (event.kind === 'left' && reason === 'not-current') {
    // The log has this entry out of the room: its nickname is free (if still its own).
    await deps.entries.discardExited(event);
    await deps.entries.releaseNickname(event);
  }
}

/**
 * Posts each recipient its payloads (in order) with bounded concurrency across pages; no post
 * starts after the deadline. Removes connections that answered 410.
 */
async function post(
  deps: FanoutDeps,
  recipients: AsyncIterable<Recipient[]>,
  options: { deadline?: number },
): Promise<DeliveryReport> {
  const report: DeliveryReport = { delivered: 0, gone: [], failed: 0 };
  let firstError: unknown;
  let cut = false;
  const sendOptions = options.deadline === undefined ? {} : { deadline: options.deadline };
  await forEachConcurrentlyPaged(recipients, deps.concurrency, async ({ connectionId, payloads }) => {
    for (const payload of payloads) {
      if (options.deadline !== undefined && Date.now() >= options.deadline) {
        cut = true;
        return;
      }
      try {
        const result = await deps.notifier.send(connectionId, payload, sendOptions);
        if (result === 'gone') {
          report.gone.push(connectionId);
          return;
        }
        report.delivered += 1;
      } catch (error) {
        report.failed += 1;
        firstError ??= error;
        return;
      }
    }
  });
  for (const connectionId of new Set(report.gone)) {
    await removeConnection(deps, { connectionId, reason: 'gone' });
  }
  if (report.failed > 0) throw Object.assign(new DeliveryFailedError(report), { cause: firstError });
  if (cut) throw new DeadlineReachedError(report);
  return report;
}
