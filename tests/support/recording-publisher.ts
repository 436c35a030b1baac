/**
 * A RoomEventPublisher that records what the use cases queue, as strict as SQS FIFO where it
 * matters to them: an event whose deduplication id was accepted in its message group within
 * the last 5 minutes is accepted again but not queued again. Its next answers can be
 * scripted: refused (nothing queued), unconfirmed (nothing queued), or accepted and then
 * unconfirmed (queued, but the caller hears PublishUnconfirmedError: an ambiguous publish).
 */
import {
  PublishRefusedError,
  PublishUnconfirmedError,
} from '../../functions/shared/adapters/sqs-room-event-publisher';
import { deduplicationIdOf, messageGroupOf, type RoomEvent } from '../../functions/shared/domain/room-events';
import type { PublishOptions, RoomEventPublisher } from '../../functions/shared/ports';

/** SQS FIFO's deduplication interval. */
export const DEDUPLICATION_MS = 5 * 60 * 1000;

export type PublishOutcome = 'queued' | 'refused' | 'unconfirmed' | 'accepted-unconfirmed' | 'failed';

type Hook = (events: RoomEvent[]) => unknown;
type Script =
  | { kind: 'refused'; error: PublishRefusedError }
  | { kind: 'unconfirmed'; error: PublishUnconfirmedError }
  | { kind: 'accepted-unconfirmed'; error: PublishUnconfirmedError; afterAccept?: Hook }
  | { kind: 'failed'; error: unknown };

export interface RecordingPublisherOptions {
  /** The clock of the deduplication interval (epoch ms). */
  now?: () => number;
}

export class RecordingPublisher implements RoomEventPublisher {
  /** Every event queued (what the fanout will receive), in order. */
  readonly events: RoomEvent[] = [];
  /** Every publish() call with its options and what came of it. */
  readonly calls: { events: RoomEvent[]; options: PublishOptions; outcome: PublishOutcome }[] = [];
  /** Events accepted but not queued again: their deduplication id was seen within 5 minutes. */
  readonly deduplicated: RoomEvent[] = [];
  private readonly scripts: Script[] = [];
  private readonly listeners: Hook[] = [];
  private readonly seen = new Map<string, number>();
  private taken = 0;
  private readonly now: () => number;

  constructor(options: RecordingPublisherOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  /** The next publish() is refused by SQS: nothing is queued (PublishRefusedError). */
  refuseNext(): this {
    this.scripts.push({
      kind: 'refused',
      error: new PublishRefusedError([
        { id: '?', code: 'InvalidParameterValue', message: 'refused (scripted)' },
      ]),
    });
    return this;
  }

  /** The next publish() cannot be confirmed and nothing was queued (PublishUnconfirmedError). */
  leaveUnconfirmedNext(): this {
    this.scripts.push({
      kind: 'unconfirmed',
      error: new PublishUnconfirmedError(new Error('timeout (scripted)')),
    });
    return this;
  }

  /**
   * The next publish() queues its events, runs `afterAccept` (e.g. the fanout logging them
   * before the route settles), then tells the caller it could not confirm them.
   */
  acceptThenLeaveUnconfirmedNext(afterAccept?: Hook): this {
    this.scripts.push({
      kind: 'accepted-unconfirmed',
      error: new PublishUnconfirmedError(new Error('answer lost (scripted)')),
      ...(afterAccept ? { afterAccept } : {}),
    });
    return this;
  }

  /** The next publish() rejects with `error` and queues nothing. */
  failNext(error: unknown = new Error('queue unavailable (scripted)')): this {
    this.scripts.push({ kind: 'failed', error });
    return this;
  }

  /** Calls `listener` with the events each publish queues, once they are queued. */
  onQueued(listener: Hook): this {
    this.listeners.push(listener);
    return this;
  }

  async publish(events: RoomEvent[], options: PublishOptions = {}): Promise<void> {
    const batch = [...events];
    const script = this.scripts.shift();
    this.calls.push({ events: batch, options, outcome: script?.kind ?? 'queued' });
    if (script?.kind === 'refused' || script?.kind === 'unconfirmed' || script?.kind === 'failed') {
      throw script.error;
    }
    const queued = this.queue(batch);
    for (const listener of this.listeners) await listener(queued);
    if (script?.kind === 'accepted-unconfirmed') {
      await script.afterAccept?.(queued);
      throw script.error;
    }
  }

  /** Takes every event queued since the last take, in order (what the fanout receives next). */
  take(): RoomEvent[] {
    const next = this.events.slice(this.taken);
    this.taken = this.events.length;
    return next;
  }

  ofKind<K extends RoomEvent['kind']>(kind: K): Extract<RoomEvent, { kind: K }>[] {
    return this.events.filter((e): e is Extract<RoomEvent, { kind: K }> => e.kind === kind);
  }

  private queue(events: RoomEvent[]): RoomEvent[] {
    const now = this.now();
    const queued: RoomEvent[] = [];
    for (const event of events) {
      const key = `${messageGroupOf(event)}\0${deduplicationIdOf(event)}`;
      const first = this.seen.get(key);
      if (first !== undefined && now - first < DEDUPLICATION_MS) {
        this.deduplicated.push(event);
        continue;
      }
      this.seen.set(key, now);
      this.events.push(event);
      queued.push(event);
    }
    return queued;
  }
}
