/**
 * The fault proxies answer as SQS and DynamoDB do on a bad day, in their own wire shapes, and
 * SDK v3 treats the answers as it treats AWS's: SQS 500 InternalError / 503
 * ServiceUnavailable refused or after the messages were queued (ambiguous), requests accepted
 * and never answered, batch entries failed inside a 200; DynamoDB TransactionCanceledException
 * with TransactionConflict / ThrottlingError cancellation reasons. Real protocol servers
 * (the SQS emulator, DynamoDB Local) behind the proxies, the real SDK clients in front.
 */
import { randomUUID } from 'node:crypto';
import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  type SQSClientConfig,
} from '@aws-sdk/client-sqs';
import { type DynamoDbFaultProxy, startDynamoDbFaultProxy } from '../../local/faults/dynamodb-fault-proxy';
import { createFaults, type FaultSwitches, firesFirst } from '../../local/faults/faults';
import { type SqsFaultProxy, startSqsFaultProxy } from '../../local/faults/sqs-fault-proxy';
import {
  type DynamoDbLocalHandle,
  javaAvailable,
  startDynamoDbLocal,
} from '../../local/services/dynamodb-local';
import { type SqsLocalHandle, startSqsLocal } from '../../local/services/sqs-local';

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const region = 'us-east-1';

