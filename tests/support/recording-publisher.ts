/**
 * A RoomEventPublisher that records what the use cases publish, and can be told to fail.
 */
import type { RoomEvent } from '../../functions/shared/domain/room-events';
import type { RoomEventPublisher } from '../../functions/shared/ports';

export class RecordingPublisher implements RoomEventPublisher {
  /** Every event published, in order. */
  readonly events: RoomEvent[] = [];
  /** Each publish() call's events, in order (one call = one ordered batch). */
  readonly calls: RoomEvent[][] = [];
  private readonly failures: unknown[] = [];

  /** Makes the next publish() reject with `error` without recording anything. */
  failNext(error: unknown = new Error('queue unavailable (scripted)')): this {
    this.failures.push(error);
    return this;
  }

  async publish(...events: RoomEvent[]): Promise<void> {
    const failure = this.failures.shift();
    if (failure !== undefined) throw failure;
    this.calls.push(events);
    this.events.push(...events);
  }

  ofKind<K extends RoomEvent['kind']>(kind: K): Extract<RoomEvent, { kind: K }>[] {
    return this.events.filter((e): e is Extract<RoomEvent, { kind: K }> => e.kind === kind);
  }
}
