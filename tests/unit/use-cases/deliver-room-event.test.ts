/**
 * The fanout's delivery (handleRoomEvent): who hears what at each event's seq, what a newcomer
 * gets (entered, then the latest page or what it missed), dropped events, broadcast shards,
 * gone connections, failures and the invocation's deadline.
 */
import { shardOf } from '../../../functions/shared/adapters/dynamodb/table-layout';
import type { RoomLogEvent, ServerEvent } from '../../../functions/shared/domain/protocol';
import { entryEventId, type RoomEvent } from '../../../functions/shared/domain/room-events';
import { HISTORY_DEFAULT_LIMIT, MAX_EVENT_BYTES, utf8Bytes } from '../../../functions/shared/domain/rules';
import type { Entry } from '../../../functions/shared/ports';
import {
  DeadlineReachedError,
  DeliveryFailedError,
  type FanoutDeps,
  handleRoomEvent,
  MAX_RESUME_EVENTS,
} from '../../../functions/shared/use-cases/deliver-room-event';
import { logRoomEvent } from '../../../functions/shared/use-cases/log-room-event';
import {
  exitingEntry,
  joinedOf,
  leftOf,
  loggedMessages,
  memberOfRoom,
  messageOf,
  newEntry,
  nicknamesIn,
  queuedEntry,
  registerConnection,
} from '../../support/chat-state';
import { type InMemoryChat, inMemoryChat } from '../../support/in-memory';
import { RecordingPublisher } from '../../support/recording-publisher';
import { ScriptedNotifier } from '../../support/scripted-notifier';
import { roomEventFixture } from '../../support/sqs-events';

const ROOM = '1';
const DAY = 24 * 60 * 60 * 1000;

type Of<T extends ServerEvent['type']> = Extract<ServerEvent, { type: T }>;

