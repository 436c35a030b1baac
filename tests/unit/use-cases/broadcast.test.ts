import { ConnectionNotFoundError, ForbiddenError } from '../../../functions/shared/domain/errors';
import { broadcast } from '../../../functions/shared/use-cases/broadcast';
import { registerConnection } from '../../support/chat-state';
import { InMemoryConnectionStore } from '../../support/in-memory-connection-store';
import { RecordingPublisher } from '../../support/recording-publisher';

describe('broadcast', () => {
  let store: InMemoryConnectionStore;
  let events: RecordingPublisher;

  beforeEach(() => {
    store = new InMemoryConnectionStore();
    events = new RecordingPublisher();
  });

  it('queues a broadcast event from an admin, signed with the admin principal', async () => {
    const { connectionId } = await registerConnection(store, 'roope', 'admin');

    await broadcast({ store, events }, { connectionId, message: 'Huoltokatko klo 18' });

    expect(events.events).toEqual([
      expect.objectContaining({ v: 1, kind: 'broadcast', from: 'admin', message: 'Huoltokatko klo 18' }),
    ]);
  });

  it('answers forbidden to a user and queues nothing', async () => {
    const { connectionId } = await registerConnection(store, 'mikki', 'user');

    const error = await broadcast({ store, events }, { connectionId, message: 'Hei' }).catch(
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(ForbiddenError);
    expect((error as ForbiddenError).code).toBe('forbidden');
    expect(events.events).toEqual([]);
  });

  it('refuses a connection that is no longer registered', async () => {
    await expect(
      broadcast({ store, events }, { connectionId: 'gone=', message: 'Hei' }),
    ).rejects.toBeInstanceOf(ConnectionNotFoundError);
    expect(events.events).toEqual([]);
  });
});
