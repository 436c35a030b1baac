/**
 * The delivery roster follows the room's event order, not the Lambdas' timing: a member
 * receives exactly the room events between its `entered` and its `exited`, even when it
 * enters or exits while earlier events are still waiting in the queue.
 */
import type { RoomEvent } from '../../../functions/shared/domain/room-events';
import type { RoomEventPublisher } from '../../../functions/shared/ports';
import { deliverRoomEvent } from '../../../functions/shared/use-cases/deliver-room-event';
import { enterRoom } from '../../../functions/shared/use-cases/enter-room';
import { exitRoom } from '../../../functions/shared/use-cases/exit-room';
import { sendMessage } from '../../../functions/shared/use-cases/send-message';
import { memberOf, registerConnection } from '../../support/chat-state';
import { InMemoryConnectionStore } from '../../support/in-memory-connection-store';
import { ScriptedNotifier } from '../../support/scripted-notifier';

/** A queue: route use cases publish to it; `drain` runs the fanout over it in order. */
class Queue implements RoomEventPublisher {
  readonly pending: RoomEvent[] = [];
  async publish(...events: RoomEvent[]): Promise<void> {
    this.pending.push(...events);
  }
}

describe('room delivery roster', () => {
  let store: InMemoryConnectionStore;
  let queue: Queue;
  let notifier: ScriptedNotifier;
  const limits = { perWindow: 100, windowSeconds: 10 };

  beforeEach(() => {
    store = new InMemoryConnectionStore();
    queue = new Queue();
    notifier = new ScriptedNotifier();
  });

  const drain = async () => {
    for (let event = queue.pending.shift(); event; event = queue.pending.shift()) {
      await deliverRoomEvent({ store, events: queue, notifier, concurrency: 4 }, event);
    }
  };
  const received = (connectionId: string) =>
    notifier.eventsTo(connectionId).map((e) => (e.type === 'message' ? `message:${e.message}` : e.type));

  it('does not hand a newcomer messages queued before it entered', async () => {
    const mikki = await memberOf(store, 'Mikki', '1');
    const aku = await registerConnection(store, 'aku');
    await sendMessage(
      { store, events: queue, limits },
      { connectionId: mikki.connectionId, message: 'early' },
    );

    await enterRoom(
      { store, events: queue },
      { connectionId: aku.connectionId, roomId: '1', nickname: 'Aku' },
    );
    await sendMessage(
      { store, events: queue, limits },
      { connectionId: mikki.connectionId, message: 'late' },
    );
    await drain();

    expect(received(aku.connectionId)).toEqual(['entered', 'message:late']);
    expect(received(mikki.connectionId)).toEqual(['message:early', 'joined', 'message:late']);
  });

  it('still hands a leaver the messages queued before it exited', async () => {
    const mikki = await memberOf(store, 'Mikki', '1');
    const hessu = await memberOf(store, 'Hessu', '1');
    await sendMessage(
      { store, events: queue, limits },
      { connectionId: mikki.connectionId, message: 'bye?' },
    );

    await exitRoom({ store, events: queue }, { connectionId: hessu.connectionId, roomId: '1' });
    await sendMessage(
      { store, events: queue, limits },
      { connectionId: mikki.connectionId, message: 'gone' },
    );
    await drain();

    expect(received(hessu.connectionId)).toEqual(['message:bye?', 'exited']);
    expect(received(mikki.connectionId)).toEqual(['message:bye?', 'left', 'message:gone']);
  });

  it('follows an exit and a re-entry that both happen before the fanout catches up', async () => {
    const mikki = await memberOf(store, 'Mikki', '1');
    const hessu = await memberOf(store, 'Hessu', '1');

    await exitRoom({ store, events: queue }, { connectionId: hessu.connectionId, roomId: '1' });
    await sendMessage(
      { store, events: queue, limits },
      { connectionId: mikki.connectionId, message: 'between' },
    );
    await enterRoom(
      { store, events: queue },
      { connectionId: hessu.connectionId, roomId: '1', nickname: 'Hessu' },
    );
    await sendMessage(
      { store, events: queue, limits },
      { connectionId: mikki.connectionId, message: 'after' },
    );
    await drain();

    expect(received(hessu.connectionId)).toEqual(['exited', 'entered', 'message:after']);
  });
});