describe('handleRoomEvent', () => {
  let now: Date;
  let chat: InMemoryChat;
  let events: RecordingPublisher;
  let notifier: ScriptedNotifier;
  const deps = (overrides: Partial<FanoutDeps> = {}): FanoutDeps => ({
    registry: chat.registry,
    entries: chat.entries,
    log: chat.log,
    notifier,
    events,
    concurrency: 8,
    ...overrides,
  });

  beforeEach(() => {
    now = new Date('2030-01-01T12:00:00.000Z');
    chat = inMemoryChat({ now: () => now, pageSize: 2, retentionDays: 7 });
    events = new RecordingPublisher();
    notifier = new ScriptedNotifier();
  });

  afterEach(() => jest.restoreAllMocks());

  /** Mikki, Aku, Hessu and Roope in room 1 (seq 1-4: their joined). */
  async function roomOfFour() {
    const [mikki, aku, hessu, roope] = [
      await memberOfRoom(chat, 'Mikki', ROOM),
      await memberOfRoom(chat, 'Aku', ROOM),
      await memberOfRoom(chat, 'Hessu', ROOM),
      await memberOfRoom(chat, 'Roope', ROOM),
    ];
    return { mikki, aku, hessu, roope, all: [mikki, aku, hessu, roope] };
  }

  /** A connection whose entry into the room is queued (its joined is what the fanout handles next). */
  async function newcomer(nickname = 'Minni', roomId = ROOM): Promise<Entry> {
    const { connectionId } = await registerConnection(chat, nickname);
    return queuedEntry(chat, connectionId, roomId, nickname);
  }

  const to = (entry: { connectionId: string }) => notifier.eventsTo(entry.connectionId);
  const only = (entry: { connectionId: string }): ServerEvent => {
    const sent = to(entry);
    expect(sent).toHaveLength(1);
    return sent[0] as ServerEvent;
  };
  const historyTo = (entry: { connectionId: string }) =>
    to(entry).filter((e): e is Of<'history'> => e.type === 'history');
  const historySeqs = (entry: { connectionId: string }) =>
    historyTo(entry).flatMap((page) => page.events.map((e) => e.seq));

  describe('a joined', () => {
    it("sends the newcomer entered with its seq, nickname, the members' nicknames (its own too) and their count", async () => {
      await roomOfFour();
      const minni = await newcomer();
      const joined = joinedOf(minni);

      await handleRoomEvent(deps(), joined);

      const [entered] = to(minni);
      expect(entered).toEqual({
        type: 'entered',
        roomId: ROOM,
        seq: 5,
        nickname: 'Minni',
        members: expect.any(Array),
        memberCount: 5,
        id: joined.id,
        at: joined.at,
      });
      expect([...(entered as Of<'entered'>).members].sort()).toEqual([
        'Aku',
        'Hessu',
        'Mikki',
        'Minni',
        'Roope',
      ]);
    });

    it('sends every other member joined, with the same id and seq', async () => {
      const { all } = await roomOfFour();
      const minni = await newcomer();
      const joined = joinedOf(minni);

      const report = await handleRoomEvent(deps(), joined);

      for (const member of all) {
        expect(only(member)).toEqual({
          type: 'joined',
          roomId: ROOM,
          seq: 5,
          nickname: 'Minni',
          id: joined.id,
          at: joined.at,
        });
      }
      expect(report).toEqual({ seq: 5, delivered: 6, gone: [], failed: 0 });
    });

    it('follows entered with the latest page of the log, ending just before the joined', async () => {
      const { mikki } = await roomOfFour();
      await loggedMessages(chat, mikki, 'a', 'b');
      const minni = await newcomer();

      await handleRoomEvent(deps(), joinedOf(minni));

      expect(to(minni).map((e) => e.type)).toEqual(['entered', 'history']);
      expect(historyTo(minni)).toEqual([
        expect.objectContaining({ type: 'history', roomId: ROOM, more: false }),
      ]);
      expect(historySeqs(minni)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(historyTo(minni)[0]?.events[5]).toMatchObject({ type: 'message', message: 'b', from: 'Mikki' });
    });

    it('sends the first member of a room entered and one empty history page', async () => {
      const minni = await newcomer();

      await handleRoomEvent(deps(), joinedOf(minni));

      expect(to(minni)).toEqual([
        expect.objectContaining({ type: 'entered', seq: 1, members: ['Minni'], memberCount: 1 }),
        expect.objectContaining({ type: 'history', events: [], more: false }),
      ]);
    });

    it(`sends the newest ${HISTORY_DEFAULT_LIMIT} events and more: true when older ones are retained`, async () => {
      const mikki = await memberOfRoom(chat, 'Mikki', ROOM);
      await loggedMessages(chat, mikki, ...Array.from({ length: 60 }, (_, i) => `m${i}`));
      const minni = await newcomer();

      await handleRoomEvent(deps(), joinedOf(minni));

      const seqs = historySeqs(minni);
      expect(seqs).toHaveLength(HISTORY_DEFAULT_LIMIT);
      expect(seqs.at(-1)).toBe(61);
      expect(historyTo(minni)[0]?.more).toBe(true);
    });

    it('splits the latest page into history events that each fit one frame', async () => {
      const mikki = await memberOfRoom(chat, 'Mikki', ROOM);
      await loggedMessages(chat, mikki, ...Array.from({ length: 20 }, (_, i) => `${i}${'ä'.repeat(2040)}`));
      const minni = await newcomer();

      await handleRoomEvent(deps(), joinedOf(minni));

      const pages = notifier.sends.filter((s) => s.connectionId === minni.connectionId).slice(1);
      expect(pages.length).toBeGreaterThan(1);
      for (const page of pages) expect(utf8Bytes(page.payload)).toBeLessThanOrEqual(MAX_EVENT_BYTES);
      expect(historySeqs(minni)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
      expect(historyTo(minni).map((p) => p.more)).toEqual([false, ...Array(pages.length - 1).fill(true)]);
    });

    it('lists as many nicknames as fit one frame in entered, but counts every member', async () => {
      for (let i = 0; i < 400; i++)
        await memberOfRoom(chat, `${'山'.repeat(28)}${String(i).padStart(4, '0')}`, ROOM);
      const minni = await newcomer();

      await handleRoomEvent(deps(), joinedOf(minni));

      const [payload] = notifier.sends.filter((s) => s.connectionId === minni.connectionId);
      const entered = JSON.parse(payload?.payload ?? '{}') as Of<'entered'>;
      expect(entered.memberCount).toBe(401);
      expect(entered.members.length).toBeLessThan(401);
      expect(utf8Bytes(payload?.payload ?? '')).toBeLessThanOrEqual(MAX_EVENT_BYTES);
    });

    it('repeats the ids of entered and its history when the record is delivered again', async () => {
      await roomOfFour();
      const minni = await newcomer();
      const joined = joinedOf(minni);
      await handleRoomEvent(deps(), joined);
      const first = to(minni).map((e) => e.id);

      const report = await handleRoomEvent(deps(), joined);

      expect(report.seq).toBe(5);
      expect(
        to(minni)
          .slice(first.length)
          .map((e) => e.id),
      ).toEqual(first);
    });
  });

  describe('a joined that resumes (since)', () => {
    /** Mikki joined at 1, messages 2-9; the newcomer's joined will be seq 10. */
    async function nineEvents() {
      const mikki = await memberOfRoom(chat, 'Mikki', ROOM);
      await loggedMessages(chat, mikki, ...Array.from({ length: 8 }, (_, i) => `m${i + 2}`));
      return mikki;
    }

    it('sends every event the client missed after since, and resumed: true', async () => {
      await nineEvents();
      const minni = await newcomer();

      await handleRoomEvent(deps(), joinedOf(minni, { since: 4 }));

      expect(to(minni)[0]).toMatchObject({ type: 'entered', seq: 10, resumed: true });
      expect(historySeqs(minni)).toEqual([5, 6, 7, 8, 9]);
      expect(historyTo(minni)[0]?.more).toBe(true);
    });

    it('resumes from since 0 with the whole log, and nothing older', async () => {
      await nineEvents();
      const minni = await newcomer();

      await handleRoomEvent(deps(), joinedOf(minni, { since: 0 }));

      expect(to(minni)[0]).toMatchObject({ resumed: true });
      expect(historySeqs(minni)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(historyTo(minni)[0]?.more).toBe(false);
    });

    it('resumes with an empty history when the client missed nothing', async () => {
      await nineEvents();
      const minni = await newcomer();

      await handleRoomEvent(deps(), joinedOf(minni, { since: 9 }));

      expect(to(minni)).toEqual([
        expect.objectContaining({ type: 'entered', seq: 10, resumed: true }),
        expect.objectContaining({ type: 'history', events: [] }),
      ]);
    });

    it('sends the latest page and resumed: false when some missed events are no longer retained', async () => {
      await nineEvents();
      now = new Date(now.getTime() + 6 * DAY);
      const aku = await memberOfRoom(chat, 'Aku', ROOM);
      await loggedMessages(chat, aku, 'kept');
      now = new Date(now.getTime() + 2 * DAY);
      const minni = await newcomer();

      await handleRoomEvent(deps(), joinedOf(minni, { since: 2 }));

      expect(to(minni)[0]).toMatchObject({ type: 'entered', seq: 12, resumed: false });
      expect(historySeqs(minni)).toEqual([10, 11]);
    });

    it(`sends the latest page and resumed: false when more than ${MAX_RESUME_EVENTS} events were missed`, async () => {
      const mikki = await memberOfRoom(chat, 'Mikki', ROOM);
      await loggedMessages(chat, mikki, ...Array.from({ length: MAX_RESUME_EVENTS + 1 }, (_, i) => `m${i}`));
      const minni = await newcomer();

      await handleRoomEvent(deps(), joinedOf(minni, { since: 1 }));

      expect(to(minni)[0]).toMatchObject({ type: 'entered', seq: MAX_RESUME_EVENTS + 3, resumed: false });
      expect(historySeqs(minni)).toHaveLength(HISTORY_DEFAULT_LIMIT);
      expect(historySeqs(minni).at(-1)).toBe(MAX_RESUME_EVENTS + 2);
    });

    it('sends the latest page and resumed: false when since is at or beyond the head', async () => {
      await nineEvents();
      const minni = await newcomer();

      await handleRoomEvent(deps(), joinedOf(minni, { since: 42 }));

      expect(to(minni)[0]).toMatchObject({ type: 'entered', seq: 10, resumed: false });
      expect(historySeqs(minni)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    });

    it('leaves neither a gap nor an overlap between what it missed, its joined and the live events', async () => {
      const mikki = await nineEvents();
      const minni = await newcomer();

      await handleRoomEvent(deps(), joinedOf(minni, { since: 3 }));
      await handleRoomEvent(deps(), messageOf(mikki, 'live'));

      const seen = [...historySeqs(minni), ...to(minni).flatMap((e) => ('seq' in e ? [e.seq] : []))];
      expect(seen.sort((a, b) => a - b)).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
    });
  });

  describe('a message', () => {
    it('sends the message with its seq, sender and sender id to every member, the sender too', async () => {
      const { mikki, all } = await roomOfFour();
      const message = messageOf(mikki, 'Hei kaikki!');

      const report = await handleRoomEvent(deps(), message);

      for (const member of all) {
        expect(only(member)).toEqual<RoomLogEvent>({
          type: 'message',
          roomId: ROOM,
          seq: 5,
          from: 'Mikki',
          fromId: mikki.fromId,
          message: 'Hei kaikki!',
          id: message.id,
          at: message.at,
        });
      }
      expect(report).toEqual({ seq: 5, delivered: 4, gone: [], failed: 0 });
    });

    it('reaches members on every page of a large room', async () => {
      const members: Entry[] = [];
      for (let i = 0; i < 9; i++) members.push(await memberOfRoom(chat, `m${i}`, ROOM));

      await handleRoomEvent(deps(), messageOf(members[0] as Entry));

      expect(notifier.recipients().sort()).toEqual(members.map((m) => m.connectionId).sort());
    });

    it('posts a redelivered message again with the same id and seq (clients drop repeats by id)', async () => {
      const { mikki, aku } = await roomOfFour();
      const message = messageOf(mikki);
      await handleRoomEvent(deps(), message);

      await handleRoomEvent(deps(), message);

      expect(to(aku)).toEqual([to(aku)[0], to(aku)[0]]);
    });
  });

  describe('a redelivered event behind the head (the rest of its crashed batch was logged after it)', () => {
    /**
     * Minni joins (5), Aku writes (6), Minni exits (7), Hessu exits (8), Iines joins (9); then
     * the records of 5 and 6 come back from a batch that crashed after logging them all.
     */
    async function roomThatMovedOn() {
      const four = await roomOfFour();
      const minni = await newcomer();
      const joined = joinedOf(minni);
      await handleRoomEvent(deps(), joined);
      const message = messageOf(four.aku, 'hei');
      await handleRoomEvent(deps(), message);
      const minniLeft = leftOf(await exitingEntry(chat, minni, 'exited'), 'exit');
      await handleRoomEvent(deps(), minniLeft);
      await exitingEntry(chat, four.hessu, 'exited');
      await handleRoomEvent(deps(), leftOf(four.hessu, 'exit'));
      const iines = await newcomer('Iines');
      await handleRoomEvent(deps(), joinedOf(iines));
      notifier.sends.length = 0;
      return { ...four, minni, iines, joined, message, minniLeft };
    }

    it("sends the newcomer the entered of its seq: the roster at its joined, not today's", async () => {
      const { minni, joined, mikki, aku, hessu, roope, iines } = await roomThatMovedOn();

      const report = await handleRoomEvent(deps(), joined, { redelivered: true });

      const entered = to(minni)[0] as Of<'entered'>;
      expect(entered).toMatchObject({ type: 'entered', seq: 5, memberCount: 5, id: joined.id });
      expect([...entered.members].sort()).toEqual(['Aku', 'Hessu', 'Mikki', 'Minni', 'Roope']);
      expect(historySeqs(minni)).toEqual([1, 2, 3, 4]);
      for (const other of [mikki, aku, hessu, roope])
        expect(only(other)).toMatchObject({ type: 'joined', seq: 5 });
      expect(to(iines)).toEqual([]);
      expect(report.seq).toBe(5);
    });

    it('reads what came after it from the log, not from a head another sandbox left behind in its cache', async () => {
      const four = await roomOfFour();
      const message = messageOf(four.aku, 'hei');
      await handleRoomEvent(deps(), message);
      const stale = chat.anotherLog();
      await stale.head(ROOM); // this sandbox last saw the room at the message
      await handleRoomEvent(deps(), leftOf(await exitingEntry(chat, four.hessu, 'exited'), 'exit'));
      notifier.sends.length = 0;

      await handleRoomEvent(deps({ log: stale }), message, { redelivered: true });

      for (const member of four.all) expect(only(member)).toMatchObject({ type: 'message', seq: 5 });
    });

    it('sends a redelivered left exited to its leaver and left to the room at its seq, not to those that came since', async () => {
      const { minni, mikki, aku, hessu, roope, iines, minniLeft: left } = await roomThatMovedOn();

      await handleRoomEvent(deps(), left, { redelivered: true });

      expect(only(minni)).toMatchObject({ type: 'exited', seq: 7, id: left.id });
      for (const member of [mikki, aku, hessu, roope]) {
        expect(only(member)).toMatchObject({ type: 'left', seq: 7, nickname: 'Minni' });
      }
      expect(to(iines)).toEqual([]);
    });

    it('posts a message to those in the room at its seq: those that left since too, not those that came since', async () => {
      const { minni, message, mikki, aku, hessu, roope, iines } = await roomThatMovedOn();

      await handleRoomEvent(deps(), message, { redelivered: true });

      for (const member of [mikki, aku, hessu, roope, minni]) {
        expect(only(member)).toMatchObject({ type: 'message', seq: 6, id: message.id, message: 'hei' });
      }
      expect(to(iines)).toEqual([]);
    });
  });

  describe('a left', () => {
    it('sends exited with its seq to the member who exited, and left to those remaining', async () => {
      const { hessu, mikki, aku, roope } = await roomOfFour();
      await exitingEntry(chat, hessu, 'exited');
      const left = leftOf(hessu, 'exit');

      await handleRoomEvent(deps(), left);

      expect(only(hessu)).toEqual({ type: 'exited', roomId: ROOM, seq: 5, id: left.id, at: left.at });
      for (const other of [mikki, aku, roope]) {
        expect(only(other)).toEqual({
          type: 'left',
          roomId: ROOM,
          seq: 5,
          nickname: 'Hessu',
          reason: 'exit',
          id: left.id,
          at: left.at,
        });
      }
    });

    it.each(['disconnect', 'gone'] as const)(
      'tells only those remaining when the leaver is %s',
      async (reason) => {
        const { aku, mikki, hessu, roope } = await roomOfFour();
        await exitingEntry(chat, aku, 'exited');

        await handleRoomEvent(deps(), leftOf(aku, reason));

        expect(notifier.recipients().sort()).toEqual([mikki, hessu, roope].map((m) => m.connectionId).sort());
        expect(only(mikki)).toMatchObject({ type: 'left', nickname: 'Aku', reason });
      },
    );

    it("frees the leaver's nickname and takes it off the roster", async () => {
      const { hessu } = await roomOfFour();
      await exitingEntry(chat, hessu, 'exited');

      await handleRoomEvent(deps(), leftOf(hessu));

      await expect(nicknamesIn(chat.log, ROOM)).resolves.toEqual(['Aku', 'Mikki', 'Roope']);
      const { connectionId } = await registerConnection(chat, 'next');
      await expect(chat.entries.reserve(newEntry(connectionId, ROOM, 'hessu'))).resolves.toBeUndefined();
    });
  });

  describe('dropped events', () => {
    it('tells the sender its dropped message was not delivered, with an id stable across redeliveries', async () => {
      const { mikki, aku } = await roomOfFour();
      await exitingEntry(chat, mikki, 'exited');
      await handleRoomEvent(deps(), leftOf(mikki));
      const late = messageOf(mikki, 'too late');

      const report = await handleRoomEvent(deps(), late);
      await handleRoomEvent(deps(), late);

      expect(report).toEqual({ dropped: 'not-current', delivered: 0, gone: [], failed: 0 });
      const notices = to(mikki).filter((e) => e.type === 'error');
      expect(notices).toEqual([
        expect.objectContaining({ type: 'error', code: 'not_in_room', action: 'sendmessage' }),
        expect.objectContaining({ id: notices[0]?.id }),
      ]);
      expect(notices[0]?.id).not.toBe(late.id);
      expect(to(aku).map((e) => e.type)).toEqual(['left']);
    });

    it('cleans up the entry and nickname of a dropped left (its joined never reached the log)', async () => {
      const minni = await newcomer();
      await exitingEntry(chat, minni, 'exited');

      const report = await handleRoomEvent(deps(), leftOf(minni));

      expect(report.dropped).toBe('not-current');
      await expect(chat.entries.get(minni.connectionId, ROOM)).resolves.toBeUndefined();
      const { connectionId } = await registerConnection(chat, 'next');
      await expect(chat.entries.reserve(newEntry(connectionId, ROOM, 'Minni'))).resolves.toBeUndefined();
      expect(notifier.sends).toEqual([]);
    });

    it("frees a dropped left's nickname even after the connection entered again under another name", async () => {
      const minni = await newcomer(); // its joined was parked, never logged
      await exitingEntry(chat, minni, 'exited');
      const again = await queuedEntry(chat, minni.connectionId, ROOM, 'Minni M');

      await handleRoomEvent(deps(), leftOf(minni));

      await expect(chat.entries.get(minni.connectionId, ROOM)).resolves.toMatchObject({
        entryId: again.entryId,
      });
      const { connectionId } = await registerConnection(chat, 'next');
      await expect(chat.entries.reserve(newEntry(connectionId, ROOM, 'Minni'))).resolves.toBeUndefined();
    });

    it('leaves the entry of a left dropped because its exit was taken back', async () => {
      const { mikki } = await roomOfFour();
      await chat.entries.undoExit(await chat.entries.beginExit(mikki));

      const report = await handleRoomEvent(deps(), leftOf(mikki));

      expect(report.dropped).toBe('undone');
      await expect(chat.entries.get(mikki.connectionId, ROOM)).resolves.toMatchObject({ state: 'active' });
      expect(notifier.sends).toEqual([]);
    });

    it('sends nothing for a joined whose entry was taken back', async () => {
      await roomOfFour();
      const { connectionId } = await registerConnection(chat, 'minni');
      const entry = newEntry(connectionId, ROOM, 'Minni');
      await chat.entries.reserve(entry);
      await chat.entries.cancel(entry);

      const report = await handleRoomEvent(deps(), joinedOf(entry));

      expect(report).toEqual({ dropped: 'undone', delivered: 0, gone: [], failed: 0 });
      expect(notifier.sends).toEqual([]);
    });
  });

  it("delivers a superseded entry's left to the room before the new entry's joined", async () => {
    const { mikki, aku } = await roomOfFour();
    await exitingEntry(chat, mikki, 'exited'); // its left was parked, never logged
    const again = await queuedEntry(chat, mikki.connectionId, ROOM, 'Mikki M');

    const report = await handleRoomEvent(deps(), joinedOf(again));

    expect(to(mikki)[0]).toMatchObject({ type: 'exited', seq: 5, id: entryEventId('left', mikki.entryId) });
    expect(to(aku)).toEqual([
      expect.objectContaining({
        type: 'left',
        seq: 5,
        nickname: 'Mikki',
        id: entryEventId('left', mikki.entryId),
      }),
      expect.objectContaining({ type: 'joined', seq: 6, nickname: 'Mikki M' }),
    ]);
    expect(report.seq).toBe(6);
  });

  it.each([
    ['after both were logged (the joined is a repeat)', 'both'],
    ['between the two appends (the joined is logged now)', 'left only'],
  ] as const)(
    "posts a superseded entry's left again before its joined when the invocation that logged it died %s",
    async (_when, logged) => {
      const { mikki, aku } = await roomOfFour();
      await exitingEntry(chat, mikki, 'exited'); // its left was parked, never logged
      const again = await queuedEntry(chat, mikki.connectionId, ROOM, 'Mikki M');
      const joined = joinedOf(again);
      if (logged === 'both') await logRoomEvent(chat, joined);
      else {
        // The invocation logged the superseded left, then died before appending the joined.
        const failingOnce = chat.anotherLog();
        const append = failingOnce.append.bind(failingOnce);
        let appends = 0;
        failingOnce.append = async (...args) => {
          if (++appends === 2) throw new Error('sandbox killed');
          return append(...args);
        };
        await expect(logRoomEvent({ entries: chat.entries, log: failingOnce }, joined)).rejects.toThrow(
          'killed',
        );
      }

      await handleRoomEvent(deps(), joined, { redelivered: true });

      expect(to(mikki)[0]).toMatchObject({ type: 'exited', seq: 5, id: entryEventId('left', mikki.entryId) });
      expect(to(aku)).toEqual([
        expect.objectContaining({
          type: 'left',
          seq: 5,
          nickname: 'Mikki',
          id: entryEventId('left', mikki.entryId),
        }),
        expect.objectContaining({ type: 'joined', seq: 6, nickname: 'Mikki M' }),
      ]);
    },
  );

  it("repeats a connection's own exit as the exited it got, not as left, before a redelivered joined of its next entry", async () => {
    const { mikki, aku } = await roomOfFour();
    const left = leftOf(await exitingEntry(chat, mikki, 'exited'), 'exit');
    await handleRoomEvent(deps(), left); // seq 5
    const joined = joinedOf(await queuedEntry(chat, mikki.connectionId, ROOM, 'Mikki M'));
    await handleRoomEvent(deps(), joined); // seq 6
    const exited = to(mikki).find((e) => e.id === left.id);
    notifier.sends.length = 0;

    await handleRoomEvent(deps(), joined, { redelivered: true });

    expect(exited).toMatchObject({ type: 'exited', seq: 5 });
    expect(to(mikki).filter((e) => e.id === left.id)).toEqual([exited]);
    expect(to(aku)[0]).toMatchObject({ type: 'left', seq: 5, id: left.id });
  });

  describe('a broadcast', () => {
    it('splits the record into one record per shard, with its id, and posts nothing itself', async () => {
      await roomOfFour();
      const event = roomEventFixture({ kind: 'broadcast', from: 'admin', message: 'Huoltokatko klo 18' });

      const report = await handleRoomEvent(deps(), event);

      expect(report).toEqual({ delivered: 0, gone: [], failed: 0 });
      expect(notifier.sends).toEqual([]);
      expect(events.calls).toHaveLength(1);
      expect(events.events).toEqual(
        Array.from({ length: chat.registry.shards }, (_, shard) => ({ ...event, shard })),
      );
    });

    it("posts a shard's record to every connection of that shard, in a room or not", async () => {
      const { all } = await roomOfFour();
      const lobby = await registerConnection(chat, 'lobby');
      const shard = shardOf(lobby.connectionId);
      const event = {
        ...roomEventFixture({ kind: 'broadcast', from: 'admin', message: 'x' }),
        shard,
      } as RoomEvent;

      const report = await handleRoomEvent(deps(), event);

      const inShard = [lobby.connectionId, ...all.map((m) => m.connectionId)].filter(
        (id) => shardOf(id) === shard,
      );
      expect(notifier.recipients().sort()).toEqual(inShard.sort());
      expect(only(lobby)).toEqual({
        type: 'broadcast',
        from: 'admin',
        message: 'x',
        id: event.id,
        at: event.at,
      });
      expect(report.delivered).toBe(inShard.length);
    });
  });

  describe('gone connections', () => {
    it('removes a connection that answered 410 and queues a left (reason gone) for each of its entries', async () => {
      const { mikki, aku } = await roomOfFour();
      const akuElsewhere = await queuedEntry(chat, aku.connectionId, '2', 'Aku');
      notifier.script(aku.connectionId, 'gone');

      const report = await handleRoomEvent(deps(), messageOf(mikki));

      expect(report).toEqual({ seq: 5, delivered: 3, gone: [aku.connectionId], failed: 0 });
      await expect(chat.registry.getConnection(aku.connectionId)).resolves.toBeUndefined();
      expect(events.ofKind('left')).toEqual([
        expect.objectContaining({ id: entryEventId('left', aku.entryId), roomId: ROOM, reason: 'gone' }),
        expect.objectContaining({
          id: entryEventId('left', akuElsewhere.entryId),
          roomId: '2',
          reason: 'gone',
        }),
      ]);
    });

    it('prunes the stale recipient, never the sender', async () => {
      const { mikki, roope } = await roomOfFour();
      notifier.script(roope.connectionId, 'gone');

      await handleRoomEvent(deps(), messageOf(mikki));

      await expect(chat.registry.getConnection(mikki.connectionId)).resolves.toBeDefined();
      await expect(chat.registry.getConnection(roope.connectionId)).resolves.toBeUndefined();
    });

    it('fails when a gone connection cannot be cleaned up, so the record comes back', async () => {
      const { mikki, roope } = await roomOfFour();
      notifier.script(roope.connectionId, 'gone');
      events.refuseNext();

      await expect(handleRoomEvent(deps(), messageOf(mikki))).rejects.toThrow(/refused/);
      await expect(chat.entries.get(roope.connectionId, ROOM)).resolves.toMatchObject({ state: 'leaving' });
    });
  });

  describe('failed posts', () => {
    it('posts to everyone it can, then throws DeliveryFailedError with the counts and the first cause', async () => {
      const { mikki, aku, all } = await roomOfFour();
      const cause = Object.assign(new Error('500 after retries'), { $metadata: { httpStatusCode: 500 } });
      notifier.script(aku.connectionId, cause);

      const error = await handleRoomEvent(deps(), messageOf(mikki)).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(DeliveryFailedError);
      expect((error as DeliveryFailedError).report).toEqual({ delivered: 3, gone: [], failed: 1 });
      expect((error as DeliveryFailedError).cause).toBe(cause);
      expect(notifier.recipients().sort()).toEqual(all.map((m) => m.connectionId).sort());
    });

    it('still prunes gone connections when another recipient failed', async () => {
      const { mikki, aku, hessu } = await roomOfFour();
      notifier.script(aku.connectionId, new Error('500'));
      notifier.script(hessu.connectionId, 'gone');

      await expect(handleRoomEvent(deps(), messageOf(mikki))).rejects.toBeInstanceOf(DeliveryFailedError);

      await expect(chat.registry.getConnection(hessu.connectionId)).resolves.toBeUndefined();
      expect(events.ofKind('left').map((e) => e.nickname)).toEqual(['Hessu']);
    });
  });

  describe('the deadline', () => {
    it('starts no post once the deadline has passed, and throws DeadlineReachedError', async () => {
      const { mikki } = await roomOfFour();

      const error = await handleRoomEvent(deps(), messageOf(mikki), { deadline: Date.now() - 1 }).catch(
        (e: unknown) => e,
      );

      expect(error).toBeInstanceOf(DeadlineReachedError);
      expect(notifier.sends).toEqual([]);
    });

    it('posts nothing after the deadline passes mid-delivery', async () => {
      const { mikki } = await roomOfFour();
      let clock = 1_000;
      jest.spyOn(Date, 'now').mockImplementation(() => clock);
      notifier.onSend = () => {
        clock = 2_000;
      };

      const error = await handleRoomEvent(deps({ concurrency: 1 }), messageOf(mikki), {
        deadline: 1_500,
      }).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(DeadlineReachedError);
      expect((error as DeadlineReachedError).report).toMatchObject({ delivered: 1 });
      expect(notifier.sends).toHaveLength(1);
    });

    it('gives the notifier the deadline for its retries', async () => {
      const { mikki } = await roomOfFour();
      const deadline = Date.now() + 60_000;

      await handleRoomEvent(deps(), messageOf(mikki), { deadline });

      expect(notifier.sends.map((s) => s.deadline)).toEqual([deadline, deadline, deadline, deadline]);
    });
  });

  it('never has more posts in flight than the bound, and uses the bound', async () => {
    chat = inMemoryChat({ pageSize: 100 });
    notifier = new ScriptedNotifier({ latencyMs: 5 });
    const members: Entry[] = [];
    for (let i = 0; i < 30; i++) members.push(await memberOfRoom(chat, `m${i}`, 'busy'));

    await handleRoomEvent(deps({ concurrency: 4 }), messageOf(members[0] as Entry));

    expect(notifier.sends).toHaveLength(30);
    expect(notifier.maxInFlight).toBe(4);
  });
});
