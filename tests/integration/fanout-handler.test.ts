/**
 * The real fanout handler module (functions/fanout/handler.ts, loaded as Lambda would load it)
 * against DynamoDB Local, the local SQS server and the local @connections server: delivery,
 * pruning on 410, retries, and partial batch failures under the FIFO group rule; and the
 * metrics and log fields docs/operations.md relies on.
 */
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { DynamoDbConnectionStore } from '../../functions/shared/adapters/dynamodb-connection-store';
import type { ServerEvent } from '../../functions/shared/domain/protocol';
import type { RoomEvent } from '../../functions/shared/domain/room-events';
import { leftEventId } from '../../functions/shared/use-cases/remove-connection';
import { captureStdout } from '../support/capture-logs';
import { memberOf, nicknamesIn, registerConnection } from '../support/chat-state';
import { createChatTable, uniqueTableName } from '../support/chat-table';
import { type ConnectionsServer, startConnectionsServer } from '../support/connections-server';
import { loadHandler } from '../support/load-handler';
import {
  createFifoQueue,
  deadLetterQueueUrlOf,
  drainQueue,
  type LocalAws,
  setHandlerEnvironment,
  startLocalAws,
} from '../support/local-aws';
import { roomEventFixture, sqsEvent, sqsFifoRecord } from '../support/sqs-events';

