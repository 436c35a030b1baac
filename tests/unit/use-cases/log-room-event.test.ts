/**
 * The fanout as each room's sequencer (logRoomEvent): every decision rule of its comment, and
 * the conditional append that catches a stale head or an entry that changed meanwhile.
 */
import { entryEventId } from '../../../functions/shared/domain/room-events';
import { logRoomEvent, toLogEvent } from '../../../functions/shared/use-cases/log-room-event';
import {
  enterAs,
  exitingEntry,
  joinedOf,
  leftOf,
  logged,
  memberOfRoom,
  messageOf,
  newEntry,
  nicknamesIn,
  queuedEntry,
  recordOf,
  registerConnection,
  reservedEntry,
} from '../../support/chat-state';
import { type InMemoryChat, inMemoryChat } from '../../support/in-memory';

const ROOM = '1';

describe('logRoomEvent', () => {
  let chat: InMemoryChat;

  beforeEach(() => {
    chat = inMemoryChat();
  });

  const appends = (log = chat.log) => log.calls.filter((call) => call === 'append').length;
  const seqsOfRoom = async () =>
    (await chat.log.events(ROOM, { limit: 100, take: 'oldest' })).map((r) => r.seq);

  describe('placing events in the log', () => {
    it("gives a room's first event seq 1 and each next one the next seq, without gaps", async () => {
      const mikki = await memberOfRoom(chat, 'Mikki', ROOM);
      const aku = await memberOfRoom(chat, 'Aku', ROOM);

      const outcomes = [
        await logRoomEvent(chat, messageOf(mikki, 'eka')),
        await logRoomEvent(chat, messageOf(aku, 'toka')),
      ];

      expect(outcomes).toEqual([
        expect.objectContaining({ kind: 'logged', seq: 3, replay: false }),
        expect.objectContaining({ kind: 'logged', seq: 4, replay: false }),
      ]);
      await expect(seqsOfRoom()).resolves.toEqual([1, 2, 3, 4]);
    });

    it('puts a joined member on the roster with the seq of its joined and makes its entry active', async () => {
      await memberOfRoom(chat, 'Aku', ROOM);
      const { connectionId } = await registerConnection(chat, 'mikki');
      const entry = await queuedEntry(chat, connectionId, ROOM, 'Mikki');

      const outcome = await logRoomEvent(chat, joinedOf(entry));

      expect(outcome).toMatchObject({ kind: 'logged', seq: 2 });
      await expect(chat.log.member(ROOM, connectionId)).resolves.toEqual({
        connectionId,
        entryId: entry.entryId,
        nickname: 'Mikki',
        joinedSeq: 2,
      });
      await expect(chat.entries.get(connectionId, ROOM)).resolves.toMatchObject({ state: 'active' });
    });

    it('logs a joined whose entry is still reserved (the route has not marked it queued yet)', async () => {
      const { connectionId } = await registerConnection(chat, 'mikki');
      const entry = await reservedEntry(chat, connectionId, ROOM, 'Mikki');

      await expect(logRoomEvent(chat, joinedOf(entry))).resolves.toMatchObject({ kind: 'logged', seq: 1 });
      await expect(chat.entries.get(connectionId, ROOM)).resolves.toMatchObject({ state: 'active' });
    });

    it('returns the event as members receive it: its id, time, room and seq', async () => {
      const mikki = await memberOfRoom(chat, 'Mikki', ROOM);
      const message = messageOf(mikki, 'Hei kaikki!');

      const outcome = await logRoomEvent(chat, message);

      expect(outcome).toMatchObject({
        kind: 'logged',
        event: {
          type: 'message',
          id: message.id,
          at: message.at,
          roomId: ROOM,
          seq: 2,
          from: 'Mikki',
          fromId: mikki.fromId,
          message: 'Hei kaikki!',
        },
        preceding: [],
      });
    });
  });

  describe('rule 1: a redelivered event keeps its seq', () => {
    it('answers the seq of an event that is the head of the log, as a replay, appending nothing', async () => {
      const mikki = await memberOfRoom(chat, 'Mikki', ROOM);
      const message = messageOf(mikki);
      await logRoomEvent(chat, message);
      const before = appends();

      const again = await logRoomEvent(chat, message);

      expect(again).toMatchObject({ kind: 'logged', seq: 2, replay: true });
      expect(appends()).toBe(before);
    });

    it('answers the seq of a redelivered joined whose member is on the roster, wherever the head is', async () => {
      const mikki = await memberOfRoom(chat, 'Mikki', ROOM);
      await logRoomEvent(chat, messageOf(mikki));

      await expect(logRoomEvent(chat, joinedOf(mikki))).resolves.toMatchObject({
        kind: 'logged',
        seq: 1,
        replay: true,
      });
      await expect(seqsOfRoom()).resolves.toEqual([1, 2]);
    });

    it('keeps the seq of a record handed out again after its whole batch failed, though later ones of its room were logged', async () => {
      // A crashed invocation: three messages of the room logged, none deleted from the queue.
      const mikki = await memberOfRoom(chat, 'Mikki', ROOM);
      const batch = [messageOf(mikki), messageOf(mikki), messageOf(mikki)];
      for (const message of batch) await logRoomEvent(chat, message);
      const fresh = chat.anotherLog(); // the next invocation may run in a fresh sandbox

      const again = [];
      for (const message of batch) {
        again.push(await logRoomEvent({ entries: chat.entries, log: fresh }, message, { redelivered: true }));
      }

      expect(again.map((o) => (o.kind === 'logged' ? [o.seq, o.replay] : o.kind))).toEqual([
        [2, true],
        [3, true],
        [4, true],
      ]);
      await expect(seqsOfRoom()).resolves.toEqual([1, 2, 3, 4]);
    });

    it('finds a redelivered event another sandbox logged, through seq-taken', async () => {
      const mikki = await memberOfRoom(chat, 'Mikki', ROOM);
      const stale = chat.anotherLog();
      await stale.head(ROOM);
      const message = messageOf(mikki);
      await logRoomEvent(chat, message);

      await expect(logRoomEvent({ entries: chat.entries, log: stale }, message)).resolves.toMatchObject({
        kind: 'logged',
        seq: 2,
        replay: true,
      });
      await expect(seqsOfRoom()).resolves.toEqual([1, 2]);
    });
  });

  describe('rule 2: a joined counts unless taken back, a message or left only from the roster', () => {
    it('drops a joined whose entry was taken back', async () => {
      const { connectionId } = await registerConnection(chat, 'mikki');
      const entry = await reservedEntry(chat, connectionId, ROOM, 'Mikki');
      await chat.entries.cancel(entry);

      await expect(logRoomEvent(chat, joinedOf(entry))).resolves.toEqual({
        kind: 'dropped',
        reason: 'undone',
      });
      await expect(chat.log.head(ROOM)).resolves.toEqual({ seq: 0 });
      await expect(nicknamesIn(chat.log, ROOM)).resolves.toEqual([]);
    });

    it('logs the joined of an entry that exited and was replaced before the fanout reached it', async () => {
      const { connectionId } = await registerConnection(chat, 'mikki');
      const first = await queuedEntry(chat, connectionId, ROOM, 'Mikki');
      await exitingEntry(chat, first, 'exited');
      const next = newEntry(connectionId, ROOM, 'Mikki M');
      await chat.entries.reserve(next);

      await expect(logRoomEvent(chat, joinedOf(first))).resolves.toMatchObject({ kind: 'logged', seq: 1 });
      await expect(chat.log.member(ROOM, connectionId)).resolves.toMatchObject({ entryId: first.entryId });
      await expect(chat.entries.get(connectionId, ROOM)).resolves.toMatchObject({
        entryId: next.entryId,
        state: 'reserved',
      });
    });

    it('logs enter, exit and enter again in their order when all three wait in the queue', async () => {
      const { connectionId } = await registerConnection(chat, 'mikki');
      const first = await queuedEntry(chat, connectionId, ROOM, 'Mikki');
      await exitingEntry(chat, first, 'exited');
      const next = await queuedEntry(chat, connectionId, ROOM, 'Mikki M');

      const outcomes = [
        await logRoomEvent(chat, joinedOf(first)),
        await logRoomEvent(chat, leftOf(first)),
        await logRoomEvent(chat, joinedOf(next)),
      ];

      expect(outcomes.map((o) => (o.kind === 'logged' ? [o.event.type, o.seq] : o.kind))).toEqual([
        ['joined', 1],
        ['left', 2],
        ['joined', 3],
      ]);
      await expect(nicknamesIn(chat.log, ROOM)).resolves.toEqual(['Mikki M']);
      await expect(chat.entries.get(connectionId, ROOM)).resolves.toMatchObject({
        entryId: next.entryId,
        state: 'active',
      });
    });

    it('drops a message whose sender is no longer on the roster (its left came first)', async () => {
      const mikki = await memberOfRoom(chat, 'Mikki', ROOM);
      await exitingEntry(chat, mikki, 'exited');
      await logged(chat, leftOf(mikki));

      await expect(logRoomEvent(chat, messageOf(mikki))).resolves.toEqual({
        kind: 'dropped',
        reason: 'not-current',
      });
      await expect(seqsOfRoom()).resolves.toEqual([1, 2]);
    });

    it('drops a message of an entry whose joined never reached the log', async () => {
      const { connectionId } = await registerConnection(chat, 'mikki');
      const entry = await queuedEntry(chat, connectionId, ROOM, 'Mikki');

      await expect(logRoomEvent(chat, messageOf(entry))).resolves.toEqual({
        kind: 'dropped',
        reason: 'not-current',
      });
    });

    it("drops a message of an older entry while the connection's newer entry is on the roster", async () => {
      const first = await memberOfRoom(chat, 'Mikki', ROOM);
      await exitingEntry(chat, first, 'exited');
      await logged(chat, leftOf(first));
      await enterAs(chat, first.connectionId, ROOM, 'Mikki');

      await expect(logRoomEvent(chat, messageOf(first))).resolves.toMatchObject({ kind: 'dropped' });
    });

    it('drops a left whose entry never reached the roster', async () => {
      const { connectionId } = await registerConnection(chat, 'mikki');
      const entry = await queuedEntry(chat, connectionId, ROOM, 'Mikki');
      await exitingEntry(chat, entry, 'exited');

      await expect(logRoomEvent(chat, leftOf(entry))).resolves.toEqual({
        kind: 'dropped',
        reason: 'not-current',
      });
      await expect(chat.entries.get(connectionId, ROOM)).resolves.toMatchObject({ state: 'exited' });
    });
  });

  describe('rule 3: a left whose exit was taken back is dropped', () => {
    it('drops the left of an entry that is current again, and leaves it on the roster', async () => {
      const mikki = await memberOfRoom(chat, 'Mikki', ROOM);
      const leaving = await chat.entries.beginExit(mikki);
      await chat.entries.undoExit(leaving);

      await expect(logRoomEvent(chat, leftOf(mikki))).resolves.toEqual({ kind: 'dropped', reason: 'undone' });
      await expect(nicknamesIn(chat.log, ROOM)).resolves.toEqual(['Mikki']);
      await expect(chat.entries.get(mikki.connectionId, ROOM)).resolves.toMatchObject({ state: 'active' });
    });

    it.each(['leaving', 'exited'] as const)(
      'logs the left of an entry that is %s: takes the member off the roster and deletes the entry',
      async (state) => {
        const mikki = await memberOfRoom(chat, 'Mikki', ROOM);
        await memberOfRoom(chat, 'Aku', ROOM);
        await exitingEntry(chat, mikki, state);

        await expect(logRoomEvent(chat, leftOf(mikki))).resolves.toMatchObject({ kind: 'logged', seq: 3 });
        await expect(nicknamesIn(chat.log, ROOM)).resolves.toEqual(['Aku']);
        await expect(chat.entries.get(mikki.connectionId, ROOM)).resolves.toBeUndefined();
      },
    );

    it("logs the left of an entry already replaced by the connection's next reservation, keeping that one", async () => {
      const mikki = await memberOfRoom(chat, 'Mikki', ROOM);
      await exitingEntry(chat, mikki, 'exited');
      const next = newEntry(mikki.connectionId, ROOM, 'Mikki');
      await chat.entries.reserve(next);

      await expect(logRoomEvent(chat, leftOf(mikki))).resolves.toMatchObject({ kind: 'logged', seq: 2 });
      await expect(chat.log.member(ROOM, mikki.connectionId)).resolves.toBeUndefined();
      await expect(chat.entries.get(mikki.connectionId, ROOM)).resolves.toMatchObject({
        entryId: next.entryId,
        state: 'reserved',
      });
    });
  });

  describe('a joined that finds an older entry of its connection on the roster', () => {
    /** Mikki's first entry exited, its left parked (never logged), and a new entry queued. */
    async function parkedLeft() {
      const first = await memberOfRoom(chat, 'Mikki', ROOM);
      await memberOfRoom(chat, 'Aku', ROOM);
      await exitingEntry(chat, first, 'exited');
      const next = await queuedEntry(chat, first.connectionId, ROOM, 'Mikki M');
      return { first, next };
    }

    it("logs the older entry's left first, at its own seq and with the id its own left has", async () => {
      const { first, next } = await parkedLeft();

      const outcome = await logRoomEvent(chat, joinedOf(next));

      expect(outcome).toMatchObject({
        kind: 'logged',
        seq: 4,
        preceding: [
          {
            type: 'left',
            id: entryEventId('left', first.entryId),
            seq: 3,
            nickname: 'Mikki',
            reason: 'exit',
          },
        ],
      });
      await expect(chat.log.member(ROOM, first.connectionId)).resolves.toMatchObject({
        entryId: next.entryId,
        joinedSeq: 4,
      });
    });

    it("frees the older entry's nickname", async () => {
      const { next } = await parkedLeft();
      await logRoomEvent(chat, joinedOf(next));
      const { connectionId } = await registerConnection(chat, 'other');

      await expect(chat.entries.reserve(newEntry(connectionId, ROOM, 'Mikki'))).resolves.toBeUndefined();
    });

    it('drops the parked left if it is ever redriven', async () => {
      const { first, next } = await parkedLeft();
      await logRoomEvent(chat, joinedOf(next));

      await expect(logRoomEvent(chat, leftOf(first))).resolves.toEqual({
        kind: 'dropped',
        reason: 'not-current',
      });
    });
  });

  describe('rule 4: one conditional append at head + 1', () => {
    it('recovers from a head another sandbox moved on: seq-taken, a fresh head, the next free seq', async () => {
      const mikki = await memberOfRoom(chat, 'Mikki', ROOM);
      const stale = chat.anotherLog();
      await stale.head(ROOM);
      await logged(chat, messageOf(mikki, 'logged elsewhere'));

      const outcome = await logRoomEvent({ entries: chat.entries, log: stale }, messageOf(mikki, 'mine'));

      expect(outcome).toMatchObject({ kind: 'logged', seq: 3, replay: false });
      expect(appends(stale)).toBe(2);
      await expect(seqsOfRoom()).resolves.toEqual([1, 2, 3]);
    });

    it('decides again when the entry changed between its read and the append (conflict)', async () => {
      const { connectionId } = await registerConnection(chat, 'mikki');
      const entry = await reservedEntry(chat, connectionId, ROOM, 'Mikki');
      chat.log.beforeNext('append', () => chat.entries.markQueued(entry));

      const outcome = await logRoomEvent(chat, joinedOf(entry));

      expect(outcome).toMatchObject({ kind: 'logged', seq: 1 });
      expect(appends()).toBe(2);
      await expect(chat.entries.get(connectionId, ROOM)).resolves.toMatchObject({ state: 'active' });
    });

    it('drops the event when deciding again finds its entry taken back', async () => {
      const { connectionId } = await registerConnection(chat, 'mikki');
      const entry = await reservedEntry(chat, connectionId, ROOM, 'Mikki');
      chat.log.beforeNext('append', () => chat.entries.cancel(entry));

      await expect(logRoomEvent(chat, joinedOf(entry))).resolves.toEqual({
        kind: 'dropped',
        reason: 'undone',
      });
      await expect(chat.log.head(ROOM)).resolves.toEqual({ seq: 0 });
    });

    it('gives up with an error, logging nothing, when the log keeps changing under it', async () => {
      const mikki = await memberOfRoom(chat, 'Mikki', ROOM);
      const elsewhere = chat.anotherLog();
      for (let i = 0; i < 20; i++) {
        chat.log.beforeNext('append', async () => {
          const { seq } = await elsewhere.head(ROOM);
          await elsewhere.append(ROOM, recordOf(messageOf(mikki, 'elsewhere'), seq + 1), { kind: 'message' });
        });
      }
      const message = messageOf(mikki, 'never placed');

      await expect(logRoomEvent(chat, message)).rejects.toThrow(/kept changing/);
      const ids = (await chat.log.events(ROOM, { limit: 100, take: 'oldest' })).map((r) => r.eventId);
      expect(ids).not.toContain(message.id);
    });
  });
});

describe('toLogEvent', () => {
  const entry = newEntry('c1=', ROOM, 'Mikki');

  it('logs a joined with the nickname', () => {
    const joined = joinedOf(entry, { since: 3 });

    expect(toLogEvent(joined, 7)).toEqual({
      type: 'joined',
      id: joined.id,
      at: joined.at,
      roomId: ROOM,
      seq: 7,
      nickname: 'Mikki',
    });
  });

  it('logs a message with its sender, sender id and text', () => {
    const message = messageOf(entry, 'Hei');

    expect(toLogEvent(message, 8)).toEqual({
      type: 'message',
      id: message.id,
      at: message.at,
      roomId: ROOM,
      seq: 8,
      from: 'Mikki',
      fromId: entry.fromId,
      message: 'Hei',
    });
  });

  it('logs a left with the nickname and the reason, and nothing about the connection', () => {
    const left = leftOf(entry, 'gone');

    expect(toLogEvent(left, 9)).toEqual({
      type: 'left',
      id: left.id,
      at: left.at,
      roomId: ROOM,
      seq: 9,
      nickname: 'Mikki',
      reason: 'gone',
    });
  });
});