describe('the SQS fault proxy', () => {
  let sqsLocal: SqsLocalHandle;
  let proxy: SqsFaultProxy;
  let faults: FaultSwitches;
  let direct: SQSClient;
  let queueUrl: string;
  const viaProxy = (config: SQSClientConfig = {}) =>
    new SQSClient({ endpoint: proxy.endpoint, region, credentials, ...config });
  const reset = () => {
    Object.assign(faults.sqs, createFaults().sqs);
    faults.random = Math.random;
  };
  const publish = (client: SQSClient, body: string, dedup = randomUUID()) =>
    client.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: body,
        MessageGroupId: 'g',
        MessageDeduplicationId: dedup,
      }),
    );
  /** Everything in the queue right now (received and left in flight). */
  const drain = async (): Promise<Message[]> => {
    const got: Message[] = [];
    for (;;) {
      const { Messages = [] } = await direct.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
      );
      if (Messages.length === 0) return got;
      got.push(...Messages);
    }
  };

  beforeAll(async () => {
    sqsLocal = await startSqsLocal();
    faults = createFaults({ sqs: {} });
    proxy = await startSqsFaultProxy(sqsLocal.endpoint, faults);
    direct = new SQSClient({ endpoint: sqsLocal.endpoint, region, credentials });
  });

  beforeEach(async () => {
    reset();
    const name = `faults-${randomUUID().slice(0, 8)}.fifo`;
    queueUrl = (
      await direct.send(
        new CreateQueueCommand({
          QueueName: name,
          Attributes: { FifoQueue: 'true', VisibilityTimeout: '60' },
        }),
      )
    ).QueueUrl as string;
  });

  afterAll(async () => {
    direct?.destroy();
    await proxy?.stop();
    await sqsLocal?.stop();
  });

  it('refuses a request with 500 InternalError in SQS JSON shape, queueing nothing', async () => {
    faults.sqs.failRate = 1;
    const client = viaProxy({ maxAttempts: 1 });
    try {
      const error = await publish(client, 'refused').catch((e: unknown) => e);
      expect(error).toMatchObject({
        name: 'InternalError',
        message: 'We encountered an internal error. Please try again.',
        $fault: 'server',
        $metadata: { httpStatusCode: 500 },
      });
      expect(await drain()).toEqual([]);
      expect(proxy.faulted.refused.SendMessage).toBeGreaterThan(0);
    } finally {
      client.destroy();
    }
  });

  it('answers 503 ServiceUnavailable when told to', async () => {
    faults.sqs.failRate = 1;
    faults.sqs.failStatus = 503;
    const client = viaProxy({ maxAttempts: 1 });
    try {
      await expect(publish(client, 'x')).rejects.toMatchObject({
        name: 'ServiceUnavailable',
        $metadata: { httpStatusCode: 503 },
      });
    } finally {
      client.destroy();
    }
  });

  it('is retried by the SDK as AWS is: a refused first attempt, then success', async () => {
    faults.sqs.failRate = 0.5;
    faults.random = firesFirst(1);
    const client = viaProxy();
    try {
      const sent = await publish(client, 'after a retry');
      expect(sent.$metadata.attempts).toBe(2);
      expect((await drain()).map((m) => m.Body)).toEqual(['after a retry']);
    } finally {
      client.destroy();
    }
  });

  it('answers an error after SQS accepted the message (ambiguous): the message is queued all the same', async () => {
    faults.sqs.ambiguousRate = 1;
    const client = viaProxy({ maxAttempts: 1 });
    try {
      await expect(publish(client, 'accepted anyway')).rejects.toMatchObject({
        name: 'InternalError',
        $metadata: { httpStatusCode: 500 },
      });
      expect((await drain()).map((m) => m.Body)).toEqual(['accepted anyway']);
      expect(proxy.faulted.ambiguous.SendMessage).toBeGreaterThan(0);
    } finally {
      client.destroy();
    }
  });

  it('delivers an ambiguous publish the SDK retried once: FIFO deduplication drops the copy', async () => {
    faults.sqs.ambiguousRate = 0.5;
    faults.random = firesFirst(1);
    const client = viaProxy();
    try {
      const sent = await client.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: [
            { Id: 'a', MessageBody: 'one', MessageGroupId: 'g', MessageDeduplicationId: randomUUID() },
            { Id: 'b', MessageBody: 'two', MessageGroupId: 'g', MessageDeduplicationId: randomUUID() },
          ],
        }),
      );
      expect(sent.$metadata.attempts).toBe(2);
      expect(sent.Successful?.map((s) => s.Id)).toEqual(['a', 'b']);
      expect((await drain()).map((m) => m.Body)).toEqual(['one', 'two']);
    } finally {
      client.destroy();
    }
  });

  it('never answers a hung request (the client times out), though SQS queued the message', async () => {
    faults.sqs.hangRate = 1;
    const client = viaProxy({
      maxAttempts: 1,
      requestHandler: { requestTimeout: 500, throwOnRequestTimeout: true },
    });
    try {
      const started = Date.now();
      const error = await publish(client, 'hung').catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'TimeoutError' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(450);
      expect((await drain()).map((m) => m.Body)).toEqual(['hung']);
    } finally {
      client.destroy();
    }
  });

  it('fails some SendMessageBatch entries inside a 200 (InternalError, not the sender) and sends the rest', async () => {
    faults.sqs.entryFailRate = 0.5;
    faults.random = (() => {
      const draws = [0.99, 0, 0.99]; // the second entry fails
      return () => draws.shift() ?? 0.99;
    })();
    const client = viaProxy();
    try {
      const result = await client.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: ['one', 'two', 'three'].map((body) => ({
            Id: body,
            MessageBody: body,
            MessageGroupId: 'g',
            MessageDeduplicationId: randomUUID(),
          })),
        }),
      );
      expect(result.$metadata.attempts).toBe(1);
      expect(result.Successful?.map((s) => s.Id)).toEqual(['one', 'three']);
      expect(result.Failed).toEqual([
        {
          Id: 'two',
          SenderFault: false,
          Code: 'InternalError',
          Message: 'We encountered an internal error. Please try again.',
        },
      ]);
      expect((await drain()).map((m) => m.Body)).toEqual(['one', 'three']);
    } finally {
      client.destroy();
    }
  });

  it('touches only the operations it is told to', async () => {
    faults.sqs.failRate = 1;
    faults.sqs.operations = ['SendMessageBatch'];
    const client = viaProxy({ maxAttempts: 1 });
    try {
      await publish(client, 'single sends pass');
      await expect(
        client.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: [
              { Id: 'x', MessageBody: 'x', MessageGroupId: 'g', MessageDeduplicationId: randomUUID() },
            ],
          }),
        ),
      ).rejects.toMatchObject({ name: 'InternalError' });
      expect((await drain()).map((m) => m.Body)).toEqual(['single sends pass']);
    } finally {
      client.destroy();
    }
  });
});

