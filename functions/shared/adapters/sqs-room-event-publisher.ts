import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { messageGroupOf, type RoomEvent } from '../domain/room-events.js';
import type { RoomEventPublisher } from '../ports.js';

const MAX_BATCH = 10;

export class PublishFailedError extends Error {
  constructor(readonly failures: { id: string; code?: string | undefined; message?: string | undefined }[]) {
    super(`SQS refused ${failures.length} room event(s): ${failures.map((f) => f.code).join(', ')}`);
    this.name = 'PublishFailedError';
  }
}

/**
 * Publishes room events to the FIFO queue: MessageGroupId = room (one order per room for every
 * member), MessageDeduplicationId = event id (a retried publish is dropped by SQS).
 */
export class SqsRoomEventPublisher implements RoomEventPublisher {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async publish(...events: RoomEvent[]): Promise<void> {
    for (let start = 0; start < events.length; start += MAX_BATCH) {
      const batch = events.slice(start, start + MAX_BATCH);
      const { Failed = [] } = await this.client.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: batch.map((event, index) => ({
            Id: String(index),
            MessageBody: JSON.stringify(event),
            MessageGroupId: messageGroupOf(event),
            MessageDeduplicationId: event.id,
          })),
        }),
      );
      if (Failed.length > 0) {
        throw new PublishFailedError(
          Failed.map((f) => ({ id: batch[Number(f.Id)]?.id ?? '?', code: f.Code, message: f.Message })),
        );
      }
    }
  }
}
