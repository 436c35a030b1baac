import { PublishRefusedError } from '../../../functions/shared/adapters/sqs-room-event-publisher';
import { ConnectionNotFoundError, ForbiddenError } from '../../../functions/shared/domain/errors';
import { broadcast } from '../../../functions/shared/use-cases/broadcast';
import { registerConnection } from '../../support/chat-state';
import { type InMemoryChat, inMemoryChat } from '../../support/in-memory';
import { RecordingPublisher } from '../../support/recording-publisher';

describe('broadcast', () => {
  let chat: InMemoryChat;
  let events: RecordingPublisher;
  const deps = () => ({ registry: chat.registry, events });

  beforeEach(() => {
    chat = inMemoryChat();
    events = new RecordingPublisher();
  });

  it('queues one broadcast record, without a shard, from an admin signed with its principal', async () => {
    const { connectionId } = await registerConnection(chat, 'roope', 'admin');

    await broadcast(deps(), { connectionId, message: 'Huoltokatko klo 18' });

    expect(events.calls).toHaveLength(1);
    expect(events.events).toEqual([
      {
        v: 2,
        id: expect.any(String),
        at: expect.any(String),
        kind: 'broadcast',
        from: 'admin',
        message: 'Huoltokatko klo 18',
      },
    ]);
  });

  it("signs a broadcast with the admin's display name from the sign-in, when there is one", async () => {
    const { connectionId } = await registerConnection(chat, 'roope', 'admin', 'Roope Ankka');

    await broadcast(deps(), { connectionId, message: 'x' });

    expect(events.events).toMatchObject([{ from: 'Roope Ankka' }]);
  });

  it('answers forbidden to a user and queues nothing', async () => {
    const { connectionId } = await registerConnection(chat, 'mikki', 'user');

    const error = await broadcast(deps(), { connectionId, message: 'Hei' }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ForbiddenError);
    expect((error as ForbiddenError).code).toBe('forbidden');
    expect(events.calls).toEqual([]);
  });

  it('refuses a connection that is no longer registered', async () => {
    await expect(broadcast(deps(), { connectionId: 'gone=', message: 'Hei' })).rejects.toBeInstanceOf(
      ConnectionNotFoundError,
    );
    expect(events.calls).toEqual([]);
  });

  it('gives the publisher the deadline, and passes a refusal on', async () => {
    const { connectionId } = await registerConnection(chat, 'roope', 'admin');
    events.refuseNext();

    await expect(broadcast(deps(), { connectionId, message: 'x', deadline: 5 })).rejects.toBeInstanceOf(
      PublishRefusedError,
    );
    expect(events.calls[0]?.options).toEqual({ deadline: 5 });
  });
});
