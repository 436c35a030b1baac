/**
 * Large rooms delivered in slices (handleRoomEvent with `sliceSize`): the sequencer queues the
 * logged event once per slice with someone to reach and posts nothing itself; each slice
 * record reaches exactly the members of its slice whose window holds its seq, however late it
 * runs; a newcomer's `entered` and history and a leaver's `exited` go through their own slice.
 * The property at the end checks that every connection gets the same frames, in the same
 * order, as one hop would give it, whatever order the slices run in.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { ServerEvent } from '../../../functions/shared/domain/protocol';
import { entryEventId, type RoomEvent, type SliceRecord } from '../../../functions/shared/domain/room-events';
import type { Entry, NewEntry } from '../../../functions/shared/ports';
import { Semaphore } from '../../../functions/shared/runtime/concurrency';
import {
  DeliveryFailedError,
  type FanoutDeps,
  handleRoomEvent,
} from '../../../functions/shared/use-cases/deliver-room-event';
import {
  exitingEntry,
  joinedOf,
  leftOf,
  messageOf,
  newEntry,
  queuedEntry,
  registerConnection,
} from '../../support/chat-state';
import { type InMemoryChat, inMemoryChat } from '../../support/in-memory';
import { RecordingPublisher } from '../../support/recording-publisher';
import { ScriptedNotifier } from '../../support/scripted-notifier';

const ROOM = 'big';
const SLICES = 3;
const SLICE_SIZE = 2;

type Of<T extends ServerEvent['type']> = Extract<ServerEvent, { type: T }>;

describe('a room delivered in slices', () => {
  let chat: InMemoryChat;
  let events: RecordingPublisher;
  let notifier: ScriptedNotifier;
  /** How many of `events.events` have been taken as slice records so far. */
  let taken: number;
  const deps = (overrides: Partial<FanoutDeps> = {}): FanoutDeps => ({
    registry: chat.registry,
    entries: chat.entries,
    log: chat.log,
    notifier,
    events,
    concurrency: 4,
    sliceSize: SLICE_SIZE,
    ...overrides,
  });

  beforeEach(() => {
    chat = inMemoryChat({ pageSize: 2, slices: SLICES });
    events = new RecordingPublisher();
    notifier = new ScriptedNotifier();
    taken = 0;
  });

  /** The slice records queued since the last call, in the order they were queued. */
  const newSliceRecords = (): SliceRecord[] => {
    const fresh = events.events.slice(taken);
    taken = events.events.length;
    return fresh.filter((e): e is SliceRecord => e.kind === 'slice');
  };

  /** Runs the sequencer over `event`, then every slice record it queued. */
  async function deliver(event: RoomEvent, overrides: Partial<FanoutDeps> = {}) {
    const report = await handleRoomEvent(deps(overrides), event);
    const records = newSliceRecords();
    for (const record of records) await handleRoomEvent(deps(overrides), record);
    return { report, records };
  }

  /** Members joined one by one, every joined delivered (the room goes sliced past SLICE_SIZE). */
  async function roomOf(...nicknames: string[]): Promise<Entry[]> {
    const members: Entry[] = [];
    for (const nickname of nicknames) {
      const { connectionId } = await registerConnection(chat, nickname);
      const entry = await queuedEntry(chat, connectionId, ROOM, nickname);
      await deliver(joinedOf(entry));
      members.push(entry);
    }
    notifier.sends.length = 0;
    return members;
  }

  const to = (entry: { connectionId: string }) => notifier.eventsTo(entry.connectionId);
  const seqsTo = (entry: { connectionId: string }) => to(entry).flatMap((e) => ('seq' in e ? [e.seq] : []));

  it('delivers a room of at most sliceSize members in one hop, queuing nothing', async () => {
    const [mikki, aku] = await roomOf('Mikki', 'Aku');

    const { report, records } = await deliver(messageOf(mikki as Entry, 'hei'));

    expect(records).toEqual([]);
    expect(report).toMatchObject({ seq: 3, delivered: 2 });
    expect(report.slices).toBeUndefined();
    expect(seqsTo(aku as Entry)).toEqual([3]);
    await expect(chat.log.size(ROOM)).resolves.toMatchObject({ sliced: false });
  });

  it('posts nothing itself past sliceSize: one record per slice with members, the event as logged', async () => {
    const members = await roomOf('Mikki', 'Aku', 'Hessu', 'Roope', 'Iines');
    const event = messageOf(members[0] as Entry, 'hei kaikki');

    const report = await handleRoomEvent(deps(), event);

    const records = newSliceRecords();
    const slices = new Set(members.map((m) => chat.log.sliceOf(m.connectionId)));
    expect(notifier.sends).toEqual([]);
    expect(report).toMatchObject({ seq: 6, delivered: 0, slices: slices.size });
    expect(records.map((r) => r.slice).sort()).toEqual([...slices].sort());
    const [logged] = await chat.log.events(ROOM, { after: 5, limit: 1, take: 'oldest' });
    for (const record of records) {
      expect(record).toMatchObject({ kind: 'slice', roomId: ROOM, seq: 6, id: event.id, at: event.at });
      expect(JSON.parse(record.frame)).toEqual(logged?.event);
      expect(record.subject).toBeUndefined();
    }
    await expect(chat.log.size(ROOM)).resolves.toMatchObject({ members: 5, sliced: true });
  });

  it('reaches each member once, through its own slice, with the logged event', async () => {
    const members = await roomOf('Mikki', 'Aku', 'Hessu', 'Roope', 'Iines');

    const { records } = await deliver(messageOf(members[1] as Entry, 'hei'));

    for (const member of members) {
      expect(to(member)).toEqual([expect.objectContaining({ type: 'message', seq: 6, message: 'hei' })]);
      const [send] = notifier.sends.filter((s) => s.connectionId === member.connectionId);
      const through = records.filter((r) => r.frame === send?.payload);
      expect(through.map((r) => r.slice)).toContain(chat.log.sliceOf(member.connectionId));
    }
  });

  it('reaches exactly those whose window holds its seq when it runs late, whatever joined or left since', async () => {
    const [mikki, aku, hessu] = await roomOf('Mikki', 'Aku', 'Hessu');
    await handleRoomEvent(deps(), messageOf(mikki as Entry, 'before')); // seq 4, slices held back
    const late = newSliceRecords();
    // Then Aku leaves (5), Minni joins (6), Hessu leaves and comes back (7, 8): all delivered.
    await deliver(leftOf(await exitingEntry(chat, aku as Entry, 'exited')));
    const { connectionId: minniId } = await registerConnection(chat, 'Minni');
    const minni = await queuedEntry(chat, minniId, ROOM, 'Minni');
    await deliver(joinedOf(minni));
    await deliver(leftOf(await exitingEntry(chat, hessu as Entry, 'exited')));
    const again = await queuedEntry(chat, (hessu as Entry).connectionId, ROOM, 'Hessu');
    await deliver(joinedOf(again));
    notifier.sends.length = 0;

    for (const record of late) await handleRoomEvent(deps(), record);

    const gotBefore = (e: { connectionId: string }) =>
      to(e).filter((x) => x.type === 'message' && x.message === 'before').length;
    expect([mikki, aku, hessu, minni].map((m) => gotBefore(m as Entry))).toEqual([1, 1, 1, 0]);
  });

  it('sends a newcomer entered (the first names, the count) and its history through its slice; the others joined', async () => {
    const members = await roomOf('Mikki', 'Aku', 'Hessu');
    const { connectionId } = await registerConnection(chat, 'Minni');
    const minni = await queuedEntry(chat, connectionId, ROOM, 'Minni');

    const { records } = await deliver(joinedOf(minni));

    const carrying = records.filter((r) => r.subject !== undefined);
    expect(carrying).toEqual([
      expect.objectContaining({
        slice: chat.log.sliceOf(connectionId),
        subject: {
          connectionId,
          entered: { nickname: 'Minni', members: expect.any(Array), memberCount: 4 },
        },
      }),
    ]);
    const [entered, page, ...rest] = to(minni);
    expect(entered).toMatchObject({ type: 'entered', seq: 4, nickname: 'Minni', memberCount: 4 });
    expect([...(entered as Of<'entered'>).members].sort()).toEqual(['Aku', 'Hessu', 'Mikki', 'Minni']);
    expect(page).toMatchObject({ type: 'history', more: false });
    expect((page as Of<'history'>).events.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(rest).toEqual([]);
    for (const member of members) {
      expect(to(member)).toEqual([expect.objectContaining({ type: 'joined', seq: 4, nickname: 'Minni' })]);
    }
  });

  it('resumes a newcomer from since through its slice, as one hop does', async () => {
    const [mikki] = await roomOf('Mikki', 'Aku', 'Hessu');
    for (const text of ['a', 'b']) await deliver(messageOf(mikki as Entry, text));
    const { connectionId } = await registerConnection(chat, 'Back');
    const back = await queuedEntry(chat, connectionId, ROOM, 'Back');

    await deliver(joinedOf(back, { since: 3 }));

    const [entered, page] = to(back);
    expect(entered).toMatchObject({ type: 'entered', seq: 6, resumed: true });
    expect((page as Of<'history'>).events.map((e) => e.seq)).toEqual([4, 5]);
  });

  it('sends a leaver exited through its slice, and left to the others', async () => {
    const [mikki, aku, hessu] = await roomOf('Mikki', 'Aku', 'Hessu');

    const { records } = await deliver(leftOf(await exitingEntry(chat, aku as Entry, 'exited')));

    expect(records.filter((r) => r.subject).map((r) => r.slice)).toEqual([
      chat.log.sliceOf((aku as Entry).connectionId),
    ]);
    expect(to(aku as Entry)).toEqual([expect.objectContaining({ type: 'exited', seq: 4 })]);
    for (const other of [mikki, hessu]) {
      expect(to(other as Entry)).toEqual([
        expect.objectContaining({ type: 'left', seq: 4, nickname: 'Aku' }),
      ]);
    }
  });

  it('stays sliced when the room shrinks back (a direct post could overtake its slices)', async () => {
    const [mikki, aku] = await roomOf('Mikki', 'Aku', 'Hessu');
    await deliver(leftOf(await exitingEntry(chat, aku as Entry, 'exited')));

    const { report, records } = await deliver(messageOf(mikki as Entry, 'still sliced'));

    expect(report.slices).toBeGreaterThan(0);
    expect(records.length).toBeGreaterThan(0);
    await expect(chat.log.size(ROOM)).resolves.toMatchObject({ members: 2, sliced: true });
  });

  it('queues the same records again for a redelivered event (SQS drops them by id), and a redelivered slice posts the same frames', async () => {
    const [mikki, aku] = await roomOf('Mikki', 'Aku', 'Hessu');
    const event = messageOf(mikki as Entry, 'once');
    await handleRoomEvent(deps(), event);
    const first = newSliceRecords();

    await handleRoomEvent(deps(), event);
    const record = first.find(
      (r) => r.slice === chat.log.sliceOf((aku as Entry).connectionId),
    ) as SliceRecord;
    await handleRoomEvent(deps(), record);
    await handleRoomEvent(deps(), record);

    expect(events.deduplicated.filter((e) => e.kind === 'slice')).toHaveLength(first.length);
    expect(to(aku as Entry).map((e) => [e.type, 'seq' in e && e.seq, e.id])).toEqual([
      ['message', 4, event.id],
      ['message', 4, event.id],
    ]);
  });

  it("gives a redelivered joined's newcomer the entered of its seq, though it and another left since", async () => {
    const [, aku] = await roomOf('Mikki', 'Aku', 'Hessu');
    const { connectionId } = await registerConnection(chat, 'Minni');
    const minni = await queuedEntry(chat, connectionId, ROOM, 'Minni');
    const joined = joinedOf(minni);
    await deliver(joined); // seq 4
    await deliver(leftOf(await exitingEntry(chat, minni, 'exited'), 'exit')); // 5
    await deliver(leftOf(await exitingEntry(chat, aku as Entry, 'exited'), 'exit')); // 6
    notifier.sends.length = 0;
    const calls = events.calls.length;

    const report = await handleRoomEvent(deps(), joined, { redelivered: true });
    // What the sequencer queued again (SQS drops it as a repeat within 5 minutes; later, it counts).
    const carrying = events.calls
      .slice(calls)
      .flatMap((call) => call.events)
      .filter((r): r is SliceRecord => r.kind === 'slice' && r.subject !== undefined);

    expect(report.seq).toBe(4);
    expect(carrying).toEqual([
      expect.objectContaining({
        subject: {
          connectionId,
          entered: { nickname: 'Minni', members: ['Aku', 'Hessu', 'Mikki', 'Minni'], memberCount: 4 },
        },
      }),
    ]);
  });

  it('removes a connection its slice finds gone, queuing its left', async () => {
    const [mikki, aku] = await roomOf('Mikki', 'Aku', 'Hessu');
    notifier.script((aku as Entry).connectionId, 'gone');

    await deliver(messageOf(mikki as Entry, 'x'));

    expect(events.events).toContainEqual(
      expect.objectContaining({
        kind: 'left',
        reason: 'gone',
        id: entryEventId('left', (aku as Entry).entryId),
      }),
    );
    await expect(chat.registry.getConnection((aku as Entry).connectionId)).resolves.toBeUndefined();
  });

  it('fails only the slice record whose post failed', async () => {
    const members = await roomOf('Mikki', 'Aku', 'Hessu', 'Roope');
    const failing = members[1] as Entry;
    notifier.script(failing.connectionId, new Error('still 500 after retries'));
    await handleRoomEvent(deps(), messageOf(members[0] as Entry, 'x'));

    const outcomes = await Promise.all(
      newSliceRecords().map(async (record) => {
        try {
          await handleRoomEvent(deps(), record);
          return { slice: record.slice, ok: true };
        } catch (error) {
          expect(error).toBeInstanceOf(DeliveryFailedError);
          return { slice: record.slice, ok: false };
        }
      }),
    );

    expect(outcomes.filter((o) => !o.ok).map((o) => o.slice)).toEqual([
      chat.log.sliceOf(failing.connectionId),
    ]);
  });

  it("forwards a superseded entry's left to the slices before the new entry's joined", async () => {
    const [mikki, aku] = await roomOf('Mikki', 'Aku', 'Hessu');
    await exitingEntry(chat, mikki as Entry, 'exited'); // its left was parked, never logged
    const again = await queuedEntry(chat, (mikki as Entry).connectionId, ROOM, 'Mikki M');

    await deliver(joinedOf(again));

    expect(to(aku as Entry)).toEqual([
      expect.objectContaining({ type: 'left', seq: 4, nickname: 'Mikki' }),
      expect.objectContaining({ type: 'joined', seq: 5, nickname: 'Mikki M' }),
    ]);
  });

  it('shares one bound on posts in flight between slice records that run at once', async () => {
    const members = await roomOf('m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9');
    notifier = new ScriptedNotifier({ latencyMs: 5 });
    await handleRoomEvent(deps(), messageOf(members[0] as Entry, 'x'));
    const slots = new Semaphore(2);

    await Promise.all(newSliceRecords().map((r) => handleRoomEvent(deps({ slots, notifier }), r)));

    expect(notifier.sends).toHaveLength(9);
    expect(notifier.maxInFlight).toBe(2);
  });
});

