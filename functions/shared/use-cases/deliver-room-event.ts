import { createHash } from 'node:crypto';
import { listedMembers, pagesByBytes } from '../domain/event-pages.js';
import { type RoomLogEvent, type ServerEvent, serverEvent } from '../domain/protocol.js';
import {
  type EntryEvent,
  ROOM_EVENT_VERSION,
  type RoomEvent,
  type SliceRecord,
} from '../domain/room-events.js';
import { HISTORY_DEFAULT_LIMIT, MAX_LISTED_MEMBERS } from '../domain/rules.js';
import type {
  ConnectionNotifier,
  ConnectionRegistry,
  EntryStore,
  RoomEventPublisher,
  RoomLog,
  RoomSize,
  RosterMember,
} from '../ports.js';
import { forEachConcurrentlyPaged, type Semaphore } from '../runtime/concurrency.js';
import { type LogOutcome, logRoomEvent } from './log-room-event.js';
import { removeConnection } from './remove-connection.js';

export interface FanoutDeps {
  registry: ConnectionRegistry;
  entries: EntryStore;
  log: RoomLog;
  notifier: ConnectionNotifier;
  events: RoomEventPublisher;
  /** Upper bound on posts in flight at once, per record. */
  concurrency: number;
  /** Shared by every record of an invocation (records of different groups run at once): its posts in flight. */
  slots?: Semaphore;
  /**
   * Rooms with more members than this are delivered in slices, each by its own record (see
   * below); undefined: never.
   */
  sliceSize?: number;
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
  /** Slice records the sequencer queued for the event (a room delivered in slices). */
  slices?: number;
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

/** Slice records per SendMessageBatch (SQS takes at most 10 entries a request). */
const SLICE_RECORDS_PER_PUBLISH = 10;

/** Most retained events a resume delivers; a client further behind gets the latest page (resumed: false). */
export const MAX_RESUME_EVENTS = 500;

type Recipient = { connectionId: string; payloads: string[] };

const frame = (event: ServerEvent): string => JSON.stringify(event);

/** A stable id for a notice the fanout derives from a room event (so a redelivery repeats it). */
const derivedId = (kind: string, eventId: string) =>
  createHash('sha256').update(`${kind}\0${eventId}`).digest('hex').slice(0, 32);

/** The id of the `index`th history page a newcomer gets after its `entered` (event `eventId`). */
export const enteredPageId = (eventId: string, index: number) => derivedId(`history${index}`, eventId);

/**
 * The fanout's work for one queue record:
 *   - a room event is logged by the room's sequencer (logRoomEvent), then posted to whoever
 *     the roster says receives it at its seq: `entered` (+ the latest page, or what a resuming
 *     client missed) to a newcomer and `joined` to the others; `message` to everyone, the
 *     sender too; `exited` to the leaver and `left` to the others;
 *   - in a large room (more than `sliceSize` members) the sequencer posts nothing itself: it
 *     queues the logged event once per slice of the roster that has someone to reach, and each
 *     slice record is delivered on its own, in parallel (deliverSlice);
 *   - a broadcast is split into one record per connection-index shard; each shard's record is
 *     posted to that shard's connections.
 * Connections that answer 410 are removed (their rooms get `left`, reason `gone`). If a live
 * recipient still fails after the notifier's retries, DeliveryFailedError: the record comes
 * back and is posted again to everyone it reaches (clients drop repeats by `id`).
 *
 * Slices keep every promise of the room's log:
 *   - a connection is in the same slice for as long as it lives (a hash of its id), and a
 *     slice's records are one FIFO group, queued in the log's order: whatever it receives
 *     comes in seq order, across its memberships too (its `entered`, history and `exited` go
 *     through its slice as well);
 *   - a slice record carries the event as logged (nothing is sequenced again), and reaches
 *     exactly the members whose window holds its seq (joinedSeq < seq < leftSeq), however far
 *     the roster has moved on since: those that left keep their window in the slice for a day,
 *     longer than a record can wait in the queue;
 *   - a room, once sliced, stays so: a direct post after slice records could overtake them;
 *   - a redelivered slice record posts the same frames again (same ids); `entered` in a large
 *     room lists the first nicknames that fit and the count kept with the roster, without
 *     reading the whole roster.
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
  if (event.kind === 'slice') return deliverSlice(deps, event, options);
  const outcome = await logRoomEvent(deps, event, { redelivered: options.redelivered ?? false });
  if (outcome.kind === 'dropped') {
    await onDropped(deps, event, outcome.reason, options);
    return { dropped: outcome.reason, delivered: 0, gone: [], failed: 0 };
  }
  if (event.kind === 'left') await deps.entries.releaseNickname(event);
  // A joined handed back after its invocation died may come right after the superseded left
  // that invocation logged for the same connection and never posted: it is posted again first.
  const preceding =
    outcome.preceding.length === 0 && options.redelivered && event.kind === 'joined'
      ? await supersededLeftBefore(deps.log, event, outcome.seq)
      : outcome.preceding;
  const logged = { ...outcome, preceding };
  const size = await deps.log.size(event.roomId);
  if (deps.sliceSize !== undefined && (size.sliced || size.members > deps.sliceSize)) {
    if (!size.sliced) await deps.log.markSliced(event.roomId);
    return forwardToSlices(deps, event, logged, size, options);
  }
  const report: DeliveryReport = { seq: outcome.seq, delivered: 0, gone: [], failed: 0 };
  // A redelivered event goes to the roster as it was at its seq, which the room may have left
  // behind since (the rest of a crashed batch was logged after it).
  const roster = () =>
    outcome.replay ? onePage(rosterAt(deps.log, event.roomId, outcome.seq)) : deps.log.roster(event.roomId);
  // A left logged just before (its entry superseded by this joined's) is the same
  // connection's: it hears `exited`, as from any exit, and the others `left`.
  for (const earlier of preceding) {
    const leaver = {
      connectionId: event.connectionId,
      reason: earlier.type === 'left' ? earlier.reason : '',
    };
    merge(report, await post(deps, leftRecipients(leaver, earlier, roster()), options));
  }
  const recipients: AsyncIterable<Recipient[]> =
    event.kind === 'joined'
      ? await joinedRecipients(deps, event, outcome.event, roster())
      : event.kind === 'left'
        ? leftRecipients(event, outcome.event, roster())
        : rosterPages(roster(), [frame(outcome.event)]);
  return merge(report, await post(deps, recipients, options));
}

/** The record just before a joined's, if it is the superseded left of the joined's connection. */
async function supersededLeftBefore(
  log: RoomLog,
  event: Extract<EntryEvent, { kind: 'joined' }>,
  seq: number,
): Promise<RoomLogEvent[]> {
  if (seq < 2) return [];
  const [record] = await log.events(event.roomId, { after: seq - 2, before: seq, limit: 1, take: 'oldest' });
  const superseded =
    record?.event.type === 'left' &&
    record.entry?.connectionId === event.connectionId &&
    record.entry.entryId !== event.entryId;
  return superseded ? [record.event] : [];
}

async function* onePage<T>(items: Promise<T[]>): AsyncGenerator<T[]> {
  const page = await items;
  if (page.length > 0) yield page;
}

/** Who was in the room at some seq: enough to post to them and to list them. */
type Member = Pick<RosterMember, 'connectionId' | 'nickname'>;

/**
 * The roster at `seq`: the members whose `joined` is at or before it and whose `left` (if any)
 * is after it. Events logged after `seq` are read back from the log itself (not from a cached
 * head, which another sandbox may have left behind): members that joined since are left out,
 * and each `left` since whose entry joined before adds its member back (the log keeps whose
 * entry a `joined` or `left` was). Further behind than a resume reaches (MAX_RESUME_EVENTS),
 * and for events logged before the log kept entries, those that left since are not added back.
 */
export async function rosterAt(log: RoomLog, roomId: string, seq: number): Promise<Member[]> {
  const members: Member[] = [];
  for await (const page of log.roster(roomId)) members.push(...page.filter((m) => m.joinedSeq <= seq));
  const since = await log.events(roomId, { after: seq, limit: MAX_RESUME_EVENTS + 1, take: 'oldest' });
  if (since.length > MAX_RESUME_EVENTS) return members;
  const joinedSince = new Set<string>();
  for (const { event, entry } of since) {
    if (!entry) continue;
    if (event.type === 'joined') joinedSince.add(entry.entryId);
    else if (event.type === 'left' && !joinedSince.has(entry.entryId)) {
      members.push({ connectionId: entry.connectionId, nickname: event.nickname });
    }
  }
  return members;
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

async function* rosterPages(roster: AsyncIterable<Member[]>, payloads: string[], skip?: string) {
  for await (const page of roster) {
    yield page
      .filter((m) => m.connectionId !== skip)
      .map((m) => ({ connectionId: m.connectionId, payloads }));
  }
}

async function* leftRecipients(
  leaver: { connectionId: string; reason: string },
  logged: RoomLogEvent,
  roster: AsyncIterable<Member[]>,
): AsyncGenerator<Recipient[]> {
  // The leaver hears `exited` after every event that came before its exit; a connection
  // that is gone (disconnect, 410) cannot hear anything.
  if (leaver.reason === 'exit') {
    const exited = serverEvent({ type: 'exited', roomId: logged.roomId, seq: logged.seq }, logged);
    yield [{ connectionId: leaver.connectionId, payloads: [frame(exited)] }];
  }
  yield* rosterPages(roster, [frame(logged)], leaver.connectionId);
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
  pages: AsyncIterable<Member[]>,
): Promise<AsyncIterable<Recipient[]>> {
  const roster: Member[] = [];
  for await (const page of pages) roster.push(...page);
  const newcomer: Recipient = {
    connectionId: event.connectionId,
    payloads: await newcomerPayloads(deps.log, logged, {
      nickname: event.nickname,
      members: listedMembers(roster.map((m) => m.nickname)),
      memberCount: roster.length,
      ...(event.since === undefined ? {} : { since: event.since }),
    }),
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

type Entered = NonNullable<NonNullable<SliceRecord['subject']>['entered']>;

/** What a newcomer gets at its `joined` (`logged`): `entered`, then its history page(s). */
async function newcomerPayloads(
  log: RoomLog,
  logged: Pick<RoomLogEvent, 'id' | 'at' | 'roomId' | 'seq'>,
  entered: Entered,
): Promise<string[]> {
  const { events, resumed } = await missedEvents(log, logged.roomId, logged.seq, entered.since);
  const event = serverEvent(
    {
      type: 'entered',
      roomId: logged.roomId,
      seq: logged.seq,
      nickname: entered.nickname,
      members: entered.members,
      memberCount: entered.memberCount,
      ...(resumed === undefined ? {} : { resumed }),
    },
    logged,
  );
  return [frame(event), ...historyFrames(logged.roomId, events.records, events.olderExist, logged.id)];
}

/**
 * The sequencer's part in a large room: the event (and any it logged just before, first) is
 * queued once per slice with someone to reach, in order. A newcomer's slice also carries what
 * its `entered` says (the first nicknames that fit, read a page at a time, and the count kept
 * with the roster); a leaver's slice carries its `exited`.
 */
async function forwardToSlices(
  deps: FanoutDeps,
  event: EntryEvent,
  outcome: Extract<LogOutcome, { kind: 'logged' }>,
  size: RoomSize,
  options: { deadline?: number },
): Promise<DeliveryReport> {
  const publish = options.deadline === undefined ? {} : { deadline: options.deadline };
  // A redelivered event may lie behind the head: those its seq reaches may have left slices
  // that are empty now, so it goes to every slice (records already queued are dropped by SQS
  // as repeats within its 5-minute deduplication window).
  const reached = outcome.replay
    ? Array.from({ length: deps.log.sliceCount }, (_, slice) => slice)
    : [...size.slices.keys()];
  // An event's records go to different groups (one per slice), so they are queued in parallel
  // batches; the event after them waits until they all are (each slice keeps the log's order).
  const queue = (records: SliceRecord[]) =>
    Promise.all(
      Array.from({ length: Math.ceil(records.length / SLICE_RECORDS_PER_PUBLISH) }, (_, i) =>
        deps.events.publish(
          records.slice(i * SLICE_RECORDS_PER_PUBLISH, (i + 1) * SLICE_RECORDS_PER_PUBLISH),
          publish,
        ),
      ),
    );
  let queued = 0;
  for (const earlier of outcome.preceding) {
    const records = sliceRecords(earlier, reached);
    await queue(records);
    queued += records.length;
  }
  const subject = await subjectOf(deps, event, outcome, size);
  const slices = new Set(reached);
  const subjectSlice = subject ? deps.log.sliceOf(subject.connectionId) : undefined;
  if (subjectSlice !== undefined) slices.add(subjectSlice);
  const records = sliceRecords(outcome.event, [...slices], subject && { slice: subjectSlice, subject });
  await queue(records);
  queued += records.length;
  return { seq: outcome.seq, delivered: 0, gone: [], failed: 0, slices: queued };
}

function sliceRecords(
  logged: RoomLogEvent,
  slices: number[],
  special?: { slice: number | undefined; subject: NonNullable<SliceRecord['subject']> },
): SliceRecord[] {
  const payload = frame(logged);
  return slices
    .sort((a, b) => a - b)
    .map((slice) => ({
      v: ROOM_EVENT_VERSION,
      id: logged.id,
      at: logged.at,
      kind: 'slice',
      roomId: logged.roomId,
      slice,
      seq: logged.seq,
      frame: payload,
      ...(special?.slice === slice ? { subject: special.subject } : {}),
    }));
}

async function subjectOf(
  deps: FanoutDeps,
  event: EntryEvent,
  outcome: Extract<LogOutcome, { kind: 'logged' }>,
  size: RoomSize,
): Promise<SliceRecord['subject']> {
  const logged = outcome.event;
  if (event.kind === 'left' && event.reason === 'exit') {
    const exited = serverEvent({ type: 'exited', roomId: event.roomId, seq: logged.seq }, logged);
    return { connectionId: event.connectionId, frames: [frame(exited)] };
  }
  if (event.kind !== 'joined') return undefined;
  const since = event.since === undefined ? {} : { since: event.since };
  if (outcome.replay) {
    // The room may have moved on since its `joined`: the roster as it was then (read whole,
    // a redelivery being rare).
    const roster = await rosterAt(deps.log, event.roomId, outcome.seq);
    const entered = { nickname: event.nickname, memberCount: roster.length, ...since };
    const members = listedMembers(roster.map((m) => m.nickname));
    return { connectionId: event.connectionId, entered: { ...entered, members } };
  }
  const nicknames: string[] = [];
  for await (const page of deps.log.roster(event.roomId, { pageSize: 100 })) {
    nicknames.push(...page.map((m) => m.nickname));
    if (nicknames.length >= MAX_LISTED_MEMBERS) break;
  }
  return {
    connectionId: event.connectionId,
    entered: {
      nickname: event.nickname,
      members: listedMembers(nicknames),
      memberCount: size.members,
      ...since,
    },
  };
}

/**
 * One slice of a large room's event: its subject (a newcomer's `entered` and history, a
 * leaver's `exited`) and every member of the slice whose window holds the seq.
 */
async function deliverSlice(
  deps: FanoutDeps,
  record: SliceRecord,
  options: { deadline?: number },
): Promise<DeliveryReport> {
  const { roomId, slice, seq, subject } = record;
  const logged = { id: record.id, at: record.at, roomId, seq };
  const recipients = async function* (): AsyncGenerator<Recipient[]> {
    if (subject) {
      const payloads = [
        ...(subject.frames ?? []),
        ...(subject.entered ? await newcomerPayloads(deps.log, logged, subject.entered) : []),
      ];
      yield [{ connectionId: subject.connectionId, payloads }];
    }
    for await (const page of deps.log.sliceMembers(roomId, slice, seq)) {
      yield page
        .filter((m) => m.joinedSeq < seq && (m.leftSeq === undefined || seq < m.leftSeq))
        .map((m) => ({ connectionId: m.connectionId, payloads: [record.frame] }));
    }
  };
  return { seq, ...(await post(deps, recipients(), options)) };
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
        idBase === undefined ? {} : { id: enteredPageId(idBase, index) },
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
      await deps.slots?.acquire();
      try {
        if (options.deadline !== undefined && Date.now() >= options.deadline) {
          cut = true;
          return;
        }
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
      } finally {
        deps.slots?.release();
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
