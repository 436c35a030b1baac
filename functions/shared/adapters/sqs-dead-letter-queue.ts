import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

export interface DeadLetter {
  messageId: string;
  groupId: string;
  body: string;
  receiveCount: number;
}

/**
 * Parks a record the fanout gave up on in the FIFO dead-letter queue, as SQS's redrive would:
 * same body and message group; deduplicated by the original message id; why it failed in
 * message attributes for whoever inspects or redrives the DLQ.
 */
export class SqsDeadLetterQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async park(record: DeadLetter, error: unknown): Promise<void> {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: record.body,
        MessageGroupId: record.groupId,
        MessageDeduplicationId: record.messageId,
        MessageAttributes: {
          sourceMessageId: { DataType: 'String', StringValue: record.messageId },
          receiveCount: { DataType: 'Number', StringValue: String(record.receiveCount) },
          failure: { DataType: 'String', StringValue: reason.slice(0, 1024) },
        },
      }),
    );
  }
}
