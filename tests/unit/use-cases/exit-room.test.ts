import {
  PublishRefusedError,
  PublishUnconfirmedError,
} from '../../../functions/shared/adapters/sqs-room-event-publisher';
import { NotInRoomError, RateLimitedError, RoomRequiredError } from '../../../functions/shared/domain/errors';
import type { RoomEvent } from '../../../functions/shared/domain/room-events';
import type { Entry } from '../../../functions/shared/ports';
import { handleRoomEvent } from '../../../functions/shared/use-cases/deliver-room-event';
import { exitRoom } from '../../../functions/shared/use-cases/exit-room';
import { logRoomEvent } from '../../../functions/shared/use-cases/log-room-event';
import {
  budgetOf,
  enterAs,
  memberOf,
  memberOfRoom,
  nicknamesIn,
  queuedEntry,
  registerConnection,
} from '../../support/chat-state';
import { type InMemoryChat, inMemoryChat } from '../../support/in-memory';
import { RecordingPublisher } from '../../support/recording-publisher';
import { ScriptedNotifier } from '../../support/scripted-notifier';

const ROOM = '1';
const NOW = new Date('2030-01-01T12:00:00.000Z');

describe('exitRoom', () => {
  let chat: InMemoryChat;
  let events: RecordingPublisher;
  const deps = (budget = budgetOf(chat.limiter)) => ({
    entries: chat.entries,
    events,
    budget,
    now: () => NOW,
  });
  const entryOf = (entry: Pick<Entry, 'connectionId' | 'roomId'>) =>
    chat.entries.get(entry.connectionId, entry.roomId);
  /** The fanout's sequencer over what was queued (it logged the left meanwhile). */
  const fanoutLogs = async (queued: RoomEvent[]) => {
    for (const event of queued) {
      if (event.kind !== 'broadcast' && event.kind !== 'slice') await logRoomEvent(chat, event);
    }
  };

  beforeEach(() => {
    chat = inMemoryChat({ now: () => NOW });
    events = new RecordingPublisher();
  });

  it('marks the entry leaving, queues its left (reason exit) and marks it exited', async () => {
    const hessu = await memberOfRoom(chat, 'Hessu', ROOM);

    const left = await exitRoom(deps(), { connectionId: hessu.connectionId, roomId: ROOM });

    expect(left).toMatchObject({ entryId: hessu.entryId, state: 'leaving' });
    expect(events.events).toEqual([
      {
        v: 2,
        id: expect.any(String),
        at: NOW.toISOString(),
        kind: 'left',
        roomId: ROOM,
        connectionId: hessu.connectionId,
        entryId: hessu.entryId,
        nickname: 'Hessu',
        reason: 'exit',
      },
    ]);
    await expect(entryOf(hessu)).resolves.toMatchObject({ state: 'exited' });
  });

  it('leaves the member on the roster for the fanout to take off when it logs the left', async () => {
    const hessu = await memberOfRoom(chat, 'Hessu', ROOM);

    await exitRoom(deps(), { connectionId: hessu.connectionId, roomId: ROOM });

    await expect(nicknamesIn(chat.log, ROOM)).resolves.toEqual(['Hessu']);
  });

  it('exits an entry whose joined is queued but not yet logged', async () => {
    const { connectionId } = await registerConnection(chat, 'hessu');
    await queuedEntry(chat, connectionId, ROOM, 'Hessu');

    await exitRoom(deps(), { connectionId, roomId: ROOM });

    expect(events.ofKind('left')).toHaveLength(1);
  });

  it('keeps the connection in its other rooms', async () => {
    const { connectionId } = await memberOf(chat, 'Hessu', '1', '2');

    await exitRoom(deps(), { connectionId, roomId: '1' });

    await expect(chat.entries.get(connectionId, '2')).resolves.toMatchObject({ state: 'active' });
  });

  it('exits the only room when roomId is left out', async () => {
    const hessu = await memberOfRoom(chat, 'Hessu', '7');

    const left = await exitRoom(deps(), { connectionId: hessu.connectionId });

    expect(left.roomId).toBe('7');
    expect(events.ofKind('left').map((e) => e.roomId)).toEqual(['7']);
  });

  it('answers room_required when roomId is left out and the connection is in two rooms, changing nothing', async () => {
    const { connectionId } = await memberOf(chat, 'Hessu', '1', '2');
    const before = chat.table.snapshot();

    const error = await exitRoom(deps(), { connectionId }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(RoomRequiredError);
    expect(chat.table.snapshot()).toEqual({ ...before, connections: expect.any(Object) });
    expect(events.calls).toEqual([]);
  });

  it('answers not_in_room for a room the connection is not in', async () => {
    const hessu = await memberOfRoom(chat, 'Hessu', '1');

    await expect(exitRoom(deps(), { connectionId: hessu.connectionId, roomId: '2' })).rejects.toBeInstanceOf(
      NotInRoomError,
    );
    expect(events.calls).toEqual([]);
  });

  it('answers not_in_room when roomId is left out and the connection is in no room', async () => {
    const { connectionId } = await registerConnection(chat, 'lonely');

    await expect(exitRoom(deps(), { connectionId })).rejects.toBeInstanceOf(NotInRoomError);
  });

  it('answers not_in_room for an entry whose joined is not yet queued', async () => {
    const { connectionId } = await registerConnection(chat, 'hessu');
    await chat.entries.reserve({ connectionId, roomId: ROOM, entryId: 'e1', nickname: 'Hessu', fromId: 'f' });

    await expect(exitRoom(deps(), { connectionId, roomId: ROOM })).rejects.toBeInstanceOf(NotInRoomError);
    await expect(chat.entries.get(connectionId, ROOM)).resolves.toMatchObject({ state: 'reserved' });
  });

  it('answers not_in_room to a second exit of the same entry, queueing no second left', async () => {
    const hessu = await memberOfRoom(chat, 'Hessu', ROOM);
    await exitRoom(deps(), { connectionId: hessu.connectionId, roomId: ROOM });

    await expect(exitRoom(deps(), { connectionId: hessu.connectionId, roomId: ROOM })).rejects.toBeInstanceOf(
      NotInRoomError,
    );
    expect(events.calls).toHaveLength(1);
  });

  it('gives the publisher the deadline by which the left must be confirmed', async () => {
    const hessu = await memberOfRoom(chat, 'Hessu', ROOM);

    await exitRoom(deps(), { connectionId: hessu.connectionId, roomId: ROOM, deadline: 4_321 });

    expect(events.calls[0]?.options).toEqual({ deadline: 4_321 });
  });

  describe('when the left cannot be confirmed as queued', () => {
    it('takes the exit back and rethrows when SQS refused it', async () => {
      const hessu = await memberOfRoom(chat, 'Hessu', ROOM);
      events.refuseNext();

      await expect(
        exitRoom(deps(), { connectionId: hessu.connectionId, roomId: ROOM }),
      ).rejects.toBeInstanceOf(PublishRefusedError);

      await expect(entryOf(hessu)).resolves.toMatchObject({ entryId: hessu.entryId, state: 'active' });
    });

    it('takes the exit back and rethrows when the fanout has not logged the left', async () => {
      const hessu = await memberOfRoom(chat, 'Hessu', ROOM);
      events.acceptThenLeaveUnconfirmedNext();

      await expect(
        exitRoom(deps(), { connectionId: hessu.connectionId, roomId: ROOM }),
      ).rejects.toBeInstanceOf(PublishUnconfirmedError);

      await expect(entryOf(hessu)).resolves.toMatchObject({ state: 'active' });
      const [left] = events.take();
      await expect(logRoomEvent(chat, left as RoomEvent & { kind: 'left' })).resolves.toEqual({
        kind: 'dropped',
        reason: 'undone',
      });
      await expect(nicknamesIn(chat.log, ROOM)).resolves.toEqual(['Hessu']);
    });

    it('lets the exit stand and answers success when the fanout had already logged the left', async () => {
      const hessu = await memberOfRoom(chat, 'Hessu', ROOM);
      events.acceptThenLeaveUnconfirmedNext(fanoutLogs);

      await expect(
        exitRoom(deps(), { connectionId: hessu.connectionId, roomId: ROOM }),
      ).resolves.toMatchObject({
        entryId: hessu.entryId,
      });

      await expect(entryOf(hessu)).resolves.toBeUndefined();
      await expect(nicknamesIn(chat.log, ROOM)).resolves.toEqual([]);
    });

    it('lets the connection exit again after an exit was taken back', async () => {
      const hessu = await memberOfRoom(chat, 'Hessu', ROOM);
      const fanout = {
        registry: chat.registry,
        entries: chat.entries,
        log: chat.log,
        events,
        notifier: new ScriptedNotifier(),
        concurrency: 4,
      };
      const drain = async () => {
        for (const event of events.take()) await handleRoomEvent(fanout, event);
      };
      events.acceptThenLeaveUnconfirmedNext();
      await exitRoom(deps(), { connectionId: hessu.connectionId, roomId: ROOM }).catch(() => undefined);
      await drain();

      await exitRoom(deps(), { connectionId: hessu.connectionId, roomId: ROOM });
      await drain();

      await expect(nicknamesIn(chat.log, ROOM)).resolves.toEqual([]);
      expect(fanout.notifier.eventsTo(hessu.connectionId).map((e) => e.type)).toEqual(['exited']);
    });
  });

  describe('the rate budget', () => {
    const tight = () => budgetOf(chat.limiter, { control: { limit: 1, windowSeconds: 10 } });

    it('spends one room action of the connection', async () => {
      const hessu = await memberOfRoom(chat, 'Hessu', ROOM);
      const budget = tight();

      await exitRoom(deps(budget), { connectionId: hessu.connectionId, roomId: ROOM });

      await expect(chat.limiter.take(hessu.connectionId, 'control', budget.rules.control, NOW)).resolves.toBe(
        false,
      );
    });

    it('answers rate_limited when the room actions are used up, changing nothing', async () => {
      const hessu = await memberOfRoom(chat, 'Hessu', ROOM);
      const budget = tight();
      await chat.limiter.take(hessu.connectionId, 'control', budget.rules.control, NOW);

      await expect(
        exitRoom(deps(budget), { connectionId: hessu.connectionId, roomId: ROOM }),
      ).rejects.toBeInstanceOf(RateLimitedError);
      await expect(entryOf(hessu)).resolves.toMatchObject({ state: 'active' });
      expect(events.calls).toEqual([]);
    });
  });

  it('exits a room entered again after an earlier exit', async () => {
    const first = await memberOfRoom(chat, 'Hessu', ROOM);
    await exitRoom(deps(), { connectionId: first.connectionId, roomId: ROOM });
    await fanoutLogs(events.take());
    const again = await enterAs(chat, first.connectionId, ROOM, 'Hessu');

    await exitRoom(deps(), { connectionId: first.connectionId, roomId: ROOM });

    expect(events.ofKind('left').map((e) => e.entryId)).toEqual([first.entryId, again.entryId]);
  });
});
