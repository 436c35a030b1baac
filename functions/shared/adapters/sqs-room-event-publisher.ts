import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { deduplicationIdOf, messageGroupOf, type RoomEvent } from '../domain/room-events.js';
import type { PublishOptions, RoomEventPublisher } from '../ports.js';
import { sleep } from '../runtime/sleep.js';

const MAX_BATCH = 10;

/** SQS refused the events: nothing of them was queued. */
export class PublishRefusedError extends Error {
  constructor(readonly failures: { id: string; code?: string | undefined; message?: string | undefined }[]) {
    super(`SQS refused ${failures.length} room event(s): ${failures.map((f) => f.code).join(', ')}`);
    this.name = 'PublishRefusedError';
  }
}

/** SQS did not confirm the events in time: they may or may not be queued. */
export class PublishUnconfirmedError extends Error {
  constructor(cause: unknown) {
    super(`SQS did not confirm the room event(s): ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'PublishUnconfirmedError';
  }
}

interface SdkError {
  name?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
}

/** A refusal SQS made before taking anything (a client fault that is not throttling). */
function isRefusal(error: unknown): boolean {
  const e = error as SdkError | null;
  const status = e?.$metadata?.httpStatusCode;
  if (status === undefined || status >= 500 || status === 429) return false;
  return !/throttl|RequestTimeout|Timeout/i.test(e?.name ?? '');
}

/**
 * SQS accepts only #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF in a body.
 * JSON.stringify already escapes control characters and lone surrogates; the two
 * noncharacters left are escaped too, so any text arrives verbatim after JSON.parse.
 */
export function queueBody(event: RoomEvent): string {
  return JSON.stringify(event).replace(/[\uFFFE\uFFFF]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

export interface PublisherRetry {
  baseDelayMs: number;
  maxDelayMs: number;
  /** When no deadline is given: how long to keep retrying an unconfirmed publish. */
  defaultBudgetMs: number;
}

const RETRY: PublisherRetry = { baseDelayMs: 100, maxDelayMs: 1000, defaultBudgetMs: 5000 };

/**
 * Publishes room events to the FIFO queue: MessageGroupId = room (one order per room for every
 * member), MessageDeduplicationId = event id. A publish that fails ambiguously (SQS may have
 * taken it, then the answer was lost or an error) is retried with the same deduplication ids
 * until it is confirmed or the deadline passes: inside SQS's 5-minute deduplication window a
 * retry can never queue an event twice. The SDK's own retries (3 attempts) run inside each try.
 */
export class SqsRoomEventPublisher implements RoomEventPublisher {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
    private readonly retry: PublisherRetry = RETRY,
  ) {}

  async publish(events: RoomEvent[], options: PublishOptions = {}): Promise<void> {
    const deadline = options.deadline ?? Date.now() + this.retry.defaultBudgetMs;
    for (let start = 0; start < events.length; start += MAX_BATCH) {
      await this.publishBatch(events.slice(start, start + MAX_BATCH), deadline);
    }
  }

  private async publishBatch(batch: RoomEvent[], deadline: number): Promise<void> {
    // Entries still to confirm; a batch never holds two events of one group (see callers),
    // so retrying only the failed entries cannot reorder a group.
    let pending = batch.map((event, index) => ({ event, index }));
    for (let attempt = 0; ; attempt++) {
      let lastError: unknown;
      try {
        const { Failed = [] } = await this.client.send(
          new SendMessageBatchCommand({
            QueueUrl: this.queueUrl,
            Entries: pending.map(({ event, index }) => ({
              Id: String(index),
              MessageBody: queueBody(event),
              MessageGroupId: messageGroupOf(event),
              MessageDeduplicationId: deduplicationIdOf(event),
            })),
          }),
        );
        const refused = Failed.filter((f) => f.SenderFault);
        if (refused.length > 0) {
          throw new PublishRefusedError(
            refused.map((f) => ({ id: batch[Number(f.Id)]?.id ?? '?', code: f.Code, message: f.Message })),
          );
        }
        if (Failed.length === 0) return;
        const retry = new Set(Failed.map((f) => f.Id));
        pending = pending.filter(({ index }) => retry.has(String(index)));
        lastError = new Error(`SQS failed ${Failed.length} entries: ${Failed.map((f) => f.Code).join(', ')}`);
      } catch (error) {
        if (error instanceof PublishRefusedError) throw error;
        if (isRefusal(error))
          throw new PublishRefusedError([{ id: batch[0]?.id ?? '?', code: (error as Error).name }]);
        lastError = error;
      }
      const delay =
        Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** attempt) * (0.5 + Math.random() / 2);
      if (Date.now() + delay >= deadline) throw new PublishUnconfirmedError(lastError);
      await sleep(delay);
    }
  }
}