type FanoutModule = { handler: (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse> };

const CONCURRENCY = 4;
let aws: LocalAws;
let server: ConnectionsServer;
let tableName: string;
let queueUrl: string;
let store: DynamoDbConnectionStore;
let fanout: FanoutModule['handler'];
let logs: ReturnType<typeof captureStdout>;

beforeAll(async () => {
  [aws, server] = await Promise.all([startLocalAws(), startConnectionsServer({ stage: 'dev' })]);
  tableName = uniqueTableName('fanout');
  await createChatTable(aws.ddb, tableName);
  queueUrl = await createFifoQueue(aws.sqs);
  store = new DynamoDbConnectionStore(aws.ddb, tableName);
  setHandlerEnvironment({
    tableName,
    queueUrl,
    ddbEndpoint: aws.ddbEndpoint,
    sqsEndpoint: aws.sqsEndpoint,
    connectionsUrl: server.callbackUrl,
    extra: { FANOUT_CONCURRENCY: String(CONCURRENCY) },
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

let roomCounter = 0;
const freshRoom = () => `room-${++roomCounter}`;

/** The server events a connection received (200 answers only), parsed. */
const received = (connectionId: string) =>
  server.delivered(connectionId).map((body) => JSON.parse(body) as ServerEvent);

const messageEvent = (roomId: string, connectionId: string, from: string, message: string) =>
  roomEventFixture({ kind: 'message', roomId, connectionId, from, message });

async function roomOf(roomId: string, ...nicknames: string[]): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  for (const nickname of nicknames) ids[nickname] = (await memberOf(store, nickname, roomId)).connectionId;
  return ids;
}

const failedIds = (response: SQSBatchResponse) => response.batchItemFailures.map((f) => f.itemIdentifier);

describe('fanout handler', () => {
  it('delivers a room message to every member, the sender included, and reports no failures', async () => {
    const roomId = freshRoom();
    const c = await roomOf(roomId, 'Mikki', 'Aku', 'Hessu', 'Roope');
    const event = messageEvent(roomId, c.Mikki ?? '', 'Mikki', 'Hei kaikki!');

    const response = await fanout(sqsEvent([sqsFifoRecord(event)]));

    expect(response).toEqual({ batchItemFailures: [] });
    for (const connectionId of Object.values(c)) {
      expect(received(connectionId)).toEqual([
        { type: 'message', roomId, from: 'Mikki', message: 'Hei kaikki!', id: event.id, at: event.at },
      ]);
    }
  });

  it('delivers entered to the joiner and joined to the others', async () => {
    const roomId = freshRoom();
    const c = await roomOf(roomId, 'Mikki', 'Aku');
    const event = roomEventFixture({
      kind: 'joined',
      roomId,
      connectionId: c.Aku ?? '',
      nickname: 'Aku',
      members: ['Aku', 'Mikki'],
    });

    await fanout(sqsEvent([sqsFifoRecord(event)]));

    expect(received(c.Aku ?? '')).toEqual([
      expect.objectContaining({ type: 'entered', members: ['Aku', 'Mikki'] }),
    ]);
    expect(received(c.Mikki ?? '')).toEqual([expect.objectContaining({ type: 'joined', nickname: 'Aku' })]);
  });

  it('delivers a broadcast to every connection, in a room or not', async () => {
    await roomOf(freshRoom(), 'Mikki');
    const lobby = await registerConnection(store, 'lobby');
    const all: string[] = [];
    for await (const page of store.allConnections()) all.push(...page);
    const event = roomEventFixture({ kind: 'broadcast', from: 'admin', message: 'Huoltokatko klo 18' });

    const response = await fanout(sqsEvent([sqsFifoRecord(event)]));

    expect(response.batchItemFailures).toEqual([]);
    expect(all).toContain(lobby.connectionId);
    for (const connectionId of all) {
      expect(received(connectionId)).toEqual([expect.objectContaining({ type: 'broadcast', id: event.id })]);
    }
  });

  describe('a connection that answers 410', () => {
    it('deletes that target connection and its memberships, never the sender', async () => {
      const roomId = freshRoom();
      const other = freshRoom();
      const c = await roomOf(roomId, 'Mikki', 'Aku', 'Hessu');
      await store.enterRoom({ connectionId: c.Aku ?? '', roomId: other, nickname: 'Aku' });
      server.script(c.Aku ?? '', 410);

      const response = await fanout(
        sqsEvent([sqsFifoRecord(messageEvent(roomId, c.Mikki ?? '', 'Mikki', 'x'))]),
      );

      expect(response.batchItemFailures).toEqual([]);
      const { Items = [] } = await aws.ddb.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: `conn#${c.Aku}` } },
          ConsistentRead: true,
        }),
      );
      expect(Items).toEqual([]);
      expect(await nicknamesIn(store, roomId)).toEqual(['Hessu', 'Mikki']);
      expect(await nicknamesIn(store, other)).toEqual([]);
      await expect(store.getConnection(c.Mikki ?? '')).resolves.toBeDefined();
    });

    it('queues left (reason gone) for every room the gone connection was in', async () => {
      const roomId = freshRoom();
      const other = freshRoom();
      const c = await roomOf(roomId, 'Mikki', 'Aku');
      await store.enterRoom({ connectionId: c.Aku ?? '', roomId: other, nickname: 'Aku A' });
      server.script(c.Aku ?? '', 410);

      await fanout(sqsEvent([sqsFifoRecord(messageEvent(roomId, c.Mikki ?? '', 'Mikki', 'x'))]));

      const queued = await drainQueue(aws.sqs, queueUrl);
      const events = queued.map((m) => JSON.parse(m.Body ?? '') as RoomEvent);
      expect(events).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            kind: 'left',
            reason: 'gone',
            roomId,
            nickname: 'Aku',
            id: leftEventId(c.Aku ?? '', roomId),
          }),
          expect.objectContaining({ kind: 'left', reason: 'gone', roomId: other, nickname: 'Aku A' }),
        ]),
      );
      expect(events).toHaveLength(2);
      expect(queued.map((m) => m.Attributes?.MessageGroupId).sort()).toEqual(
        [`room:${other}`, `room:${roomId}`].sort(),
      );
    });

    it('still delivers to everyone else', async () => {
      const roomId = freshRoom();
      const c = await roomOf(roomId, 'Mikki', 'Aku', 'Hessu');
      server.script(c.Aku ?? '', 410);

      await fanout(sqsEvent([sqsFifoRecord(messageEvent(roomId, c.Mikki ?? '', 'Mikki', 'x'))]));

      expect(received(c.Mikki ?? '')).toHaveLength(1);
      expect(received(c.Hessu ?? '')).toHaveLength(1);
    });
  });

  describe('throttling and server errors', () => {
    it.each([
      ['a 429', [429, 200]],
      ['a 500', [500, 200]],
      ['two 5xx answers', [502, 503, 200]],
    ] as const)('retries %s and then delivers', async (_name, answers) => {
      const roomId = freshRoom();
      const c = await roomOf(roomId, 'Mikki', 'Aku');
      server.script(c.Aku ?? '', ...answers);

      const response = await fanout(
        sqsEvent([sqsFifoRecord(messageEvent(roomId, c.Mikki ?? '', 'Mikki', 'x'))]),
      );

      expect(response.batchItemFailures).toEqual([]);
      expect(server.attempts(c.Aku ?? '')).toBe(answers.length);
      expect(received(c.Aku ?? '')).toHaveLength(1);
      await expect(store.getConnection(c.Aku ?? '')).resolves.toBeDefined();
    });

    it('fails a record that keeps failing, with every later record of its group, but not other groups', async () => {
      const roomA = freshRoom();
      const roomB = freshRoom();
      const a = await roomOf(roomA, 'Mikki', 'Aku');
      const b = await roomOf(roomB, 'Hessu', 'Roope');
      const a0 = sqsFifoRecord(messageEvent(roomA, a.Mikki ?? '', 'Mikki', 'a0'));
      const b0 = sqsFifoRecord(messageEvent(roomB, b.Hessu ?? '', 'Hessu', 'b0'));
      const a1 = sqsFifoRecord(messageEvent(roomA, a.Mikki ?? '', 'Mikki', 'a1'));
      const b1 = sqsFifoRecord(messageEvent(roomB, b.Hessu ?? '', 'Hessu', 'b1'));
      const a2 = sqsFifoRecord(messageEvent(roomA, a.Mikki ?? '', 'Mikki', 'a2'));
      // a0 fails at Aku; a1 and a2 must not overtake it.
      server.script(a.Aku ?? '', 500);

      const response = await fanout(sqsEvent([a0, b0, a1, b1, a2]));

      expect(failedIds(response)).toEqual([a0.messageId, a1.messageId, a2.messageId]);
      expect(received(b.Roope ?? '').map((e) => (e.type === 'message' ? e.message : ''))).toEqual([
        'b0',
        'b1',
      ]);
      expect(received(a.Mikki ?? '').map((e) => (e.type === 'message' ? e.message : ''))).toEqual(['a0']);
    });

    it('passes records before the failure and fails from the failing one on', async () => {
      const roomId = freshRoom();
      const c = await roomOf(roomId, 'Mikki', 'Aku');
      const first = sqsFifoRecord(messageEvent(roomId, c.Mikki ?? '', 'Mikki', 'first'));
      const second = sqsFifoRecord(messageEvent(roomId, c.Mikki ?? '', 'Mikki', 'second'));
      const third = sqsFifoRecord(messageEvent(roomId, c.Mikki ?? '', 'Mikki', 'third'));
      // Aku takes the first message, then fails from the second one on (4 attempts each).
      server.script(c.Aku ?? '', 200, 500);

      const response = await fanout(sqsEvent([first, second, third]));

      expect(failedIds(response)).toEqual([second.messageId, third.messageId]);
      expect(received(c.Aku ?? '').map((e) => (e.type === 'message' ? e.message : ''))).toEqual(['first']);
    });

    it('keeps the connection that failed (it is not gone)', async () => {
      const roomId = freshRoom();
      const c = await roomOf(roomId, 'Mikki', 'Aku');
      server.script(c.Aku ?? '', 500);

      await fanout(sqsEvent([sqsFifoRecord(messageEvent(roomId, c.Mikki ?? '', 'Mikki', 'x'))]));

      await expect(store.getConnection(c.Aku ?? '')).resolves.toBeDefined();
      expect(await drainQueue(aws.sqs, queueUrl)).toEqual([]);
    });
  });

  describe('records that break the contract', () => {
    it.each([
      ['not JSON', 'this is not json'],
      [
        'of an unknown version',
        JSON.stringify({ v: 2, id: 'x', at: new Date().toISOString(), kind: 'message' }),
      ],
      ['missing fields', JSON.stringify({ v: 1, id: 'x', at: new Date().toISOString(), kind: 'message' })],
    ])('fails a record that is %s, and the rest of its group, and logs it', async (_name, body) => {
      const roomId = freshRoom();
      const c = await roomOf(roomId, 'Mikki');
      const poison = sqsFifoRecord(body, { groupId: `room:${roomId}` });
      const after = sqsFifoRecord(messageEvent(roomId, c.Mikki ?? '', 'Mikki', 'after'));
      const elsewhere = freshRoom();
      const d = await roomOf(elsewhere, 'Aku');
      const unaffected = sqsFifoRecord(messageEvent(elsewhere, d.Aku ?? '', 'Aku', 'fine'));

      const response = await fanout(sqsEvent([poison, after, unaffected]));

      expect(failedIds(response)).toEqual([poison.messageId, after.messageId]);
      expect(received(d.Aku ?? '')).toHaveLength(1);
      expect(logs.entries()).toContainEqual(
        expect.objectContaining({ level: 'ERROR', message: 'record failed', messageId: poison.messageId }),
      );
    });
  });

  describe('the last attempt (receive count at MAX_RECEIVE_COUNT)', () => {
    it('parks a record that fails again in the dead-letter queue and lets its group flow on', async () => {
      const roomId = freshRoom();
      const c = await roomOf(roomId, 'Mikki', 'Aku');
      const poison = sqsFifoRecord(messageEvent(roomId, c.Mikki ?? '', 'Mikki', 'poison'), {
        receiveCount: 3,
      });
      const next = sqsFifoRecord(messageEvent(roomId, c.Mikki ?? '', 'Mikki', 'next'), { receiveCount: 3 });
      server.script(c.Aku ?? '', 500, 500, 500, 500, 200);

      const response = await fanout(sqsEvent([poison, next]));

      expect(response.batchItemFailures).toEqual([]);
      expect(received(c.Aku ?? '').map((e) => (e.type === 'message' ? e.message : ''))).toEqual(['next']);
      const parked = await drainQueue(aws.sqs, deadLetterQueueUrlOf(queueUrl));
      expect(parked.map((m) => m.Body)).toEqual([poison.body]);
      expect(parked[0]?.Attributes?.MessageGroupId).toBe(`room:${roomId}`);
      expect(logs.entries()).toContainEqual(
        expect.objectContaining({
          level: 'ERROR',
          message: 'parked in the dead-letter queue',
          messageId: poison.messageId,
        }),
      );
    });

    it('parks a record that breaks the contract on its last attempt', async () => {
      const roomId = freshRoom();
      const poison = sqsFifoRecord('not json', { groupId: `room:${roomId}`, receiveCount: 3 });

      const response = await fanout(sqsEvent([poison]));

      expect(response.batchItemFailures).toEqual([]);
      expect((await drainQueue(aws.sqs, deadLetterQueueUrlOf(queueUrl))).map((m) => m.Body)).toEqual([
        'not json',
      ]);
    });

    it('does not park a record before its last attempt', async () => {
      const roomId = freshRoom();
      const c = await roomOf(roomId, 'Mikki', 'Aku');
      const record = sqsFifoRecord(messageEvent(roomId, c.Mikki ?? '', 'Mikki', 'x'), { receiveCount: 2 });
      server.script(c.Aku ?? '', 500);

      const response = await fanout(sqsEvent([record]));

      expect(failedIds(response)).toEqual([record.messageId]);
      expect(await drainQueue(aws.sqs, deadLetterQueueUrlOf(queueUrl))).toEqual([]);
    });
  });

  it('keeps at most FANOUT_CONCURRENCY posts in flight, and uses them', async () => {
    const roomId = freshRoom();
    const nicknames = Array.from({ length: 16 }, (_, i) => `m${i}`);
    const c = await roomOf(roomId, ...nicknames);
    server.setLatency(25);

    await fanout(sqsEvent([sqsFifoRecord(messageEvent(roomId, c.m0 ?? '', 'm0', 'x'))]));

    expect(server.requests).toHaveLength(16);
    expect(server.maxInFlight).toBe(CONCURRENCY);
  });

  it('logs one line per delivered record without message text', async () => {
    const roomId = freshRoom();
    const c = await roomOf(roomId, 'Mikki');
    const record: SQSRecord = sqsFifoRecord(messageEvent(roomId, c.Mikki ?? '', 'Mikki', 'private words'));

    await fanout(sqsEvent([record]));

    expect(logs.entries()).toEqual([
      expect.objectContaining({
        message: 'delivered',
        kind: 'message',
        roomId,
        delivered: 1,
        gone: 0,
        receiveCount: 1,
      }),
    ]);
    expect(logs.text()).not.toContain('private words');
  });
});

