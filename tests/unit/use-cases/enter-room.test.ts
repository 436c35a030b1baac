import {
  PublishRefusedError,
  PublishUnconfirmedError,
} from '../../../functions/shared/adapters/sqs-room-event-publisher';
import {
  AlreadyInRoomError,
  ConnectionNotFoundError,
  NicknameTakenError,
  RateLimitedError,
} from '../../../functions/shared/domain/errors';
import { entryEventId, type RoomEvent } from '../../../functions/shared/domain/room-events';
import { type EnterRoomInput, enterRoom } from '../../../functions/shared/use-cases/enter-room';
import { logRoomEvent } from '../../../functions/shared/use-cases/log-room-event';
import {
  budgetOf,
  exitingEntry,
  memberOfRoom,
  registerConnection,
  reservedEntry,
} from '../../support/chat-state';
import { type InMemoryChat, inMemoryChat } from '../../support/in-memory';
import { RecordingPublisher } from '../../support/recording-publisher';

const ROOM = '1';
const NOW = new Date('2030-01-01T12:00:00.000Z');

describe('enterRoom', () => {
  let now: Date;
  let chat: InMemoryChat;
  let events: RecordingPublisher;
  let connectionId: string;
  const deps = (budget = budgetOf(chat.limiter)) => ({
    entries: chat.entries,
    events,
    budget,
    now: () => now,
  });
  const input = (overrides: Partial<EnterRoomInput> = {}): EnterRoomInput => ({
    connectionId,
    roomId: ROOM,
    nickname: 'Mikki',
    fromId: 'from-mikki',
    ...overrides,
  });
  const entryNow = () => chat.entries.get(connectionId, ROOM);
  /** Runs the fanout's sequencer over what was just queued (it logged the joined meanwhile). */
  const fanoutLogs = async (queued: RoomEvent[]) => {
    for (const event of queued) {
      if (event.kind !== 'broadcast' && event.kind !== 'slice') await logRoomEvent(chat, event);
    }
  };

  beforeEach(async () => {
    now = NOW;
    chat = inMemoryChat({ now: () => now });
    events = new RecordingPublisher();
    ({ connectionId } = await registerConnection(chat, 'mikki'));
  });

  it('reserves an entry with its own id, the nickname and the sender id, and marks it queued', async () => {
    const entry = await enterRoom(deps(), input());

    await expect(entryNow()).resolves.toEqual({
      connectionId,
      roomId: ROOM,
      entryId: entry.entryId,
      nickname: 'Mikki',
      fromId: 'from-mikki',
      state: 'queued',
      updatedAt: NOW.getTime(),
    });
  });

  it("queues one joined naming the entry, with the entry's derived id and the time", async () => {
    const entry = await enterRoom(deps(), input());

    expect(events.calls).toHaveLength(1);
    expect(events.events).toEqual([
      {
        v: 2,
        id: entryEventId('joined', entry.entryId),
        at: NOW.toISOString(),
        kind: 'joined',
        roomId: ROOM,
        connectionId,
        entryId: entry.entryId,
        nickname: 'Mikki',
        fromId: 'from-mikki',
      },
    ]);
  });

  it('passes since on to the joined, for the fanout to send what the client missed', async () => {
    await enterRoom(deps(), input({ since: 42 }));

    expect(events.events[0]).toMatchObject({ kind: 'joined', since: 42 });
  });

  it('gives the publisher the deadline by which the joined must be confirmed', async () => {
    await enterRoom(deps(), input({ deadline: 1_234 }));

    expect(events.calls[0]?.options).toEqual({ deadline: 1_234 });
  });

  it('gives every entry an id of its own', async () => {
    const first = await enterRoom(deps(), input());
    await exitingEntry(chat, { ...first, state: 'queued', updatedAt: 0 }, 'exited');

    const second = await enterRoom(deps(), input());

    expect(second.entryId).not.toBe(first.entryId);
    expect(new Set(events.ofKind('joined').map((e) => e.id)).size).toBe(2);
  });

  it('refuses a nickname taken in the room, queueing nothing and changing nothing', async () => {
    await memberOfRoom(chat, 'Mikki', ROOM);
    const before = chat.table.snapshot();

    await expect(enterRoom(deps(), input({ nickname: 'mikki' }))).rejects.toBeInstanceOf(NicknameTakenError);

    expect(events.calls).toEqual([]);
    expect(chat.table.snapshot()).toEqual({ ...before, connections: expect.any(Object) });
    await expect(entryNow()).resolves.toBeUndefined();
  });

  it('refuses a room the connection is already in', async () => {
    await enterRoom(deps(), input());

    await expect(enterRoom(deps(), input({ nickname: 'Mikki2' }))).rejects.toBeInstanceOf(AlreadyInRoomError);
    expect(events.calls).toHaveLength(1);
  });

  it('refuses a connection that is no longer registered', async () => {
    await expect(enterRoom(deps(), input({ connectionId: 'gone=' }))).rejects.toBeInstanceOf(
      ConnectionNotFoundError,
    );
    expect(events.calls).toEqual([]);
  });

  describe('when the joined cannot be confirmed as queued', () => {
    it('takes the entry back, frees the nickname and rethrows when SQS refused it', async () => {
      events.refuseNext();

      await expect(enterRoom(deps(), input())).rejects.toBeInstanceOf(PublishRefusedError);

      await expect(entryNow()).resolves.toBeUndefined();
      const other = await registerConnection(chat, 'other');
      await expect(enterRoom(deps(), input({ connectionId: other.connectionId }))).resolves.toBeDefined();
    });

    it('takes the entry back and rethrows when the fanout has not logged the joined', async () => {
      events.leaveUnconfirmedNext();

      await expect(enterRoom(deps(), input())).rejects.toBeInstanceOf(PublishUnconfirmedError);

      await expect(entryNow()).resolves.toBeUndefined();
    });

    it('takes the entry back even though the joined was queued, so the fanout drops it', async () => {
      events.acceptThenLeaveUnconfirmedNext();

      await expect(enterRoom(deps(), input())).rejects.toBeInstanceOf(PublishUnconfirmedError);

      const [joined] = events.take();
      await expect(logRoomEvent(chat, joined as RoomEvent & { kind: 'joined' })).resolves.toEqual({
        kind: 'dropped',
        reason: 'undone',
      });
    });

    it('lets the entry stand and answers success when the fanout had already logged the joined', async () => {
      events.acceptThenLeaveUnconfirmedNext(fanoutLogs);

      const entry = await enterRoom(deps(), input());

      await expect(entryNow()).resolves.toMatchObject({ entryId: entry.entryId, state: 'active' });
      await expect(chat.log.member(ROOM, connectionId)).resolves.toMatchObject({ entryId: entry.entryId });
    });

    it('lets a retry after a failed enter succeed', async () => {
      events.leaveUnconfirmedNext();
      await enterRoom(deps(), input()).catch(() => undefined);

      await expect(enterRoom(deps(), input())).resolves.toBeDefined();
    });
  });

  describe('after the joined is queued', () => {
    it('answers success when the fanout logged the joined before the route marked it queued', async () => {
      events.onQueued(fanoutLogs);

      const entry = await enterRoom(deps(), input());

      await expect(entryNow()).resolves.toMatchObject({ entryId: entry.entryId, state: 'active' });
    });

    it('answers already_in_room when its entry was taken back before it could be marked queued', async () => {
      events.onQueued(async ([joined]) => {
        if (joined?.kind === 'joined') await chat.entries.cancel(joined);
      });

      await expect(enterRoom(deps(), input())).rejects.toBeInstanceOf(AlreadyInRoomError);
    });

    it('answers success when marking the entry queued fails (the fanout activates it anyway)', async () => {
      chat.entries.failNext('markQueued', new Error('DynamoDB down'));

      await expect(enterRoom(deps(), input())).resolves.toBeDefined();
      await expect(entryNow()).resolves.toMatchObject({ state: 'reserved' });
      const [joined] = events.take();
      await expect(logRoomEvent(chat, joined as RoomEvent & { kind: 'joined' })).resolves.toMatchObject({
        kind: 'logged',
      });
    });
  });

  describe('a previous entry of the connection in the room', () => {
    it('finishes a previous entry that is still leaving: queues its left first, then the new joined', async () => {
      const previous = await memberOfRoom(chat, 'Hessu', ROOM);
      connectionId = previous.connectionId;
      await chat.entries.beginExit(previous);

      const entry = await enterRoom(deps(), input({ nickname: 'Hessu' }));

      expect(events.calls.map((c) => c.events.map((e) => [e.kind, e.id]))).toEqual([
        [['left', entryEventId('left', previous.entryId)]],
        [['joined', entryEventId('joined', entry.entryId)]],
      ]);
      expect(events.events[0]).toMatchObject({ reason: 'exit', nickname: 'Hessu' });
      await expect(entryNow()).resolves.toMatchObject({ entryId: entry.entryId, state: 'queued' });
    });

    it('fails, leaving the previous entry leaving, when its left cannot be queued', async () => {
      const previous = await memberOfRoom(chat, 'Hessu', ROOM);
      connectionId = previous.connectionId;
      await chat.entries.beginExit(previous);
      events.refuseNext();

      await expect(enterRoom(deps(), input())).rejects.toBeInstanceOf(PublishRefusedError);

      await expect(entryNow()).resolves.toMatchObject({ entryId: previous.entryId, state: 'leaving' });
      expect(events.events).toEqual([]);
    });

    it('replaces a previous entry that has exited', async () => {
      const previous = await memberOfRoom(chat, 'Hessu', ROOM);
      connectionId = previous.connectionId;
      await exitingEntry(chat, previous, 'exited');

      const entry = await enterRoom(deps(), input());

      expect(events.ofKind('joined').map((e) => e.entryId)).toEqual([entry.entryId]);
      await expect(entryNow()).resolves.toMatchObject({ entryId: entry.entryId });
    });

    it('takes back a previous entry left reserved by a route that died, and enters', async () => {
      const stuck = await reservedEntry(chat, connectionId, ROOM, 'Mikki');
      now = new Date(NOW.getTime() + 31_000);

      const entry = await enterRoom(deps(), input());

      await expect(entryNow()).resolves.toMatchObject({ entryId: entry.entryId, state: 'queued' });
      await expect(chat.entries.wasCancelled(connectionId, stuck.entryId)).resolves.toBe(true);
    });

    it('refuses while a previous enter may still be under way (reserved moments ago)', async () => {
      await reservedEntry(chat, connectionId, ROOM, 'Mikki');
      now = new Date(NOW.getTime() + 5_000);

      await expect(enterRoom(deps(), input())).rejects.toBeInstanceOf(AlreadyInRoomError);
      expect(events.calls).toEqual([]);
    });

    it('refuses while a previous entry is still in the room', async () => {
      const previous = await memberOfRoom(chat, 'Hessu', ROOM);
      connectionId = previous.connectionId;

      await expect(enterRoom(deps(), input())).rejects.toBeInstanceOf(AlreadyInRoomError);
      expect(events.calls).toEqual([]);
    });
  });

  describe('the rate budget', () => {
    const tight = () => budgetOf(chat.limiter, { control: { limit: 1, windowSeconds: 10 } });

    it('spends one room action of the connection', async () => {
      const budget = tight();
      await enterRoom(deps(budget), input());

      await expect(chat.limiter.take(connectionId, 'control', budget.rules.control, NOW)).resolves.toBe(
        false,
      );
      await expect(chat.limiter.take(connectionId, 'send', budget.rules.send, NOW)).resolves.toBe(true);
    });

    it('answers rate_limited when the room actions are used up, reserving and queueing nothing', async () => {
      const budget = tight();
      await chat.limiter.take(connectionId, 'control', budget.rules.control, NOW);

      const error = await enterRoom(deps(budget), input()).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(RateLimitedError);
      expect((error as RateLimitedError).message).toMatch(/room actions/);
      await expect(entryNow()).resolves.toBeUndefined();
      expect(events.calls).toEqual([]);
    });
  });
});
