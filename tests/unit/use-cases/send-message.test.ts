import { NotInRoomError, RateLimitedError, RoomRequiredError } from '../../../functions/shared/domain/errors';
import { sendMessage } from '../../../functions/shared/use-cases/send-message';
import { memberOf, registerConnection } from '../../support/chat-state';
import { InMemoryConnectionStore } from '../../support/in-memory-connection-store';
import { RecordingPublisher } from '../../support/recording-publisher';

describe('sendMessage', () => {
  const now = new Date('2030-01-01T12:00:00.000Z');
  const limits = { perWindow: 3, windowSeconds: 10 };
  let store: InMemoryConnectionStore;
  let events: RecordingPublisher;
  const deps = () => ({ store, events, limits, now: () => now });

  beforeEach(() => {
    store = new InMemoryConnectionStore();
    events = new RecordingPublisher();
  });

  it('queues a message event for the room, with the time it was sent', async () => {
    const { connectionId } = await memberOf(store, 'Mikki', '1');

    await sendMessage(deps(), { connectionId, roomId: '1', message: 'Hei kaikki!' });

    expect(events.events).toEqual([
      expect.objectContaining({
        v: 1,
        kind: 'message',
        roomId: '1',
        connectionId,
        from: 'Mikki',
        message: 'Hei kaikki!',
        at: now.toISOString(),
      }),
    ]);
  });

  it('takes `from` from the membership in that room, not from the connection or request', async () => {
    const { connectionId } = await registerConnection(store, 'mikki');
    await store.enterRoom({ connectionId, roomId: '1', nickname: 'Mikki' });
    await store.enterRoom({ connectionId, roomId: '2', nickname: 'Mikki Hiiri' });

    await sendMessage(deps(), { connectionId, roomId: '2', message: 'Hei' });

    expect(events.ofKind('message')[0]?.from).toBe('Mikki Hiiri');
  });

  it('sends to the only room when roomId is left out', async () => {
    const { connectionId } = await memberOf(store, 'Mikki', '5');

    const membership = await sendMessage(deps(), { connectionId, message: 'Hei' });

    expect(membership.roomId).toBe('5');
    expect(events.ofKind('message')[0]?.roomId).toBe('5');
  });

  it('answers not_in_room when roomId is left out and the connection is in no room', async () => {
    const { connectionId } = await registerConnection(store, 'lonely');

    await expect(sendMessage(deps(), { connectionId, message: 'Hei' })).rejects.toBeInstanceOf(
      NotInRoomError,
    );
    expect(events.events).toEqual([]);
  });

  it('answers room_required when roomId is left out and the connection is in two rooms', async () => {
    const { connectionId } = await memberOf(store, 'Mikki', '1', '2');

    await expect(sendMessage(deps(), { connectionId, message: 'Hei' })).rejects.toBeInstanceOf(
      RoomRequiredError,
    );
    expect(events.events).toEqual([]);
  });

  it('answers not_in_room for a room not entered, without spending a send token', async () => {
    const { connectionId } = await memberOf(store, 'Mikki', '1');

    await expect(sendMessage(deps(), { connectionId, roomId: '2', message: 'Hei' })).rejects.toBeInstanceOf(
      NotInRoomError,
    );
    expect(store.calls).not.toContain('takeSendToken');
  });

  it('answers rate_limited once the window allowance is used up, and queues nothing more', async () => {
    const { connectionId } = await memberOf(store, 'Mikki', '1');
    for (let i = 0; i < limits.perWindow; i++) await sendMessage(deps(), { connectionId, message: `m${i}` });

    const error = await sendMessage(deps(), { connectionId, message: 'one too many' }).catch(
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).code).toBe('rate_limited');
    expect(events.events).toHaveLength(limits.perWindow);
  });

  it('passes the publisher error through', async () => {
    const { connectionId } = await memberOf(store, 'Mikki', '1');
    const failure = new Error('SQS down');
    events.failNext(failure);

    await expect(sendMessage(deps(), { connectionId, message: 'Hei' })).rejects.toBe(failure);
  });
});
