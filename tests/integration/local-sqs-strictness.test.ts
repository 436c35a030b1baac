/**
 * The local SQS server is as strict as SQS where `local-aws-sqs` alone is kinder, checked with
 * the real SDK v3 client: message contents SQS refuses (SendMessage and per entry of
 * SendMessageBatch), FIFO deduplication that outlives the message, and visibility changes on
 * in-flight FIFO messages that leave the receive count alone.
 */
import { randomUUID } from 'node:crypto';
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  InvalidMessageContents,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { type SqsLocalHandle, startSqsLocal, type VisibilityChange } from '../../local/services/sqs-local';

describe('the local SQS server, as strict as SQS', () => {
  let sqsLocal: SqsLocalHandle;
  let sqs: SQSClient;
  let queueUrl: string;
  let deadLetterUrl: string;
  const group = 'room-1';

  const fifoQueue = async (name: string, attributes: Record<string, string> = {}) =>
    (
      await sqs.send(
        new CreateQueueCommand({
          QueueName: `${name}.fifo`,
          Attributes: { FifoQueue: 'true', VisibilityTimeout: '30', ...attributes },
        }),
      )
    ).QueueUrl as string;

  const send = (body: string, dedup = randomUUID(), url = queueUrl) =>
    sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: body,
        MessageGroupId: group,
        MessageDeduplicationId: dedup,
      }),
    );

  /** Receives until `count` messages came back (bounded). */
  const receive = async (count: number, url = queueUrl, timeoutMs = 5000): Promise<Message[]> => {
    const got: Message[] = [];
    const deadline = Date.now() + timeoutMs;
    while (got.length < count && Date.now() < deadline) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
          AttributeNames: ['All'],
        }),
      );
      got.push(...Messages);
    }
    return got;
  };

  beforeAll(async () => {
    sqsLocal = await startSqsLocal();
    sqs = new SQSClient({
      endpoint: sqsLocal.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    deadLetterUrl = await fifoQueue('strict-dlq');
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: deadLetterUrl, AttributeNames: ['QueueArn'] }),
    );
    queueUrl = await fifoQueue('strict', {
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes?.QueueArn, maxReceiveCount: 3 }),
    });
  });

  afterAll(async () => {
    sqs?.destroy();
    await sqsLocal?.stop();
  });

  describe('message contents', () => {
    it.each([
      ['U+FFFE', 'a\uFFFEb', '#xFFFE'],
      ['U+FFFF', 'a\uFFFFb', '#xFFFF'],
      ['a lone high surrogate', 'a\uD83Db', '#xD83D'],
      ['a lone low surrogate', 'a\uDE00b', '#xDE00'],
      ['a control character', 'a\u0001b', '#x1'],
    ])(
      'refuses a body with %s as SQS does (400 InvalidMessageContents), and queues nothing',
      async (_name, body, code) => {
        const refused = await send(body).catch((error: unknown) => error);
        expect(refused).toBeInstanceOf(InvalidMessageContents);
        expect(refused).toMatchObject({
          name: 'InvalidMessageContents',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
          message: `Invalid binary character '${code}' was found in the message body, the set of allowed characters is #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].`,
        });
        // Nothing was queued: the next message is the first one out.
        await send('after');
        const [next] = await receive(1);
        expect(next?.Body).toBe('after');
        await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: next?.ReceiptHandle }));
      },
    );

    it('accepts every character SQS allows, emoji and tabs included', async () => {
      const body = 'tab\there\nnew line\r ä € \uD7FF \uE000 \uFFFD 😀 \u{10FFFF}';
      await send(body);
      const [message] = await receive(1);
      expect(message?.Body).toBe(body);
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message?.ReceiptHandle }));
    });

    it('refuses a string attribute value with a character SQS does not allow', async () => {
      const refused = sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: 'fine',
          MessageGroupId: group,
          MessageDeduplicationId: randomUUID(),
          MessageAttributes: { kind: { DataType: 'String', StringValue: 'bad\uFFFF' } },
        }),
      );
      await expect(refused).rejects.toBeInstanceOf(InvalidMessageContents);
    });

    it('refuses only the bad entries of a SendMessageBatch (BatchResultErrorEntry), and sends the rest', async () => {
      const result = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: [
            { Id: 'good1', MessageBody: 'one', MessageGroupId: group, MessageDeduplicationId: randomUUID() },
            {
              Id: 'bad',
              MessageBody: 'two\uFFFE',
              MessageGroupId: group,
              MessageDeduplicationId: randomUUID(),
            },
            {
              Id: 'good2',
              MessageBody: 'three',
              MessageGroupId: group,
              MessageDeduplicationId: randomUUID(),
            },
            {
              Id: 'lone',
              MessageBody: '\uDFFF',
              MessageGroupId: group,
              MessageDeduplicationId: randomUUID(),
            },
          ],
        }),
      );
      expect(result.Successful?.map((s) => s.Id)).toEqual(['good1', 'good2']);
      expect(result.Failed).toEqual([
        {
          Id: 'bad',
          SenderFault: true,
          Code: 'InvalidMessageContents',
          Message: expect.stringContaining("Invalid binary character '#xFFFE' was found in the message body"),
        },
        {
          Id: 'lone',
          SenderFault: true,
          Code: 'InvalidMessageContents',
          Message: expect.stringContaining("'#xDFFF'"),
        },
      ]);
      const messages = await receive(2);
      expect(messages.map((m) => m.Body)).toEqual(['one', 'three']);
      for (const m of messages) {
        await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }));
      }
    });
  });

  describe('FIFO deduplication', () => {
    it('remembers a deduplication id after its message was deleted, and answers with the first send', async () => {
      const dedup = randomUUID();
      const first = await send('once', dedup);
      const [message] = await receive(1);
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message?.ReceiptHandle }));

      const again = await send('once', dedup);
      const batch = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: [
            { Id: 'dup', MessageBody: 'once', MessageGroupId: group, MessageDeduplicationId: dedup },
            { Id: 'new', MessageBody: 'fresh', MessageGroupId: group, MessageDeduplicationId: randomUUID() },
          ],
        }),
      );
      expect(again.MessageId).toBe(first.MessageId);
      expect(again.SequenceNumber).toBe(first.SequenceNumber);
      expect(batch.Successful?.find((s) => s.Id === 'dup')?.MessageId).toBe(first.MessageId);
      const delivered = await receive(1);
      expect(delivered.map((m) => m.Body)).toEqual(['fresh']);
      expect(await receive(1, queueUrl, 300)).toEqual([]);
      await sqs.send(
        new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: delivered[0]?.ReceiptHandle }),
      );
    });
  });

  describe('visibility changes on in-flight FIFO messages', () => {
    it('brings a message back when its visibility is shortened, without counting an extra receive', async () => {
      const url = await fifoQueue(`visibility-${Date.now()}`);
      const changes: VisibilityChange[] = [];
      const unsubscribe = sqsLocal.onVisibilityChanged((change) => changes.push(change));
      try {
        await send('short', randomUUID(), url);
        const [first] = await receive(1, url);
        expect(first?.Attributes?.ApproximateReceiveCount).toBe('1');
        const changedAt = Date.now();
        await sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: url,
            ReceiptHandle: first?.ReceiptHandle,
            VisibilityTimeout: 1,
          }),
        );
        expect(changes).toEqual([
          {
            queueUrl: url,
            receiptHandle: first?.ReceiptHandle,
            visibilityTimeoutSeconds: 1,
            at: expect.any(Number),
          },
        ]);

        const [second] = await receive(1, url);
        expect(Date.now() - changedAt).toBeGreaterThanOrEqual(900);
        expect(Date.now() - changedAt).toBeLessThan(3000); // not the queue's 30 s
        expect(second?.Attributes?.ApproximateReceiveCount).toBe('2');

        await sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: url,
            Entries: [{ Id: 'now', ReceiptHandle: second?.ReceiptHandle, VisibilityTimeout: 0 }],
          }),
        );
        const [third] = await receive(1, url, 1000);
        expect(third?.Attributes?.ApproximateReceiveCount).toBe('3');
        await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: third?.ReceiptHandle }));
      } finally {
        unsubscribe();
      }
    });

    it('dead-letters after maxReceiveCount real receives, however often the visibility changed', async () => {
      const dedup = randomUUID();
      await send('poison', dedup);
      for (let receiveCount = 1; receiveCount <= 3; receiveCount++) {
        const [message] = await receive(1);
        expect(message?.Body).toBe('poison');
        expect(message?.Attributes?.ApproximateReceiveCount).toBe(String(receiveCount));
        // Two changes per receive: neither counts as a receive.
        await sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: queueUrl,
            ReceiptHandle: message?.ReceiptHandle,
            VisibilityTimeout: 5,
          }),
        );
        await sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: queueUrl,
            ReceiptHandle: message?.ReceiptHandle,
            VisibilityTimeout: 0,
          }),
        );
      }
      const [dead] = await receive(1, deadLetterUrl);
      expect(dead?.Body).toBe('poison');
      expect(await receive(1, queueUrl, 300)).toEqual([]);
    });

    it('refuses a visibility change with a receipt handle from an earlier receive', async () => {
      const url = await fifoQueue(`stale-${Date.now()}`);
      await send('stale', randomUUID(), url);
      const [first] = await receive(1, url);
      await sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: url,
          ReceiptHandle: first?.ReceiptHandle,
          VisibilityTimeout: 0,
        }),
      );
      const [second] = await receive(1, url);
      expect(second?.ReceiptHandle).not.toBe(first?.ReceiptHandle);
      await expect(
        sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: url,
            ReceiptHandle: first?.ReceiptHandle,
            VisibilityTimeout: 0,
          }),
        ),
      ).rejects.toMatchObject({ $metadata: { httpStatusCode: 400 } });
    });
  });
});
