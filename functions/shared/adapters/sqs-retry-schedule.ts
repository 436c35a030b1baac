import { ChangeMessageVisibilityBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';

/**
 * Brings records the fanout returned as failed back sooner than the queue's visibility
 * timeout (180 s, sized for the fanout's own timeout): a failed room would otherwise deliver
 * nothing for minutes, because its FIFO group waits for the failed record.
 */
export class SqsRetrySchedule {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  /** Makes each record visible again after its delay (seconds); failures are returned, not thrown. */
  async retryAfter(records: { receiptHandle: string; delaySeconds: number }[]): Promise<string[]> {
    const problems: string[] = [];
    for (let start = 0; start < records.length; start += 10) {
      const chunk = records.slice(start, start + 10);
      try {
        const { Failed = [] } = await this.client.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: this.queueUrl,
            Entries: chunk.map((r, i) => ({
              Id: String(i),
              ReceiptHandle: r.receiptHandle,
              VisibilityTimeout: r.delaySeconds,
            })),
          }),
        );
        problems.push(...Failed.map((f) => `${f.Code}: ${f.Message}`));
      } catch (error) {
        problems.push((error as Error).message);
      }
    }
    return problems;
  }
}
