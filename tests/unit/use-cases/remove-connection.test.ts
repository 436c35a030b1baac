import { leftEventId, removeConnection } from '../../../functions/shared/use-cases/remove-connection';
import { memberOf, nicknamesIn, registerConnection } from '../../support/chat-state';
import { InMemoryConnectionStore } from '../../support/in-memory-connection-store';
import { RecordingPublisher } from '../../support/recording-publisher';

describe('removeConnection', () => {
  const now = new Date('2030-01-01T12:00:00.000Z');
  let store: InMemoryConnectionStore;
  let events: RecordingPublisher;
  const deps = () => ({ store, events, now: () => now });

  beforeEach(() => {
    store = new InMemoryConnectionStore();
    events = new RecordingPublisher();
  });

  it('queues a left event for every room the connection was in, with the given reason', async () => {
    const { connectionId } = await memberOf(store, 'Aku', '1', '2');

    await removeConnection(deps(), { connectionId, reason: 'disconnect' });

    expect(events.events).toEqual([
      expect.objectContaining({
        kind: 'left',
        roomId: '1',
        connectionId,
        nickname: 'Aku',
        reason: 'disconnect',
      }),
      expect.objectContaining({
        kind: 'left',
        roomId: '2',
        connectionId,
        nickname: 'Aku',
        reason: 'disconnect',
      }),
    ]);
    expect(events.events.every((e) => e.at === now.toISOString())).toBe(true);
  });

  it('deletes the connection and its memberships', async () => {
    const { connectionId } = await memberOf(store, 'Aku', '1');
    await memberOf(store, 'Mikki', '1');

    await removeConnection(deps(), { connectionId, reason: 'disconnect' });

    await expect(store.getConnection(connectionId)).resolves.toBeUndefined();
    expect(await nicknamesIn(store, '1')).toEqual(['Mikki']);
  });

  it('returns the memberships it removed', async () => {
    const { connectionId, memberships } = await memberOf(store, 'Aku', '1', '2');

    await expect(removeConnection(deps(), { connectionId, reason: 'gone' })).resolves.toEqual(memberships);
  });

  it('gives left events ids derived from connection and room, the same on every attempt', async () => {
    const attempt = async () => {
      const fresh = new InMemoryConnectionStore();
      await fresh.putConnection({ connectionId: 'Aku1=', role: 'user', principalId: 'user', connectedAt: 1 });
      await fresh.enterRoom({ connectionId: 'Aku1=', roomId: '1', nickname: 'Aku' });
      await fresh.enterRoom({ connectionId: 'Aku1=', roomId: '2', nickname: 'Aku' });
      const published = new RecordingPublisher();
      await removeConnection({ store: fresh, events: published }, { connectionId: 'Aku1=', reason: 'gone' });
      return published.events.map((e) => e.id);
    };

    const first = await attempt();
    const second = await attempt();

    expect(second).toEqual(first);
    expect(first).toEqual([leftEventId('Aku1=', '1'), leftEventId('Aku1=', '2')]);
  });

  it('queues nothing for a connection in no room, and still deletes it', async () => {
    const { connectionId } = await registerConnection(store, 'lonely');

    await removeConnection(deps(), { connectionId, reason: 'disconnect' });

    expect(events.calls).toEqual([]);
    await expect(store.getConnection(connectionId)).resolves.toBeUndefined();
  });

  it('keeps all state when the notices cannot be queued, so a retry loses none', async () => {
    const { connectionId } = await memberOf(store, 'Aku', '1', '2');
    const before = store.snapshot();
    const failure = new Error('SQS down');
    events.failNext(failure);

    await expect(removeConnection(deps(), { connectionId, reason: 'disconnect' })).rejects.toBe(failure);

    expect(store.snapshot()).toEqual(before);
  });

  it('queues all notices in one ordered publish', async () => {
    const { connectionId } = await memberOf(store, 'Aku', '1', '2', '3');

    await removeConnection(deps(), { connectionId, reason: 'disconnect' });

    expect(events.calls).toHaveLength(1);
  });
});

describe('leftEventId', () => {
  it('is 32 hex characters, different per room and per connection', () => {
    const id = leftEventId('c1=', '1');

    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(leftEventId('c1=', '2')).not.toBe(id);
    expect(leftEventId('c2=', '1')).not.toBe(id);
    expect(leftEventId('c1=', '1')).toBe(id);
  });
});
