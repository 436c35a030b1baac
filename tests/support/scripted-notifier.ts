/**
 * A ConnectionNotifier whose answer per connection is scripted: delivered, gone, or a
 * thrown error (as the real notifier throws after its retries), optionally a sequence of
 * answers and a latency. Records every payload (with the deadline it was given) and the most
 * sends ever in flight at once.
 */
import type { ServerEvent } from '../../functions/shared/domain/protocol';
import type { ConnectionNotifier, DeliveryResult } from '../../functions/shared/ports';

export type NotifierOutcome = DeliveryResult | Error;

export class ScriptedNotifier implements ConnectionNotifier {
  private readonly scripts = new Map<string, NotifierOutcome[]>();
  private readonly fallback: NotifierOutcome;
  private readonly latencyMs: number;
  private inFlight = 0;
  /** Highest number of send() calls pending at the same time. */
  maxInFlight = 0;
  /** Every send() call in the order it started. */
  readonly sends: { connectionId: string; payload: string; deadline?: number }[] = [];
  /** Runs at the start of every send (e.g. to move a clock on). */
  onSend?: (connectionId: string, payload: string) => void;

  constructor(options: { latencyMs?: number; otherwise?: NotifierOutcome } = {}) {
    this.fallback = options.otherwise ?? 'delivered';
    this.latencyMs = options.latencyMs ?? 0;
  }

  /** Answers for `connectionId`, one per send; the last one repeats. */
  script(connectionId: string, ...outcomes: NotifierOutcome[]): this {
    this.scripts.set(connectionId, outcomes);
    return this;
  }

  async send(
    connectionId: string,
    payload: string,
    options: { deadline?: number } = {},
  ): Promise<DeliveryResult> {
    this.sends.push({
      connectionId,
      payload,
      ...(options.deadline === undefined ? {} : { deadline: options.deadline }),
    });
    this.onSend?.(connectionId, payload);
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
      else await Promise.resolve();
      const script = this.scripts.get(connectionId);
      const outcome = (script && script.length > 1 ? script.shift() : script?.[0]) ?? this.fallback;
      if (outcome instanceof Error) throw outcome;
      return outcome;
    } finally {
      this.inFlight -= 1;
    }
  }

  /** The server events sent to one connection, parsed. */
  eventsTo(connectionId: string): ServerEvent[] {
    return this.sends
      .filter((s) => s.connectionId === connectionId)
      .map((s) => JSON.parse(s.payload) as ServerEvent);
  }

  /** Connection ids that were sent anything, in first-send order. */
  recipients(): string[] {
    return [...new Set(this.sends.map((s) => s.connectionId))];
  }
}