const describeIfJava = javaAvailable() ? describe : describe.skip;

describeIfJava('the DynamoDB fault proxy: transactions cancelled as DynamoDB cancels them', () => {
  let ddbLocal: DynamoDbLocalHandle;
  let proxy: DynamoDbFaultProxy;
  let faults: FaultSwitches;
  let direct: DynamoDBClient;
  let viaProxy: DynamoDBClient;
  const TableName = 'FaultProxyTransactions';
  const put = (pk: string) => ({ Put: { TableName, Item: { pk: { S: pk } } } });
  const exists = async (pk: string) =>
    (await direct.send(new GetItemCommand({ TableName, Key: { pk: { S: pk } }, ConsistentRead: true })))
      .Item !== undefined;

  beforeAll(async () => {
    ddbLocal = await startDynamoDbLocal();
    faults = createFaults({ dynamodb: {} });
    proxy = await startDynamoDbFaultProxy(ddbLocal.endpoint, faults);
    direct = new DynamoDBClient({ endpoint: ddbLocal.endpoint, region, credentials });
    viaProxy = new DynamoDBClient({ endpoint: proxy.endpoint, region, credentials });
    await direct.send(
      new CreateTableCommand({
        TableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      }),
    );
  }, 120_000);

  afterAll(async () => {
    direct?.destroy();
    viaProxy?.destroy();
    await proxy?.stop();
    await ddbLocal?.stop();
  });

  it('cancels a TransactWriteItems with a TransactionConflict reason for one item and None for the others', async () => {
    faults.dynamodb.transactionConflictRate = 1;
    faults.random = () => 0.5; // the middle one of three items
    try {
      const error = await viaProxy
        .send(new TransactWriteItemsCommand({ TransactItems: [put('c1'), put('c2'), put('c3')] }))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransactionCanceledException);
      expect(error).toMatchObject({
        name: 'TransactionCanceledException',
        $metadata: { httpStatusCode: 400, attempts: 1 },
        message:
          'Transaction cancelled, please refer cancellation reasons for specific reasons [None, TransactionConflict, None]',
        CancellationReasons: [
          { Code: 'None' },
          { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item.' },
          { Code: 'None' },
        ],
      });
      expect(await Promise.all(['c1', 'c2', 'c3'].map(exists))).toEqual([false, false, false]);
      expect(proxy.failures.TransactWriteItems).toBeGreaterThan(0);
    } finally {
      faults.dynamodb.transactionConflictRate = 0;
      faults.random = Math.random;
    }
  });

  it('cancels with a ThrottlingError reason when told to, and lets other requests through', async () => {
    faults.dynamodb.transactionConflictRate = 1;
    faults.dynamodb.cancellationCode = 'ThrottlingError';
    faults.random = () => 0;
    try {
      const error = (await viaProxy
        .send(new TransactWriteItemsCommand({ TransactItems: [put('t1'), put('t2')] }))
        .catch((e: unknown) => e)) as TransactionCanceledException;
      expect(error.CancellationReasons).toEqual([
        {
          Code: 'ThrottlingError',
          Message: expect.stringContaining('Throughput exceeds the current capacity'),
        },
        { Code: 'None' },
      ]);
      // Not a transaction: passes through untouched.
      expect(await exists('t1')).toBe(false);
      faults.dynamodb.transactionConflictRate = 0;
      await viaProxy.send(new TransactWriteItemsCommand({ TransactItems: [put('t1'), put('t2')] }));
      expect(await exists('t1')).toBe(true);
    } finally {
      faults.dynamodb.transactionConflictRate = 0;
      faults.dynamodb.cancellationCode = 'TransactionConflict';
      faults.random = Math.random;
    }
  });
});
