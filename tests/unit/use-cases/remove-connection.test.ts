import { PublishRefusedError } from '../../../functions/shared/adapters/sqs-room-event-publisher';
import { entryEventId } from '../../../functions/shared/domain/room-events';
import { logRoomEvent } from '../../../functions/shared/use-cases/log-room-event';
import { removeConnection } from '../../../functions/shared/use-cases/remove-connection';
import {
  enterAs,
  exitingEntry,
  joinedOf,
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

describe('removeConnection', () => {
  let chat: InMemoryChat;
  let events: RecordingPublisher;
  const deps = () => ({ registry: chat.registry, entries: chat.entries, events, now: () => NOW });

  beforeEach(() => {
    chat = inMemoryChat({ now: () => NOW });
    events = new RecordingPublisher();
  });

  it('deletes the connection record before anything else, so no new entry can start', async () => {
    const mikki = await memberOfRoom(chat, 'Mikki', ROOM);
    chat.entries.calls.length = 0;
    chat.registry.calls.length = 0;
    chat.entries.beforeNext('list', async () => {
      expect(chat.registry.calls).toEqual(['deleteConnection']);
      await expect(chat.registry.getConnection(mikki.connectionId)).resolves.toBeUndefined();
    });

    await removeConnection(deps(), { connectionId: mikki.connectionId, reason: 'disconnect' });

    expect(chat.entries.calls[0]).toBe('list');
  });

  it.each(['queued', 'active'] as const)(
    'queues the left (reason disconnect) of a %s entry, with its derived id, and marks it exited',
    async (state) => {
      const { connectionId } = await registerConnection(chat, 'mikki');
      const entry =
        state === 'queued'
          ? await queuedEntry(chat, connectionId, ROOM, 'Mikki')
          : await enterAs(chat, connectionId, ROOM, 'Mikki');

      const left = await removeConnection(deps(), { connectionId, reason: 'disconnect' });

      expect(left.map((e) => e.entryId)).toEqual([entry.entryId]);
      expect(events.events).toEqual([
        {
          v: 2,
          id: entryEventId('left', entry.entryId),
          at: NOW.toISOString(),
          kind: 'left',
          roomId: ROOM,
          connectionId,
          entryId: entry.entryId,
          nickname: 'Mikki',
          reason: 'disconnect',
        },
      ]);
      await expect(chat.entries.get(connectionId, ROOM)).resolves.toMatchObject({ state: 'exited' });
    },
  );

  it('queues the left with reason gone for the fanout pruning a connection that answered 410', async () => {
    const mikki = await memberOfRoom(chat, 'Mikki', ROOM);

    await removeConnection(deps(), { connectionId: mikki.connectionId, reason: 'gone' });

    expect(events.events).toMatchObject([{ kind: 'left', reason: 'gone' }]);
  });

  it('takes back a reserved entry (its joined will be dropped) without telling the room', async () => {
    const { connectionId } = await registerConnection(chat, 'mikki');
    const entry = await reservedEntry(chat, connectionId, ROOM, 'Mikki');

    const left = await removeConnection(deps(), { connectionId, reason: 'disconnect' });

    expect(left).toEqual([]);
    expect(events.calls).toEqual([]);
    await expect(chat.entries.get(connectionId, ROOM)).resolves.toBeUndefined();
    await expect(logRoomEvent(chat, joinedOf(entry))).resolves.toEqual({ kind: 'dropped', reason: 'undone' });
  });

  it('queues the left of a reserved entry the fanout logged before it could be taken back', async () => {
    const { connectionId } = await registerConnection(chat, 'mikki');
    const entry = await reservedEntry(chat, connectionId, ROOM, 'Mikki');
    chat.entries.beforeNext('cancel', () => logRoomEvent(chat, joinedOf(entry)));

    const left = await removeConnection(deps(), { connectionId, reason: 'disconnect' });

    expect(left.map((e) => e.entryId)).toEqual([entry.entryId]);
    expect(events.events).toMatchObject([{ kind: 'left', entryId: entry.entryId }]);
  });

  it.each(['leaving', 'exited'] as const)(
    'queues the left of a %s entry again, with the same id (an exit under way)',
    async (state) => {
      const mikki = await memberOfRoom(chat, 'Mikki', ROOM);
      await exitingEntry(chat, mikki, state);

      await removeConnection(deps(), { connectionId: mikki.connectionId, reason: 'disconnect' });

      expect(events.events).toMatchObject([{ kind: 'left', id: entryEventId('left', mikki.entryId) }]);
      await expect(chat.entries.get(mikki.connectionId, ROOM)).resolves.toMatchObject({ state: 'exited' });
    },
  );

  it('carries on with an entry whose exit began after it was listed', async () => {
    const mikki = await memberOfRoom(chat, 'Mikki', ROOM);
    chat.entries.beforeNext('beginExit', () => chat.entries.beginExit(mikki));

    await removeConnection(deps(), { connectionId: mikki.connectionId, reason: 'disconnect' });

    expect(events.events).toMatchObject([{ kind: 'left', entryId: mikki.entryId }]);
    await expect(chat.entries.get(mikki.connectionId, ROOM)).resolves.toMatchObject({ state: 'exited' });
  });

  it('queues a left for a retried $disconnect that SQS drops as a repeat within 5 minutes', async () => {
    const mikki = await memberOfRoom(chat, 'Mikki', ROOM);
    await removeConnection(deps(), { connectionId: mikki.connectionId, reason: 'disconnect' });

    await removeConnection(deps(), { connectionId: mikki.connectionId, reason: 'gone' });

    expect(events.calls.map((c) => c.events[0]?.id)).toEqual([
      entryEventId('left', mikki.entryId),
      entryEventId('left', mikki.entryId),
    ]);
    expect(events.events).toHaveLength(1);
  });

  it('ends every entry of the connection and returns those it queued a left for', async () => {
    const { connectionId, entries } = await memberOf(chat, 'Mikki', '1', '2');
    await reservedEntry(chat, connectionId, '3', 'Mikki');

    const left = await removeConnection(deps(), { connectionId, reason: 'disconnect' });

    expect(left.map((e) => e.roomId).sort()).toEqual(['1', '2']);
    expect(
      events
        .ofKind('left')
        .map((e) => e.entryId)
        .sort(),
    ).toEqual(entries.map((e) => e.entryId).sort());
    await expect(chat.entries.get(connectionId, '3')).resolves.toBeUndefined();
  });

  it('tries every entry and throws the first error at the end', async () => {
    const { connectionId } = await memberOf(chat, 'Mikki', '1', '2', '3');
    const failure = new Error('DynamoDB down');
    chat.entries.failNext('beginExit', failure);

    await expect(removeConnection(deps(), { connectionId, reason: 'disconnect' })).rejects.toBe(failure);

    expect(events.ofKind('left').map((e) => e.roomId)).toEqual(['2', '3']);
  });

  it('reports a failed beginExit instead of queueing a left the fanout would drop', async () => {
    const mikki = await memberOfRoom(chat, 'Mikki', ROOM);
    chat.entries.failNext('beginExit', new Error('DynamoDB down'));

    await expect(
      removeConnection(deps(), { connectionId: mikki.connectionId, reason: 'gone' }),
    ).rejects.toThrow('DynamoDB down');

    expect(events.calls).toEqual([]);
    await expect(chat.entries.get(mikki.connectionId, ROOM)).resolves.toMatchObject({ state: 'active' });
  });

  it('leaves an entry leaving when its left cannot be queued, for the next 410 or TTL to finish', async () => {
    const mikki = await memberOfRoom(chat, 'Mikki', ROOM);
    events.refuseNext();

    await expect(
      removeConnection(deps(), { connectionId: mikki.connectionId, reason: 'disconnect' }),
    ).rejects.toBeInstanceOf(PublishRefusedError);

    await expect(chat.entries.get(mikki.connectionId, ROOM)).resolves.toMatchObject({ state: 'leaving' });
  });

  it('gives the publisher the deadline', async () => {
    const mikki = await memberOfRoom(chat, 'Mikki', ROOM);

    await removeConnection(deps(), { connectionId: mikki.connectionId, reason: 'disconnect', deadline: 777 });

    expect(events.calls[0]?.options).toEqual({ deadline: 777 });
  });

  it('does nothing more for a connection without entries, or one already gone', async () => {
    const { connectionId } = await registerConnection(chat, 'lobby');

    await expect(removeConnection(deps(), { connectionId, reason: 'disconnect' })).resolves.toEqual([]);
    await expect(removeConnection(deps(), { connectionId: 'gone=', reason: 'gone' })).resolves.toEqual([]);
    await expect(chat.registry.getConnection(connectionId)).resolves.toBeUndefined();
    expect(events.calls).toEqual([]);
  });
});
