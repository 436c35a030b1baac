import {
  AlreadyInRoomError,
  ConnectionNotFoundError,
  NicknameTakenError,
} from '../../../functions/shared/domain/errors';
import { MAX_LISTED_MEMBERS } from '../../../functions/shared/domain/rules';
import { enterRoom } from '../../../functions/shared/use-cases/enter-room';
import { memberOf, nicknamesIn, registerConnection } from '../../support/chat-state';
import { InMemoryConnectionStore } from '../../support/in-memory-connection-store';
import { RecordingPublisher } from '../../support/recording-publisher';
import { connectionIdFor } from '../../support/ws-events';

describe('enterRoom', () => {
  let store: InMemoryConnectionStore;
  let events: RecordingPublisher;

  beforeEach(() => {
    store = new InMemoryConnectionStore();
    events = new RecordingPublisher();
  });

  it('queues one joined event naming the newcomer and everyone now in the room', async () => {
    await memberOf(store, 'Aku', '1');
    const { connectionId } = await registerConnection(store, 'mikki');

    await enterRoom({ store, events }, { connectionId, roomId: '1', nickname: 'Mikki' });

    expect(events.calls).toHaveLength(1);
    expect(events.events).toEqual([
      expect.objectContaining({
        v: 1,
        kind: 'joined',
        roomId: '1',
        connectionId,
        nickname: 'Mikki',
        members: expect.arrayContaining(['Aku', 'Mikki']),
      }),
    ]);
  });

  it('returns the members of the room, the newcomer included', async () => {
    await memberOf(store, 'Aku', '1');
    const { connectionId } = await registerConnection(store, 'mikki');

    const { members } = await enterRoom({ store, events }, { connectionId, roomId: '1', nickname: 'Mikki' });

    expect(members.sort()).toEqual(['Aku', 'Mikki']);
  });

  it('records the membership', async () => {
    const { connectionId } = await registerConnection(store, 'mikki');

    await enterRoom({ store, events }, { connectionId, roomId: '1', nickname: 'Mikki' });

    await expect(store.getMembership(connectionId, '1')).resolves.toEqual({
      connectionId,
      roomId: '1',
      nickname: 'Mikki',
    });
  });

  it('refuses a nickname taken in the room and queues nothing', async () => {
    await memberOf(store, 'Mikki', '1');
    const { connectionId } = await registerConnection(store, 'other');
    const before = store.snapshot();

    await expect(
      enterRoom({ store, events }, { connectionId, roomId: '1', nickname: 'mikki' }),
    ).rejects.toBeInstanceOf(NicknameTakenError);

    expect(events.events).toEqual([]);
    expect(store.snapshot()).toEqual(before);
  });

  it('refuses a room the connection is already in', async () => {
    const { connectionId } = await memberOf(store, 'Mikki', '1');

    await expect(
      enterRoom({ store, events }, { connectionId, roomId: '1', nickname: 'Mikki' }),
    ).rejects.toMatchObject({ code: 'already_in_room' });
    expect(events.events).toEqual([]);
  });

  it('refuses a connection that is no longer registered', async () => {
    await expect(
      enterRoom({ store, events }, { connectionId: connectionIdFor('gone'), roomId: '1', nickname: 'Mikki' }),
    ).rejects.toBeInstanceOf(ConnectionNotFoundError);
    expect(events.events).toEqual([]);
  });

  it('undoes the membership when the joined event cannot be queued, and rethrows', async () => {
    const { connectionId } = await registerConnection(store, 'mikki');
    const failure = new Error('SQS down');
    events.failNext(failure);

    await expect(enterRoom({ store, events }, { connectionId, roomId: '1', nickname: 'Mikki' })).rejects.toBe(
      failure,
    );

    await expect(store.getMembership(connectionId, '1')).resolves.toBeUndefined();
    expect(await nicknamesIn(store, '1')).toEqual([]);
  });

  it('frees the nickname again after a failed publish, so a retry succeeds', async () => {
    const { connectionId } = await registerConnection(store, 'mikki');
    events.failNext();
    await enterRoom({ store, events }, { connectionId, roomId: '1', nickname: 'Mikki' }).catch(
      () => undefined,
    );

    await expect(
      enterRoom({ store, events }, { connectionId, roomId: '1', nickname: 'Mikki' }),
    ).resolves.toEqual({ members: ['Mikki'] });
  });

  it('rethrows the publish error even when undoing the membership fails too', async () => {
    const { connectionId } = await registerConnection(store, 'mikki');
    const failure = new Error('SQS down');
    events.failNext(failure);
    store.failNext('undoEnter', new Error('DynamoDB down'));

    await expect(enterRoom({ store, events }, { connectionId, roomId: '1', nickname: 'Mikki' })).rejects.toBe(
      failure,
    );
  });
});

describe('AlreadyInRoomError', () => {
  it('carries the already_in_room code', () => {
    expect(new AlreadyInRoomError('1').code).toBe('already_in_room');
  });
});

describe('enterRoom in a very large room', () => {
  it('lists at most MAX_LISTED_MEMBERS nicknames but counts everyone, so entered stays under the frame limit', async () => {
    const store = new InMemoryConnectionStore({ pageSize: 1000 });
    const events = new RecordingPublisher();
    for (let i = 0; i < MAX_LISTED_MEMBERS + 5; i++) await memberOf(store, `user${i}`, 'big');
    const { connectionId } = await registerConnection(store, 'late');

    await enterRoom({ store, events }, { connectionId, roomId: 'big', nickname: 'Late' });

    const [joined] = events.events as { members: string[]; memberCount: number }[];
    expect(joined?.members).toHaveLength(MAX_LISTED_MEMBERS);
    expect(joined?.memberCount).toBe(MAX_LISTED_MEMBERS + 6);
  });
});