describe('slices against one hop', () => {
  const ops = fc.array(
    fc.oneof(
      fc.record({ kind: fc.constant('enter' as const), who: fc.nat(4) }),
      fc.record({ kind: fc.constant('send' as const), who: fc.nat(4) }),
      fc.record({ kind: fc.constant('exit' as const), who: fc.nat(4) }),
      fc.record({ kind: fc.constant('run' as const), picks: fc.array(fc.nat(20), { maxLength: 6 }) }),
    ),
    { minLength: 4, maxLength: 30 },
  );

  /** A world: its ports, what its notifier got, and (sliced) the slice records not yet run. */
  function world(sliceSize: number | undefined) {
    const chat = inMemoryChat({ pageSize: 2, slices: SLICES });
    const events = new RecordingPublisher();
    const notifier = new ScriptedNotifier();
    const deps: FanoutDeps = {
      registry: chat.registry,
      entries: chat.entries,
      log: chat.log,
      notifier,
      events,
      concurrency: 3,
      ...(sliceSize === undefined ? {} : { sliceSize }),
    };
    const pending = new Map<number, SliceRecord[]>();
    let taken = 0;
    return {
      chat,
      notifier,
      async handle(event: RoomEvent) {
        await handleRoomEvent(deps, event);
        for (const e of events.events.slice(taken)) {
          if (e.kind === 'slice') pending.set(e.slice, [...(pending.get(e.slice) ?? []), e]);
        }
        taken = events.events.length;
      },
      /** Runs the head record of the slices `picks` names (each slice's records in order). */
      async run(picks: number[]) {
        for (const pick of picks) {
          const slices = [...pending.keys()].filter((s) => (pending.get(s)?.length ?? 0) > 0);
          const slice = slices[pick % Math.max(1, slices.length)];
          const record = slice === undefined ? undefined : pending.get(slice)?.shift();
          if (record) await handleRoomEvent(deps, record);
        }
      },
      async drain() {
        while ([...pending.values()].some((q) => q.length > 0)) await this.run([0]);
      },
    };
  }

  /** What a connection saw, as comparable lines (ids, seqs, lists of names and history). */
  const seen = (notifier: ScriptedNotifier, connectionId: string) =>
    notifier.eventsTo(connectionId).map((e) => {
      if (e.type === 'history') return `history ${e.events.map((x) => x.seq).join(',')} more=${e.more}`;
      if (e.type === 'entered') return `entered ${e.seq} ${[...e.members].sort().join(',')} ${e.memberCount}`;
      return `${e.type} ${'seq' in e ? e.seq : ''} ${e.id}`;
    });

  it('gives every connection the same frames in the same order, whatever order the slices run in', async () => {
    await fc.assert(
      fc.asyncProperty(ops, async (script) => {
        const oneHop = world(undefined);
        const sliced = world(1);
        const worlds = [oneHop, sliced];
        const ids = Array.from({ length: 5 }, (_, i) => `c${i}-${randomUUID().slice(0, 8)}=`);
        for (const connectionId of ids) {
          for (const w of worlds) {
            await w.chat.registry.putConnection({
              connectionId,
              role: 'user',
              principalId: 'user',
              connectedAt: 1,
            });
          }
        }
        const current = new Map<number, NewEntry>();
        let texts = 0;
        for (const op of script) {
          if (op.kind === 'run') {
            await sliced.run(op.picks);
            continue;
          }
          const connectionId = ids[op.who] as string;
          const entry = current.get(op.who);
          if (op.kind === 'enter' && !entry) {
            const fresh = newEntry(connectionId, ROOM, `c${op.who}`);
            for (const w of worlds) {
              await w.chat.entries.reserve(fresh);
              await w.chat.entries.markQueued(fresh);
            }
            current.set(op.who, fresh);
            const joined = joinedOf(fresh);
            for (const w of worlds) await w.handle(joined);
          } else if (op.kind === 'send' && entry) {
            const message = messageOf(entry, `t${++texts}`);
            for (const w of worlds) await w.handle(message);
          } else if (op.kind === 'exit' && entry) {
            for (const w of worlds) {
              const now = await w.chat.entries.get(connectionId, ROOM);
              await exitingEntry(w.chat, now as Entry, 'exited');
            }
            current.delete(op.who);
            const left = leftOf(entry);
            for (const w of worlds) await w.handle(left);
          }
        }
        await sliced.drain();
        for (const connectionId of ids) {
          expect(seen(sliced.notifier, connectionId)).toEqual(seen(oneHop.notifier, connectionId));
        }
      }),
      { numRuns: 60 },
    );
  });
});
