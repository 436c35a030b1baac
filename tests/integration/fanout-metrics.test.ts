/**
 * The fanout's metrics and log fields (docs/operations.md), from the real handler module against
 * DynamoDB Local, the local SQS server and the local @connections server: one Embedded Metric
 * Format line per invocation with deliveries, gone connections, failed posts, retries, parked
 * events, fanout duration, delivery lag and room size, and no connection or room ids; the log
 * line a delivery leaves for "why did X not get message Y".
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DynamoDbConnectionStore } from '../../functions/shared/adapters/dynamodb-connection-store';
import { captureStdout } from '../support/capture-logs';
import { memberOf } from '../support/chat-state';
import { createChatTable, uniqueTableName } from '../support/chat-table';
import { type ConnectionsServer, startConnectionsServer } from '../support/connections-server';
import { loadHandler } from '../support/load-handler';
import {
  createFifoQueue,
  drainQueue,
  type LocalAws,
  setHandlerEnvironment,
  startLocalAws,
} from '../support/local-aws';
import { roomEventFixture, sqsEvent, sqsFifoRecord } from '../support/sqs-events';

type FanoutModule = { handler: (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse> };

let aws: LocalAws;
let server: ConnectionsServer;
let store: DynamoDbConnectionStore;
let queueUrl: string;
let fanout: FanoutModule['handler'];
let logs: ReturnType<typeof captureStdout>;

beforeAll(async () => {
  [aws, server] = await Promise.all([startLocalAws(), startConnectionsServer({ stage: 'dev' })]);
  const tableName = uniqueTableName('fanout-metrics');
  await createChatTable(aws.ddb, tableName);
  queueUrl = await createFifoQueue(aws.sqs);
  store = new DynamoDbConnectionStore(aws.ddb, tableName);
  setHandlerEnvironment({
    tableName,
    queueUrl,
    ddbEndpoint: aws.ddbEndpoint,
    sqsEndpoint: aws.sqsEndpoint,
    connectionsUrl: server.callbackUrl,
    extra: { METRICS_NAMESPACE: 'chat-test' },
  });
  ({ handler: fanout } = loadHandler<FanoutModule>('fanout'));
}, 120_000);

afterAll(async () => {
  await Promise.all([aws?.stop(), server?.stop()]);
});

beforeEach(async () => {
  server.reset();
  await drainQueue(aws.sqs, queueUrl);
  logs = captureStdout();
});

afterEach(() => {
  logs.restore();
});

let rooms = 0;
async function room(...nicknames: string[]): Promise<{ roomId: string; ids: string[] }> {
  const roomId = `metrics-${++rooms}`;
  const ids: string[] = [];
  for (const nickname of nicknames) ids.push((await memberOf(store, nickname, roomId)).connectionId);
  return { roomId, ids };
}

const message = (roomId: string, connectionId: string, text: string, at = new Date()) =>
  roomEventFixture(
    { kind: 'message', roomId, connectionId, from: 'Mikki', message: text },
    { at: at.toISOString() },
  );

const context = { awsRequestId: 'req-metrics', functionName: 'chat-FanoutFunction' } as Context;

describe('fanout metrics', () => {
  it('flushes one line per invocation: deliveries, gone, duration, lag and room size', async () => {
    const { roomId, ids } = await room('Mikki', 'Aku', 'Hessu');
    server.script(ids[2] ?? '', 410);
    const sentAt = new Date(Date.now() - 1500);

    await fanout(sqsEvent([sqsFifoRecord(message(roomId, ids[0] ?? '', 'hei', sentAt))]), context);

    const lines = logs.metrics();
    expect(lines).toHaveLength(1);
    const [line] = lines as Record<string, unknown>[];
    expect(line).toMatchObject({
      _aws: {
        CloudWatchMetrics: [expect.objectContaining({ Namespace: 'chat-test', Dimensions: [[]] })],
      },
      Deliveries: 2,
      GoneConnections: 1,
      FailedPosts: 0,
      RoomSize: 3,
      function_request_id: 'req-metrics',
    });
    expect(line?.FanoutDuration).toEqual(expect.any(Number));
    expect(line?.DeliveryLag).toBeGreaterThanOrEqual(1500);
    const text = JSON.stringify(lines);
    for (const id of [roomId, ...ids]) expect(text).not.toContain(id);
  });

  it('logs the delivery with the event id, the sender and the gone connections (docs/operations.md)', async () => {
    const { roomId, ids } = await room('Mikki', 'Aku', 'Hessu');
    server.script(ids[2] ?? '', 410);
    const event = message(roomId, ids[0] ?? '', 'hei');

    await fanout(sqsEvent([sqsFifoRecord(event)]), context);

    expect(logs.entries()).toContainEqual(
      expect.objectContaining({
        level: 'INFO',
        message: 'delivered',
        eventId: event.id,
        roomId,
        connectionId: ids[0],
        goneConnections: ids[2],
        function_request_id: 'req-metrics',
      }),
    );
  });

  it('counts failed posts and a retried event, and leaves the lag out while posts fail', async () => {
    const { roomId, ids } = await room('Mikki', 'Aku');
    server.script(ids[1] ?? '', 500);

    const response = await fanout(
      sqsEvent([sqsFifoRecord(message(roomId, ids[0] ?? '', 'again'), { receiveCount: 2 })]),
      context,
    );

    expect(response.batchItemFailures).toHaveLength(1);
    const [line] = logs.metrics();
    expect(line).toMatchObject({ Deliveries: 1, FailedPosts: 1, EventRetries: 1 });
    expect(line).not.toHaveProperty('DeliveryLag');
  });

  it('counts an event parked in the dead-letter queue on its last attempt', async () => {
    const { roomId, ids } = await room('Mikki', 'Aku');
    server.script(ids[1] ?? '', 500);

    const response = await fanout(
      sqsEvent([sqsFifoRecord(message(roomId, ids[0] ?? '', 'last'), { receiveCount: 3 })]),
      context,
    );

    expect(response.batchItemFailures).toEqual([]);
    expect(logs.metrics()[0]).toMatchObject({ ParkedEvents: 1, FailedPosts: 1, EventRetries: 1 });
  });
});
