import { PublishRefusedError } from '../../../functions/shared/adapters/sqs-room-event-publisher';
import { NotInRoomError, RateLimitedError, RoomRequiredError } from '../../../functions/shared/domain/errors';
import type { EntryState } from '../../../functions/shared/ports';
import { sendMessage } from '../../../functions/shared/use-cases/send-message';
import {
  budgetOf,
  enterAs,
  exitingEntry,
  memberOf,
  memberOfRoom,
  queuedEntry,
  registerConnection,
  reservedEntry,
} from '../../support/chat-state';
import { type InMemoryChat, inMemoryChat } from '../../support/in-memory';
import { RecordingPublisher } from '../../support/recording-publisher';

const ROOM = '1';
const NOW = new Date('2030-01-01T12:00:00.000Z');

describe('sendMessage', () => {
  let chat: InMemoryChat;
  let events: RecordingPublisher;
  const deps = (budget = budgetOf(chat.limiter)) => ({
    entries: chat.entries,
    events,
    budget,
    now: () => NOW,
  });

  beforeEach(() => {
    chat = inMemoryChat({ now: () => NOW });
    events = new RecordingPublisher();
  });

  it('queues a message of the entry: its nickname as from, its sender id and entry id, and the time', async () => {
    const mikki = await memberOfRoom(chat, 'Mikki', ROOM);

    await sendMessage(deps(), { connectionId: mikki.connectionId, roomId: ROOM, message: 'Hei kaikki!' });

    expect(events.events).toEqual([
      {
        v: 2,
        id: expect.any(String),
        at: NOW.toISOString(),
        kind: 'message',
        roomId: ROOM,
        connectionId: mikki.connectionId,
        entryId: mikki.entryId,
        from: 'Mikki',
        fromId: mikki.fromId,
        message: 'Hei kaikki!',
      },
    ]);
  });

  it('takes from and fromId from the entry in that room, whatever else the connection is called', async () => {
    const { connectionId } = await registerConnection(chat, 'mikki');
    await enterAs(chat, connectionId, '1', 'Mikki');
    const second = await enterAs(chat, connectionId, '2', 'Mikki Hiiri');

    await sendMessage(deps(), { connectionId, roomId: '2', message: 'x' });

    expect(events.events).toMatchObject([{ roomId: '2', from: 'Mikki Hiiri', entryId: second.entryId }]);
  });

  it('gives every message an id of its own', async () => {
    const mikki = await memberOfRoom(chat, 'Mikki', ROOM);

    await sendMessage(deps(), { connectionId: mikki.connectionId, roomId: ROOM, message: 'a' });
    await sendMessage(deps(), { connectionId: mikki.connectionId, roomId: ROOM, message: 'a' });

    expect(new Set(events.events.map((e) => e.id)).size).toBe(2);
  });

  it('sends to the only room when roomId is left out, and returns its entry', async () => {
    const mikki = await memberOfRoom(chat, 'Mikki', '7');

    const entry = await sendMessage(deps(), { connectionId: mikki.connectionId, message: 'x' });

    expect(entry.roomId).toBe('7');
    expect(events.events).toMatchObject([{ roomId: '7' }]);
  });

  it('answers room_required when roomId is left out and the connection is in two rooms', async () => {
    const { connectionId } = await memberOf(chat, 'Mikki', '1', '2');

    await expect(sendMessage(deps(), { connectionId, message: 'x' })).rejects.toBeInstanceOf(
      RoomRequiredError,
    );
    expect(events.calls).toEqual([]);
  });

  it('sends from an entry whose joined is queued but not yet logged (the fanout orders them)', async () => {
    const { connectionId } = await registerConnection(chat, 'mikki');
    await queuedEntry(chat, connectionId, ROOM, 'Mikki');

    await sendMessage(deps(), { connectionId, roomId: ROOM, message: 'x' });

    expect(events.events).toHaveLength(1);
  });

  it.each<Exclude<EntryState, 'queued' | 'active'>>(['reserved', 'leaving', 'exited'])(
    'answers not_in_room for an entry that is %s, queueing nothing',
    async (state) => {
      const { connectionId } = await registerConnection(chat, 'mikki');
      if (state === 'reserved') await reservedEntry(chat, connectionId, ROOM, 'Mikki');
      else await exitingEntry(chat, await enterAs(chat, connectionId, ROOM, 'Mikki'), state);

      await expect(sendMessage(deps(), { connectionId, roomId: ROOM, message: 'x' })).rejects.toBeInstanceOf(
        NotInRoomError,
      );
      expect(events.calls).toEqual([]);
    },
  );

  it('answers not_in_room for a room the connection never entered', async () => {
    const mikki = await memberOfRoom(chat, 'Mikki', '1');

    await expect(
      sendMessage(deps(), { connectionId: mikki.connectionId, roomId: '2', message: 'x' }),
    ).rejects.toBeInstanceOf(NotInRoomError);
  });

  it('gives the publisher the deadline', async () => {
    const mikki = await memberOfRoom(chat, 'Mikki', ROOM);

    await sendMessage(deps(), { connectionId: mikki.connectionId, roomId: ROOM, message: 'x', deadline: 99 });

    expect(events.calls[0]?.options).toEqual({ deadline: 99 });
  });

  it('passes a publish failure on (there is nothing to take back)', async () => {
    const mikki = await memberOfRoom(chat, 'Mikki', ROOM);
    events.refuseNext();

    await expect(
      sendMessage(deps(), { connectionId: mikki.connectionId, roomId: ROOM, message: 'x' }),
    ).rejects.toBeInstanceOf(PublishRefusedError);
  });

  describe('the rate budget', () => {
    const tight = () => budgetOf(chat.limiter, { send: { limit: 2, windowSeconds: 10 } });

    it('allows `limit` messages per window and answers rate_limited to the next, queueing it not', async () => {
      const mikki = await memberOfRoom(chat, 'Mikki', ROOM);
      const budget = tight();
      const send = () =>
        sendMessage(deps(budget), { connectionId: mikki.connectionId, roomId: ROOM, message: 'x' });
      await send();
      await send();

      const error = await send().catch((e: unknown) => e);

      expect(error).toBeInstanceOf(RateLimitedError);
      expect((error as RateLimitedError).message).toBe('Slow down: at most 2 messages per 10 s.');
      expect(events.events).toHaveLength(2);
    });

    it('spends from the message budget, not the room actions', async () => {
      const mikki = await memberOfRoom(chat, 'Mikki', ROOM);
      const budget = budgetOf(chat.limiter, { control: { limit: 1, windowSeconds: 10 } });
      await chat.limiter.take(mikki.connectionId, 'control', budget.rules.control, NOW);

      await expect(
        sendMessage(deps(budget), { connectionId: mikki.connectionId, roomId: ROOM, message: 'x' }),
      ).resolves.toBeDefined();
    });

    it('spends nothing for a message refused as not_in_room', async () => {
      const mikki = await memberOfRoom(chat, 'Mikki', '1');
      const budget = tight();
      await sendMessage(deps(budget), { connectionId: mikki.connectionId, roomId: '2', message: 'x' }).catch(
        () => undefined,
      );

      await sendMessage(deps(budget), { connectionId: mikki.connectionId, roomId: '1', message: 'x' });
      await expect(
        sendMessage(deps(budget), { connectionId: mikki.connectionId, roomId: '1', message: 'x' }),
      ).resolves.toBeDefined();
    });
  });
});
