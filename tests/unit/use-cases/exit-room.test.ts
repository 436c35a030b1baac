import { NotInRoomError, RoomRequiredError } from '../../../functions/shared/domain/errors';
import { exitRoom } from '../../../functions/shared/use-cases/exit-room';
import { memberOf, nicknamesIn, registerConnection } from '../../support/chat-state';
import { InMemoryConnectionStore } from '../../support/in-memory-connection-store';
import { RecordingPublisher } from '../../support/recording-publisher';

describe('exitRoom', () => {
  let store: InMemoryConnectionStore;
  let events: RecordingPublisher;

  beforeEach(() => {
    store = new InMemoryConnectionStore();
    events = new RecordingPublisher();
  });

  it('leaves the named room and queues a left event with reason exit and the nickname on record', async () => {
    const { connectionId } = await memberOf(store, 'Hessu', '1', '2');

    await exitRoom({ store, events }, { connectionId, roomId: '1' });

    expect(events.events).toEqual([
      expect.objectContaining({ kind: 'left', reason: 'exit', roomId: '1', connectionId, nickname: 'Hessu' }),
    ]);
    expect((await store.listMemberships(connectionId)).map((m) => m.roomId)).toEqual(['2']);
    expect(await nicknamesIn(store, '2')).toEqual(['Hessu']);
  });

  it('keeps the leaver on the delivery roster until the fanout has delivered its left event', async () => {
    const { connectionId } = await memberOf(store, 'Hessu', '1');

    await exitRoom({ store, events }, { connectionId, roomId: '1' });

    expect(await nicknamesIn(store, '1')).toEqual(['Hessu']);
    await store.forgetMember('1', connectionId);
    expect(await nicknamesIn(store, '1')).toEqual([]);
  });

  it('leaves the only room when roomId is left out', async () => {
    const { connectionId } = await memberOf(store, 'Hessu', '7');

    const membership = await exitRoom({ store, events }, { connectionId });

    expect(membership.roomId).toBe('7');
    expect(events.ofKind('left').map((e) => e.roomId)).toEqual(['7']);
  });

  it('answers not_in_room when roomId is left out and the connection is in no room', async () => {
    const { connectionId } = await registerConnection(store, 'lonely');

    const error = await exitRoom({ store, events }, { connectionId }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(NotInRoomError);
    expect((error as NotInRoomError).code).toBe('not_in_room');
    expect(events.events).toEqual([]);
  });

  it('answers room_required when roomId is left out and the connection is in two rooms', async () => {
    const { connectionId } = await memberOf(store, 'Hessu', '1', '2');
    const before = store.snapshot();

    const error = await exitRoom({ store, events }, { connectionId }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(RoomRequiredError);
    expect((error as RoomRequiredError).code).toBe('room_required');
    expect(store.snapshot()).toEqual(before);
    expect(events.events).toEqual([]);
  });

  it('answers not_in_room for a room the connection is not in', async () => {
    const { connectionId } = await memberOf(store, 'Hessu', '1');
    await memberOf(store, 'Aku', '2');

    await expect(exitRoom({ store, events }, { connectionId, roomId: '2' })).rejects.toBeInstanceOf(
      NotInRoomError,
    );
    expect(await nicknamesIn(store, '2')).toEqual(['Aku']);
  });

  it('restores the membership when the left event cannot be queued, and rethrows', async () => {
    const { connectionId } = await memberOf(store, 'Hessu', '1');
    const failure = new Error('SQS down');
    events.failNext(failure);

    await expect(exitRoom({ store, events }, { connectionId, roomId: '1' })).rejects.toBe(failure);

    await expect(store.getMembership(connectionId, '1')).resolves.toEqual({
      connectionId,
      roomId: '1',
      nickname: 'Hessu',
    });
    // ...and still receiving the room's events.
    expect(await nicknamesIn(store, '1')).toEqual(['Hessu']);
  });

  it('takes the member off the roster when its nickname was taken before it could be restored', async () => {
    const { connectionId } = await memberOf(store, 'Hessu', '1');
    events.failNext(new Error('SQS down'));
    store.failNext('enterRoom', new Error('nickname taken meanwhile'));

    await expect(exitRoom({ store, events }, { connectionId, roomId: '1' })).rejects.toThrow('SQS down');

    await expect(store.getMembership(connectionId, '1')).resolves.toBeUndefined();
    expect(await nicknamesIn(store, '1')).toEqual([]);
  });
});