describe('fanout metrics and delivery log (docs/operations.md)', () => {
  const context = { awsRequestId: 'req-metrics', functionName: 'chat-FanoutFunction' } as Context;
  const sentAt = (roomId: string, connectionId: string, text: string, at: Date) =>
    roomEventFixture(
      { kind: 'message', roomId, connectionId, from: 'Mikki', message: text },
      { at: at.toISOString() },
    );

  it('flushes one metrics line per invocation: deliveries, gone, duration, lag and room size', async () => {
    const roomId = freshRoom();
    const c = await roomOf(roomId, 'Mikki', 'Aku', 'Hessu');
    server.script(c.Hessu ?? '', 410);

    await fanout(
      sqsEvent([sqsFifoRecord(sentAt(roomId, c.Mikki ?? '', 'hei', new Date(Date.now() - 1500)))]),
      context,
    );

    const lines = logs.metrics();
    expect(lines).toHaveLength(1);
    const [line] = lines;
    expect(line).toMatchObject({
      _aws: { CloudWatchMetrics: [expect.objectContaining({ Dimensions: [[]] })] },
      Deliveries: 2,
      GoneConnections: 1,
      FailedPosts: 0,
      RoomSize: 3,
      function_request_id: 'req-metrics',
    });
    expect(line?.FanoutDuration).toEqual(expect.any(Number));
    expect(line?.DeliveryLag).toBeGreaterThanOrEqual(1500);
    const text = JSON.stringify(lines);
    for (const id of [roomId, ...Object.values(c)]) expect(text).not.toContain(id);
  });

  it('logs the delivery with the event id, the sender and the gone connections', async () => {
    const roomId = freshRoom();
    const c = await roomOf(roomId, 'Mikki', 'Aku', 'Hessu');
    server.script(c.Hessu ?? '', 410);
    const event = messageEvent(roomId, c.Mikki ?? '', 'Mikki', 'hei');

    await fanout(sqsEvent([sqsFifoRecord(event)]), context);

    expect(logs.entries()).toContainEqual(
      expect.objectContaining({
        level: 'INFO',
        message: 'delivered',
        eventId: event.id,
        roomId,
        connectionId: c.Mikki,
        goneConnections: c.Hessu,
        function_request_id: 'req-metrics',
      }),
    );
  });

  it('counts failed posts and a retried event, and leaves the lag out while posts fail', async () => {
    const roomId = freshRoom();
    const c = await roomOf(roomId, 'Mikki', 'Aku');
    server.script(c.Aku ?? '', 500);

    const response = await fanout(
      sqsEvent([sqsFifoRecord(messageEvent(roomId, c.Mikki ?? '', 'Mikki', 'again'), { receiveCount: 2 })]),
      context,
    );

    expect(response.batchItemFailures).toHaveLength(1);
    const [line] = logs.metrics();
    expect(line).toMatchObject({ Deliveries: 1, FailedPosts: 1, EventRetries: 1 });
    expect(line).not.toHaveProperty('DeliveryLag');
  });

  it('counts an event parked in the dead-letter queue on its last attempt', async () => {
    const roomId = freshRoom();
    const c = await roomOf(roomId, 'Mikki', 'Aku');
    server.script(c.Aku ?? '', 500);

    const response = await fanout(
      sqsEvent([sqsFifoRecord(messageEvent(roomId, c.Mikki ?? '', 'Mikki', 'last'), { receiveCount: 3 })]),
      context,
    );

    expect(response.batchItemFailures).toEqual([]);
    expect(logs.metrics()[0]).toMatchObject({ ParkedEvents: 1, FailedPosts: 1, EventRetries: 1 });
    await drainQueue(aws.sqs, deadLetterQueueUrlOf(queueUrl));
  });
});
