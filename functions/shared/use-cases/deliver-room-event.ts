import { forEachConcurrentlyPaged } from '../domain/concurrency.js';
import { type ServerEvent, serverEvent } from '../domain/protocol.js';
import type { RoomEvent } from '../domain/room-events.js';
import type { ConnectionNotifier, ConnectionStore, RoomEventPublisher } from '../ports.js';
import { removeConnection } from './remove-connection.js';

export interface FanoutDeps {
  store: ConnectionStore;
  notifier: ConnectionNotifier;
  events: RoomEventPublisher;
  /** Upper bound on posts in flight at once. */
  concurrency: number;
}

export interface DeliveryReport {
  delivered: number;
  gone: string[];
  failed: number;
}

/** Thrown when some live recipients could not be reached; the record is then retried whole. */
export class DeliveryFailedError extends Error {
  constructor(readonly report: DeliveryReport) {
    super(`${report.failed} deliveries failed after retries`);
    this.name = 'DeliveryFailedError';
  }
}

/** A recipient and the frame it gets (serialised once per event, not once per recipient). */
type Recipient = { connectionId: string; payload: string };

const frame = (event: ServerEvent): string => JSON.stringify(event);

/** What each recipient of a room event receives, page by page (rooms are Queried, never Scanned). */
async function* recipientsOf(store: ConnectionStore, event: RoomEvent): AsyncGenerator<Recipient[]> {
  const meta = { id: event.id, at: event.at };
  if (event.kind === 'broadcast') {
    const payload = frame(serverEvent({ type: 'broadcast', from: event.from, message: event.message }, meta));
    for await (const page of store.allConnections()) {
      yield page.map((connectionId) => ({ connectionId, payload }));
    }
    return;
  }
  if (event.kind === 'joined') {
    const entered = serverEvent(
      {
        type: 'entered',
        roomId: event.roomId,
        nickname: event.nickname,
        members: event.members,
        memberCount: event.memberCount ?? event.members.length,
      },
      meta,
    );
    yield [{ connectionId: event.connectionId, payload: frame(entered) }];
  }
  if (event.kind === 'left' && event.reason === 'exit') {
    const exited = serverEvent({ type: 'exited', roomId: event.roomId }, meta);
    yield [{ connectionId: event.connectionId, payload: frame(exited) }];
  }
  const payload = frame(
    event.kind === 'message'
      ? serverEvent({ type: 'message', roomId: event.roomId, from: event.from, message: event.message }, meta)
      : event.kind === 'joined'
        ? serverEvent({ type: 'joined', roomId: event.roomId, nickname: event.nickname }, meta)
        : serverEvent(
            { type: 'left', roomId: event.roomId, nickname: event.nickname, reason: event.reason },
            meta,
          ),
  );
  // The sender of a message gets the room's copy too; the subject of joined/left is told separately.
  const skip = event.kind === 'message' ? undefined : event.connectionId;
  for await (const page of store.roomMembers(event.roomId)) {
    yield page.filter((m) => m.connectionId !== skip).map((m) => ({ connectionId: m.connectionId, payload }));
  }
}

/**
 * Fanout: posts a room event to every recipient with bounded concurrency. Connections that
 * answer 410 are removed (their rooms are told, reason `gone`); if any live recipient still
 * fails after the notifier's retries, throws DeliveryFailedError so the record is redelivered
 * (clients drop the duplicates by `id`).
 */
export async function deliverRoomEvent(deps: FanoutDeps, event: RoomEvent): Promise<DeliveryReport> {
  const report: DeliveryReport = { delivered: 0, gone: [], failed: 0 };
  let firstError: unknown;
  // The roster follows the room's event order: a newcomer receives from its `joined` on.
  if (event.kind === 'joined') await deps.store.activateMember(event.roomId, event.connectionId);
  await forEachConcurrentlyPaged(
    recipientsOf(deps.store, event),
    deps.concurrency,
    async ({ connectionId, payload }) => {
      try {
        const result = await deps.notifier.send(connectionId, payload);
        if (result === 'gone') report.gone.push(connectionId);
        else report.delivered += 1;
      } catch (error) {
        report.failed += 1;
        firstError ??= error;
      }
    },
  );
  for (const connectionId of new Set(report.gone)) {
    await removeConnection(deps, { connectionId, reason: 'gone' });
  }
  if (report.failed > 0) throw Object.assign(new DeliveryFailedError(report), { cause: firstError });
  // ...and one who exits receives up to its `left`, which has now been delivered.
  if (event.kind === 'left' && event.reason === 'exit') {
    await deps.store.forgetMember(event.roomId, event.connectionId);
  }
  return report;
}
