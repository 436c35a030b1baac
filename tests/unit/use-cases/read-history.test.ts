import { NotInRoomError, RateLimitedError } from '../../../functions/shared/domain/errors';
import type { ServerEvent } from '../../../functions/shared/domain/protocol';
import { HISTORY_DEFAULT_LIMIT, MAX_EVENT_BYTES, utf8Bytes } from '../../../functions/shared/domain/rules';
import type { Entry } from '../../../functions/shared/ports';
import { readHistory } from '../../../functions/shared/use-cases/read-history';
import {
  budgetOf,
  exitingEntry,
  loggedMessages,
  memberOfRoom,
  queuedEntry,
  registerConnection,
  reservedEntry,
} from '../../support/chat-state';
import { type InMemoryChat, inMemoryChat } from '../../support/in-memory';
import { ScriptedNotifier } from '../../support/scripted-notifier';

const ROOM = '1';
const NOW = new Date('2030-01-01T12:00:00.000Z');

type History = Extract<ServerEvent, { type: 'history' }>;

describe('readHistory', () => {
  let chat: InMemoryChat;
  let notifier: ScriptedNotifier;
  const deps = (budget = budgetOf(chat.limiter)) => ({
    entries: chat.entries,
    log: chat.log,
    notifier,
    budget,
    now: () => NOW,
  });
  const pagesTo = (entry: Pick<Entry, 'connectionId'>) => notifier.eventsTo(entry.connectionId) as History[];
  const seqsTo = (entry: Pick<Entry, 'connectionId'>) =>
    pagesTo(entry).flatMap((p) => p.events.map((e) => e.seq));

  beforeEach(() => {
    chat = inMemoryChat({ now: () => NOW });
    notifier = new ScriptedNotifier();
  });

  /** Mikki joined at 1 and sent messages 2 … n. */
  async function logOf(n: number): Promise<Entry> {
    const mikki = await memberOfRoom(chat, 'Mikki', ROOM);
    await loggedMessages(chat, mikki, ...Array.from({ length: n - 1 }, (_, i) => `m${i + 2}`));
    return mikki;
  }

  it('sends the newest events, oldest first, with more: false when nothing older is retained', async () => {
    const mikki = await logOf(5);

    const result = await readHistory(deps(), { connectionId: mikki.connectionId, roomId: ROOM });

    expect(result).toEqual({ events: 5, more: false });
    expect(pagesTo(mikki)).toEqual([
      {
        type: 'history',
        roomId: ROOM,
        events: expect.any(Array),
        more: false,
        id: expect.any(String),
        at: expect.any(String),
      },
    ]);
    expect(seqsTo(mikki)).toEqual([1, 2, 3, 4, 5]);
    expect(pagesTo(mikki)[0]?.events[4]).toMatchObject({
      type: 'message',
      message: 'm5',
      from: 'Mikki',
      seq: 5,
    });
  });

  it(`sends at most ${HISTORY_DEFAULT_LIMIT} events by default, with more: true when older ones are retained`, async () => {
    const mikki = await logOf(HISTORY_DEFAULT_LIMIT + 5);

    const result = await readHistory(deps(), { connectionId: mikki.connectionId, roomId: ROOM });

    expect(result).toEqual({ events: HISTORY_DEFAULT_LIMIT, more: true });
    expect(seqsTo(mikki)[0]).toBe(6);
    expect(pagesTo(mikki)[0]?.more).toBe(true);
  });

  it('sends `limit` events before `before`', async () => {
    const mikki = await logOf(20);

    const result = await readHistory(deps(), {
      connectionId: mikki.connectionId,
      roomId: ROOM,
      before: 10,
      limit: 3,
    });

    expect(result).toEqual({ events: 3, more: true });
    expect(seqsTo(mikki)).toEqual([7, 8, 9]);
  });

  it('answers more: false when the page reaches the first event', async () => {
    const mikki = await logOf(20);

    await expect(
      readHistory(deps(), { connectionId: mikki.connectionId, roomId: ROOM, before: 4, limit: 3 }),
    ).resolves.toEqual({ events: 3, more: false });
  });

  it('splits a long page into history events that each fit one frame, in order, losing nothing', async () => {
    const mikki = await memberOfRoom(chat, 'Mikki', ROOM);
    await loggedMessages(chat, mikki, ...Array.from({ length: 30 }, (_, i) => `${i}${'€'.repeat(1360)}`));

    await readHistory(deps(), { connectionId: mikki.connectionId, roomId: ROOM, limit: 31 });

    const payloads = notifier.sends.map((s) => s.payload);
    expect(payloads.length).toBeGreaterThan(1);
    for (const payload of payloads) expect(utf8Bytes(payload)).toBeLessThanOrEqual(MAX_EVENT_BYTES);
    expect(seqsTo(mikki)).toEqual(Array.from({ length: 31 }, (_, i) => i + 1));
    expect(pagesTo(mikki).map((p) => p.more)).toEqual([false, ...Array(payloads.length - 1).fill(true)]);
  });

  it('sends one empty history event when there is nothing before `before`', async () => {
    const mikki = await logOf(3);

    const result = await readHistory(deps(), { connectionId: mikki.connectionId, roomId: ROOM, before: 1 });

    expect(result).toEqual({ events: 0, more: false });
    expect(pagesTo(mikki)).toMatchObject([{ type: 'history', events: [], more: false }]);
  });

  it('lets an entry whose joined is queued read the history', async () => {
    await logOf(2);
    const { connectionId } = await registerConnection(chat, 'aku');
    await queuedEntry(chat, connectionId, ROOM, 'Aku');

    await expect(readHistory(deps(), { connectionId, roomId: ROOM })).resolves.toEqual({
      events: 2,
      more: false,
    });
  });

  it.each(['reserved', 'leaving', 'exited', 'none'] as const)(
    'answers not_in_room to a connection whose entry is %s, sending nothing',
    async (state) => {
      const mikki = await logOf(2);
      const { connectionId } = await registerConnection(chat, 'aku');
      if (state === 'reserved') await reservedEntry(chat, connectionId, ROOM, 'Aku');
      if (state === 'leaving' || state === 'exited') await exitingEntry(chat, mikki, state);
      const asker = state === 'leaving' || state === 'exited' ? mikki.connectionId : connectionId;

      await expect(readHistory(deps(), { connectionId: asker, roomId: ROOM })).rejects.toBeInstanceOf(
        NotInRoomError,
      );
      expect(notifier.sends).toEqual([]);
    },
  );

  it('stops sending pages once the connection is gone', async () => {
    const mikki = await memberOfRoom(chat, 'Mikki', ROOM);
    await loggedMessages(chat, mikki, ...Array.from({ length: 30 }, (_, i) => `${i}${'€'.repeat(1360)}`));
    notifier.script(mikki.connectionId, 'gone');

    await readHistory(deps(), { connectionId: mikki.connectionId, roomId: ROOM, limit: 31 });

    expect(notifier.sends).toHaveLength(1);
  });

  it('spends one room action, and answers rate_limited when they are used up, sending nothing', async () => {
    const mikki = await logOf(2);
    const budget = budgetOf(chat.limiter, { control: { limit: 1, windowSeconds: 10 } });
    await readHistory(deps(budget), { connectionId: mikki.connectionId, roomId: ROOM });

    await expect(
      readHistory(deps(budget), { connectionId: mikki.connectionId, roomId: ROOM }),
    ).rejects.toBeInstanceOf(RateLimitedError);
    expect(notifier.sends).toHaveLength(1);
  });
});
