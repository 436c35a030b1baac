/**
 * Starts the local protocol servers (DynamoDB Local + the SQS emulator) and talks to them with the real
 * AWS SDK v3 clients, the same way the handlers do.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import {
  type DynamoDbLocalHandle,
  javaAvailable,
  startDynamoDbLocal,
} from '../../local/services/dynamodb-local';
import { type SqsLocalHandle, startSqsLocal } from '../../local/services/sqs-local';

const clientConfig = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
};

const describeIfJava = javaAvailable() ? describe : describe.skip;

describeIfJava('local AWS protocol servers', () => {
  let ddbLocal: DynamoDbLocalHandle | undefined;
  let sqsLocal: SqsLocalHandle | undefined;
  let ddb: DynamoDBClient;
  let sqs: SQSClient;

  beforeAll(async () => {
    const t0 = Date.now();
    [ddbLocal, sqsLocal] = await Promise.all([startDynamoDbLocal(), startSqsLocal()]);
    // Visible in the Jest output; useful when CI gets slow.
    console.info(
      `local services ready in ${Date.now() - t0} ms (ddb ${ddbLocal.endpoint}, sqs ${sqsLocal.endpoint})`,
    );
    ddb = new DynamoDBClient({ ...clientConfig, endpoint: ddbLocal.endpoint });
    sqs = new SQSClient({ ...clientConfig, endpoint: sqsLocal.endpoint });
  }, 120_000);

  afterAll(async () => {
    ddb?.destroy();
    sqs?.destroy();
    await Promise.all([ddbLocal?.stop(), sqsLocal?.stop()]);
  });

  test('both servers listen on 127.0.0.1 on distinct ports', () => {
    expect(ddbLocal?.endpoint).toBe(`http://127.0.0.1:${ddbLocal?.port}`);
    expect(sqsLocal?.endpoint).toBe(`http://127.0.0.1:${sqsLocal?.port}`);
    expect(ddbLocal?.port).toBeGreaterThan(0);
    expect(sqsLocal?.port).toBeGreaterThan(0);
    expect(ddbLocal?.port).not.toBe(sqsLocal?.port);
  });

  test('DynamoDB: create table, TransactWriteItems commits atomically and cancels on a failed condition', async () => {
    const TableName = 'LocalServicesTest';
    await ddb.send(
      new CreateTableCommand({
        TableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
      }),
    );
    const described = await ddb.send(new DescribeTableCommand({ TableName }));
    expect(described.Table?.TableStatus).toBe('ACTIVE');

    await ddb.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          {
            Put: {
              TableName,
              Item: { pk: { S: 'ROOM#lobby' }, sk: { S: 'META' }, members: { N: '1' } },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          {
            Put: {
              TableName,
              Item: { pk: { S: 'ROOM#lobby' }, sk: { S: 'MEMBER#c1' }, name: { S: 'alice' } },
            },
          },
        ],
      }),
    );
    const meta = await ddb.send(
      new GetItemCommand({
        TableName,
        Key: { pk: { S: 'ROOM#lobby' }, sk: { S: 'META' } },
        ConsistentRead: true,
      }),
    );
    expect(meta.Item?.members?.N).toBe('1');
    const member = await ddb.send(
      new GetItemCommand({
        TableName,
        Key: { pk: { S: 'ROOM#lobby' }, sk: { S: 'MEMBER#c1' } },
        ConsistentRead: true,
      }),
    );
    expect(member.Item?.name?.S).toBe('alice');

    // Second transaction: the condition on META fails, so the other Put must not be applied either.
    const failing = ddb.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          {
            Put: {
              TableName,
              Item: { pk: { S: 'ROOM#lobby' }, sk: { S: 'META' }, members: { N: '99' } },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          {
            Put: {
              TableName,
              Item: { pk: { S: 'ROOM#lobby' }, sk: { S: 'MEMBER#c2' }, name: { S: 'bob' } },
            },
          },
        ],
      }),
    );
    await expect(failing).rejects.toBeInstanceOf(TransactionCanceledException);
    const afterFailure = await ddb.send(
      new GetItemCommand({
        TableName,
        Key: { pk: { S: 'ROOM#lobby' }, sk: { S: 'MEMBER#c2' } },
        ConsistentRead: true,
      }),
    );
    expect(afterFailure.Item).toBeUndefined();
  });

  test('SQS: FIFO queue with a FIFO DLQ redrive policy; send, receive and delete a message', async () => {
    const dlq = await sqs.send(
      new CreateQueueCommand({ QueueName: 'local-services-dlq.fifo', Attributes: { FifoQueue: 'true' } }),
    );
    expect(dlq.QueueUrl).toMatch(/local-services-dlq\.fifo$/);
    const dlqAttrs = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }),
    );
    const dlqArn = dlqAttrs.Attributes?.QueueArn;
    expect(dlqArn).toBe('arn:aws:sqs:us-east-1:123456789012:local-services-dlq.fifo');

    const main = await sqs.send(
      new CreateQueueCommand({
        QueueName: 'local-services.fifo',
        Attributes: {
          FifoQueue: 'true',
          ContentBasedDeduplication: 'false',
          VisibilityTimeout: '5',
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 3 }),
        },
      }),
    );
    const QueueUrl = main.QueueUrl;
    // The URL handed back must point at the actually bound port (so the SDK can follow it).
    expect(QueueUrl).toBe(`${sqsLocal?.endpoint}/123456789012/local-services.fifo`);

    const attrs = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['FifoQueue', 'RedrivePolicy'] }),
    );
    expect(attrs.Attributes?.FifoQueue).toBe('true');
    expect(JSON.parse(attrs.Attributes?.RedrivePolicy ?? '{}')).toEqual({
      deadLetterTargetArn: dlqArn,
      maxReceiveCount: 3,
    });

    const body = JSON.stringify({ type: 'message', room: 'lobby', text: 'hello' });
    const sent = await sqs.send(
      new SendMessageCommand({
        QueueUrl,
        MessageBody: body,
        MessageGroupId: 'lobby',
        MessageDeduplicationId: 'msg-1',
      }),
    );
    expect(sent.MessageId).toEqual(expect.any(String));
    expect(sent.SequenceNumber).toEqual(expect.any(String));

    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        // local-aws-sqs only understands the (deprecated) AttributeNames, not MessageSystemAttributeNames.
        AttributeNames: ['All'],
      }),
    );
    expect(received.Messages).toHaveLength(1);
    const [msg] = received.Messages ?? [];
    expect(msg?.Body).toBe(body);
    expect(msg?.MessageId).toBe(sent.MessageId);
    expect(msg?.Attributes?.MessageGroupId).toBe('lobby');

    await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: msg?.ReceiptHandle }));
    const empty = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 0 }));
    expect(empty.Messages ?? []).toHaveLength(0);
  });
});
