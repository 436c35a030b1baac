/**
 * The local AWS protocol servers for integration tests (DynamoDB Local and the in-process
 * SQS emulator, both started by local/services), SDK clients pointed at them, and helpers
 * to load the real handler modules with their environment.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { type DynamoDbLocalHandle, startDynamoDbLocal } from '../../local/services/dynamodb-local';
import { type SqsLocalHandle, startSqsLocal } from '../../local/services/sqs-local';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/template/local-resources';

/** The local stack's region and credentials (DynamoDB Local and the SQS emulator accept any). */
export const REGION = LOCAL_REGION;
export const CREDENTIALS = LOCAL_CREDENTIALS;

export interface LocalAws {
  ddb: DynamoDBClient;
  sqs: SQSClient;
  ddbEndpoint: string;
  sqsEndpoint: string;
  stop(): Promise<void>;
}

/** Starts DynamoDB Local (Java) and the SQS emulator; `stop()` shuts both down. */
export async function startLocalAws(): Promise<LocalAws> {
  let ddbLocal: DynamoDbLocalHandle | undefined;
  let sqsLocal: SqsLocalHandle | undefined;
  try {
    [ddbLocal, sqsLocal] = await Promise.all([startDynamoDbLocal(), startSqsLocal()]);
  } catch (error) {
    await Promise.allSettled([ddbLocal?.stop(), sqsLocal?.stop()]);
    throw error;
  }
  const ddb = new DynamoDBClient({ region: REGION, credentials: CREDENTIALS, endpoint: ddbLocal.endpoint });
  const sqs = new SQSClient({ region: REGION, credentials: CREDENTIALS, endpoint: sqsLocal.endpoint });
  const handles = { ddbLocal, sqsLocal };
  return {
    ddb,
    sqs,
    ddbEndpoint: ddbLocal.endpoint,
    sqsEndpoint: sqsLocal.endpoint,
    async stop() {
      ddb.destroy();
      sqs.destroy();
      await Promise.all([handles.ddbLocal.stop(), handles.sqsLocal.stop()]);
    },
  };
}

let queueCounter = 0;

/** Creates a FIFO queue (with a FIFO dead-letter queue, as in template.yaml) and returns its URL. */
export async function createFifoQueue(sqs: SQSClient, prefix = 'room-events'): Promise<string> {
  queueCounter += 1;
  const name = `${prefix}-${process.pid}-${queueCounter}`;
  const dlq = await sqs.send(
    new CreateQueueCommand({ QueueName: `${name}-dlq.fifo`, Attributes: { FifoQueue: 'true' } }),
  );
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  const created = await sqs.send(
    new CreateQueueCommand({
      QueueName: `${name}.fifo`,
      Attributes: {
        FifoQueue: 'true',
        ContentBasedDeduplication: 'false',
        VisibilityTimeout: '180',
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes?.QueueArn, maxReceiveCount: 3 }),
      },
    }),
  );
  if (!created.QueueUrl) throw new Error('CreateQueue returned no QueueUrl');
  return created.QueueUrl;
}

/** The dead-letter queue createFifoQueue made for `queueUrl`. */
export function deadLetterQueueUrlOf(queueUrl: string): string {
  return queueUrl.replace(/\.fifo$/, '-dlq.fifo');
}

/**
 * Receives and deletes every message now in the queue, in delivery order (FIFO: a group's
 * next message becomes visible once the previous one is deleted).
 */
export async function drainQueue(sqs: SQSClient, queueUrl: string): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        // local-aws-sqs understands the older AttributeNames parameter.
        AttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) return all;
    all.push(...Messages);
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }
}

export interface HandlerEnvironment {
  tableName: string;
  queueUrl: string;
  ddbEndpoint: string;
  sqsEndpoint: string;
  connectionsUrl?: string;
  extra?: Record<string, string>;
}

/** Sets what the handlers read at cold start (Jest gives each test file its own process.env). */
export function setHandlerEnvironment(env: HandlerEnvironment): void {
  Object.assign(process.env, {
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_DYNAMODB: env.ddbEndpoint,
    AWS_ENDPOINT_URL_SQS: env.sqsEndpoint,
    TABLE_NAME: env.tableName,
    QUEUE_URL: env.queueUrl,
    DEAD_LETTER_QUEUE_URL: deadLetterQueueUrlOf(env.queueUrl),
    MAX_RECEIVE_COUNT: '3',
    LOG_LEVEL: 'info',
    ...(env.connectionsUrl ? { CONNECTIONS_URL: env.connectionsUrl } : {}),
    ...env.extra,
  });
}
