/**
 * The real fanout handler module (functions/fanout/handler.ts, loaded as Lambda would load it)
 * against DynamoDB Local, the local SQS server and the local @connections server: the room's
 * sequencer (seq, redelivery, dropped events), delivery, pruning on 410, retries, partial
 * batch failures under the FIFO group rule, parking, the deadline and the retry backoff; and
 * the metrics and log fields docs/operations.md relies on.
 */
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { DynamoDbConnectionRegistry } from '../../functions/shared/adapters/dynamodb/connection-registry';
import { DynamoDbEntryStore } from '../../functions/shared/adapters/dynamodb/entry-store';
import { DynamoDbRoomLog } from '../../functions/shared/adapters/dynamodb/room-log-store';
import { shardOf } from '../../functions/shared/adapters/dynamodb/table-layout';
import type { ServerEvent } from '../../functions/shared/domain/protocol';
import { entryEventId, messageGroupOf, type RoomEvent } from '../../functions/shared/domain/room-events';
import { captureStdout } from '../support/capture-logs';
import { createChatTable, uniqueTableName } from '../support/chat-table';
import { type ConnectionsServer, startConnectionsServer } from '../support/connections-server';
import { loadHandler, withEnv } from '../support/load-handler';
import {
  createFifoQueue,
  deadLetterQueueUrlOf,
  drainQueue,
  type LocalAws,
  setHandlerEnvironment,
  startLocalAws,
} from '../support/local-aws';
import { roomEventFixture, sqsEvent, sqsFifoRecord, sqsRecordFromMessage } from '../support/sqs-events';
import { connectionIdFor } from '../support/ws-events';

type Fanout = (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse>;

const CONCURRENCY = 4;
const MAX_ATTEMPTS = 3;
let aws: LocalAws;
let server: ConnectionsServer;
let tableName: string;
let queueUrl: string;
let registry: DynamoDbConnectionRegistry;
let entries: DynamoDbEntryStore;
let log: DynamoDbRoomLog;
let fanout: Fanout;
let logs: ReturnType<typeof captureStdout>;

beforeAll(async () => {
  [aws, server] = await Promise.all([startLocalAws(), startConnectionsServer({ stage: 'dev' })]);
  tableName = uniqueTableName('fanout');
  await createChatTable(aws.ddb, tableName);
  queueUrl = await createFifoQueue(aws.sqs);
  registry = new DynamoDbConnectionRegistry(aws.ddb, tableName);
  entries = new DynamoDbEntryStore(aws.ddb, tableName);
  log = new DynamoDbRoomLog(aws.ddb, tableName, { retentionDays: 7 });
  setHandlerEnvironment({
    tableName,
    queueUrl,
    ddbEndpoint: aws.ddbEndpoint,
    sqsEndpoint: aws.sqsEndpoint,
    connectionsUrl: server.callbackUrl,
    extra: { FANOUT_CONCURRENCY: String(CONCURRENCY), MAX_ATTEMPTS: String(MAX_ATTEMPTS) },
  });
  fanout = loadHandler<{ handler: Fanout }>('fanout').handler;
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
const texts = (connectionId: string) =>
  received(connectionId).map((e) => (e.type === 'message' ? e.message : e.type));

interface Member {
  connectionId: string;
  entryId: string;
  nickname: string;
}

/** Runs the fanout over records and expects every one of them to succeed. */
async function deliverAll(records: SQSRecord[]): Promise<void> {
  expect(await fanout(sqsEvent(records))).toEqual({ batchItemFailures: [] });
}

/** A connected member of the room, entered through the real flow: entry reserved, joined logged. */
async function join(
  roomId: string,
  nickname: string,
  connectionId = connectionIdFor(nickname),
  deliver: (records: SQSRecord[]) => Promise<unknown> = deliverAll,
): Promise<Member> {
  await registry.putConnection({ connectionId, role: 'user', principalId: 'user', connectedAt: Date.now() });
  const entry = {
    connectionId,
    roomId,
    entryId: `${nickname}-${roomId}-${connectionId}`,
    nickname,
    fromId: `f-${nickname}`,
  };
  await entries.reserve(entry);
  await entries.markQueued(entry);
  const joined = roomEventFixture(
    { kind: 'joined', roomId, connectionId, entryId: entry.entryId, nickname, fromId: entry.fromId },
    { id: entryEventId('joined', entry.entryId) },
  );
  await deliver([sqsFifoRecord(joined)]);
  return { connectionId, entryId: entry.entryId, nickname };
}

async function roomOf(roomId: string, ...nicknames: string[]): Promise<Record<string, Member>> {
  const members: Record<string, Member> = {};
  for (const nickname of nicknames) members[nickname] = await join(roomId, nickname);
  server.reset();
  return members;
}

const message = (roomId: string, from: Member, text: string) =>
  roomEventFixture({
    kind: 'message',
    roomId,
    connectionId: from.connectionId,
    entryId: from.entryId,
    from: from.nickname,
    fromId: `f-${from.nickname}`,
    message: text,
  });

const failedIds = (response: SQSBatchResponse) => response.batchItemFailures.map((f) => f.itemIdentifier);
const must = <T>(value: T | undefined): T => {
  if (value === undefined) throw new Error('missing');
  return value;
};

describe('the fanout as the room sequencer', () => {
  it('delivers a room message to every member, the sender included, at the next seq', async () => {
    const roomId = freshRoom();
    const c = await roomOf(roomId, 'Mikki', 'Aku', 'Hessu', 'Roope');
    const event = message(roomId, must(c.Mikki), 'Hei kaikki!');

    const response = await fanout(sqsEvent([sqsFifoRecord(event)]));

    expect(response).toEqual({ batchItemFailures: [] });
    for (const member of Object.values(c)) {
      expect(received(member.connectionId)).toEqual([
        {
          type: 'message',
          roomId,
          seq: 5,
          from: 'Mikki',
          fromId: 'f-Mikki',
          message: 'Hei kaikki!',
          id: event.id,
          at: event.at,
        },
      ]);
    }
  });

  it('keeps the seq of a redelivered record and logs it once', async () => {
    const roomId = freshRoom();
    const c = await roomOf(roomId, 'Mikki', 'Aku');
    const record = sqsFifoRecord(message(roomId, must(c.Mikki), 'once'));

    await fanout(sqsEvent([record]));
    await fanout(sqsEvent([record]));

    expect(received(must(c.Aku).connectionId).map((e) => 'seq' in e && e.seq)).toEqual([3, 3]);
    expect((await log.head(roomId)).seq).toBe(3);
  });

  it('keeps the seqs of a batch that comes back whole after its invocation died, logging nothing twice', async () => {
    const roomId = freshRoom();
    const c = await roomOf(roomId, 'Mikki', 'Aku');
    const events = ['one', 'two', 'three'].map((text) => message(roomId, must(c.Mikki), text));
    await fanout(sqsEvent(events.map((e) => sqsFifoRecord(e))));
    server.reset();

    // The invocation was killed before it returned: every record comes back, received twice.
    const response = await fanout(sqsEvent(events.map((e) => sqsFifoRecord(e, { receiveCount: 2 }))));

    expect(response.batchItemFailures).toEqual([]);
    expect(received(must(c.Aku).connectionId).map((e) => 'seq' in e && e.seq)).toEqual([3, 4, 5]);
    expect((await log.head(roomId)).seq).toBe(5);
  });

  it('gives the newcomer entered (the roster at its joined), then the latest page; the others joined', async () => {
    const roomId = freshRoom();
    const c = await roomOf(roomId, 'Mikki', 'Aku');
    await fanout(sqsEvent([sqsFifoRecord(message(roomId, must(c.Mikki), 'before Hessu'))]));
    server.reset();

    const hessu = await join(roomId, 'Hessu');

    const [entered, page] = received(hessu.connectionId);
    expect(entered).toMatchObject({
      type: 'entered',
      roomId,
      seq: 4,
      nickname: 'Hessu',
      memberCount: 3,
    });
    expect(entered?.type === 'entered' && [...entered.members].sort()).toEqual(['Aku', 'Hessu', 'Mikki']);
    expect(page).toMatchObject({ type: 'history', roomId, more: false });
    expect(page?.type === 'history' && page.events.map((e) => [e.seq, e.type])).toEqual([
      [1, 'joined'],
      [2, 'joined'],
      [3, 'message'],
    ]);
    expect(received(must(c.Mikki).connectionId)).toEqual([
      expect.objectContaining({ type: 'joined', nickname: 'Hessu', seq: 4, id: entered?.id }),
    ]);
  });

  it('resumes a newcomer from `since` with every event it missed, and says so', async () => {
    const roomId = freshRoom();
    const c = await roomOf(roomId, 'Mikki');
    for (const text of ['one', 'two', 'three']) {
      await fanout(sqsEvent([sqsFifoRecord(message(roomId, must(c.Mikki), text))]));
    }
    const connectionId = connectionIdFor('back');
    await registry.putConnection({
      connectionId,
      role: 'user',
      principalId: 'user',
      connectedAt: Date.now(),
    });
    const entry = { connectionId, roomId, entryId: 'resume-entry', nickname: 'Back', fromId: 'f-back' };
    await entries.reserve(entry);
    const joined = roomEventFixture(
      {
        kind: 'joined',
        roomId,
        connectionId,
        entryId: entry.entryId,
        nickname: 'Back',
        fromId: 'f-back',
        since: 2,
      },
      { id: entryEventId('joined', entry.entryId) },
    );

    await fanout(sqsEvent([sqsFifoRecord(joined)]));

    const [entered, page, ...rest] = received(connectionId);
    expect(entered).toMatchObject({ type: 'entered', seq: 5, resumed: true });
    expect(page?.type === 'history' && page.events.map((e) => e.seq)).toEqual([3, 4]);
    expect(page).toMatchObject({ more: true });
    expect(rest).toEqual([]);
  });

  it('drops a message whose sender is no longer on the roster, and tells the sender', async () => {
    const roomId = freshRoom();
    const c = await roomOf(roomId, 'Mikki', 'Aku');
    const stale = { ...must(c.Aku), entryId: 'an-older-entry' };
    const event = message(roomId, stale, 'after my exit');

    const response = await fanout(sqsEvent([sqsFifoRecord(event)]));

    expect(response.batchItemFailures).toEqual([]);
    expect(received(must(c.Mikki).connectionId)).toEqual([]);
    expect(received(must(c.Aku).connectionId)).toEqual([
      expect.objectContaining({ type: 'error', code: 'not_in_room', action: 'sendmessage' }),
    ]);
    expect((await log.head(roomId)).seq).toBe(2);
  });

  it('drops a joined whose entry was taken back, delivering nothing', async () => {
    const roomId = freshRoom();
    const c = await roomOf(roomId, 'Mikki');
    const connectionId = connectionIdFor('undone');
    await registry.putConnection({
      connectionId,
      role: 'user',
      principalId: 'user',
      connectedAt: Date.now(),
    });
    const entry = { connectionId, roomId, entryId: 'taken-back', nickname: 'Undone', fromId: 'f' };
    await entries.reserve(entry);
    await expect(entries.cancel(entry)).resolves.toBe(true);
    const joined = roomEventFixture(
      { kind: 'joined', roomId, connectionId, entryId: entry.entryId, nickname: 'Undone', fromId: 'f' },
      { id: entryEventId('joined', entry.entryId) },
    );

    await fanout(sqsEvent([sqsFifoRecord(joined)]));

    expect(received(connectionId)).toEqual([]);
    expect(received(must(c.Mikki).connectionId)).toEqual([]);
    expect((await log.head(roomId)).seq).toBe(1);
  });

  it('sends exited to a leaver after everything before its left, and left to the others', async () => {
    const roomId = freshRoom();
    const c = await roomOf(roomId, 'Mikki', 'Aku');
    const aku = must(c.Aku);
    const current = must(await entries.get(aku.connectionId, roomId));
    const leaving = await entries.beginExit(current);
    await entries.markExited(leaving);
    const left = roomEventFixture(
      {
        kind: 'left',
        roomId,
        connectionId: aku.connectionId,
        entryId: aku.entryId,
        nickname: 'Aku',
        reason: 'exit',
      },
      { id: entryEventId('left', aku.entryId) },
    );

    await fanout(sqsEvent([sqsFifoRecord(message(roomId, must(c.Mikki), 'bye Aku')), sqsFifoRecord(left)]));

    expect(texts(aku.connectionId)).toEqual(['bye Aku', 'exited']);
    expect(texts(must(c.Mikki).connectionId)).toEqual(['bye Aku', 'left']);
    await expect(entries.get(aku.connectionId, roomId)).resolves.toBeUndefined();
    await expect(log.member(roomId, aku.connectionId)).resolves.toBeUndefined();
  });
});

describe('broadcasts', () => {
  it('splits a broadcast into one record per shard, and each shard record reaches its connections', async () => {
    await roomOf(freshRoom(), 'Mikki');
    const lobby = connectionIdFor('lobby');
    await registry.putConnection({
      connectionId: lobby,
      role: 'user',
      principalId: 'user',
      connectedAt: Date.now(),
    });
    const event = roomEventFixture({ kind: 'broadcast', from: 'admin', message: 'Huoltokatko klo 18' });

    expect(await fanout(sqsEvent([sqsFifoRecord(event)]))).toEqual({ batchItemFailures: [] });
    const shards = await drainQueue(aws.sqs, queueUrl);
    expect(shards).toHaveLength(registry.shards);
    expect(new Set(shards.map((m) => m.Attributes?.MessageGroupId)).size).toBe(registry.shards);

    expect(await fanout(sqsEvent(shards.map(sqsRecordFromMessage)))).toEqual({ batchItemFailures: [] });
    const all: string[] = [];
    for (let shard = 0; shard < registry.shards; shard++) {
      for await (const page of registry.connectionsOfShard(shard)) all.push(...page);
    }
    expect(all).toContain(lobby);
    for (const connectionId of all) {
      expect(received(connectionId)).toEqual([expect.objectContaining({ type: 'broadcast', id: event.id })]);
    }
  });
});

describe('a connection that answers 410', () => {
  it('queues the left (reason gone) of its entries in every room, removes its record, never the sender', async () => {
    const roomId = freshRoom();
    const other = freshRoom();
    const c = await roomOf(roomId, 'Mikki', 'Aku', 'Hessu');
    const akuElsewhere = await join(other, 'Aku A', must(c.Aku).connectionId);
    server.reset();
    server.script(must(c.Aku).connectionId, 410);

    const response = await fanout(sqsEvent([sqsFifoRecord(message(roomId, must(c.Mikki), 'x'))]));

    expect(response.batchItemFailures).toEqual([]);
    const events = (await drainQueue(aws.sqs, queueUrl)).map((m) => JSON.parse(m.Body ?? '') as RoomEvent);
    expect(events).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          kind: 'left',
          reason: 'gone',
          roomId,
          id: entryEventId('left', must(c.Aku).entryId),
        }),
        expect.objectContaining({
          kind: 'left',
          reason: 'gone',
          roomId: other,
          entryId: akuElsewhere.entryId,
        }),
      ]),
    );
    expect(events.map(messageGroupOf).sort()).toEqual([`room:${other}`, `room:${roomId}`].sort());
    await expect(registry.getConnection(must(c.Aku).connectionId)).resolves.toBeUndefined();
    await expect(registry.getConnection(must(c.Mikki).connectionId)).resolves.toBeDefined();
    expect(received(must(c.Hessu).connectionId)).toHaveLength(1);
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
    server.script(must(c.Aku).connectionId, ...answers);

    const response = await fanout(sqsEvent([sqsFifoRecord(message(roomId, must(c.Mikki), 'x'))]));

    expect(response.batchItemFailures).toEqual([]);
    expect(server.attempts(must(c.Aku).connectionId)).toBe(answers.length);
    expect(received(must(c.Aku).connectionId)).toHaveLength(1);
  });

  it('fails a record that keeps failing, with every later record of its group, but not other groups', async () => {
    const roomA = freshRoom();
    const roomB = freshRoom();
    const a = await roomOf(roomA, 'Mikki', 'Aku');
    const b = await roomOf(roomB, 'Hessu', 'Roope');
    const a0 = sqsFifoRecord(message(roomA, must(a.Mikki), 'a0'));
    const b0 = sqsFifoRecord(message(roomB, must(b.Hessu), 'b0'));
    const a1 = sqsFifoRecord(message(roomA, must(a.Mikki), 'a1'));
    const b1 = sqsFifoRecord(message(roomB, must(b.Hessu), 'b1'));
    const a2 = sqsFifoRecord(message(roomA, must(a.Mikki), 'a2'));
    server.script(must(a.Aku).connectionId, 500);

    const response = await fanout(sqsEvent([a0, b0, a1, b1, a2]));

    expect(failedIds(response)).toEqual([a0.messageId, a1.messageId, a2.messageId]);
    expect(texts(must(b.Roope).connectionId)).toEqual(['b0', 'b1']);
    expect(texts(must(a.Mikki).connectionId)).toEqual(['a0']);
  });

  it('fails records that break the contract, with the rest of their group, and logs them', async () => {
    const roomId = freshRoom();
    const c = await roomOf(roomId, 'Mikki');
    const poison = sqsFifoRecord('this is not json', { groupId: `room:${roomId}` });
    const after = sqsFifoRecord(message(roomId, must(c.Mikki), 'after'));
    const elsewhere = freshRoom();
    const d = await roomOf(elsewhere, 'Aku');
    const unaffected = sqsFifoRecord(message(elsewhere, must(d.Aku), 'fine'));

    const response = await fanout(sqsEvent([poison, after, unaffected]));

    expect(failedIds(response)).toEqual([poison.messageId, after.messageId]);
    expect(received(must(d.Aku).connectionId)).toHaveLength(1);
    expect(logs.entries()).toContainEqual(
      expect.objectContaining({ level: 'ERROR', message: 'record failed', messageId: poison.messageId }),
    );
  });
});

describe(`parking after ${MAX_ATTEMPTS} failed attempts`, () => {
  it('parks an event that failed on every attempt and lets its group flow on', async () => {
    const roomId = freshRoom();
    const c = await roomOf(roomId, 'Mikki', 'Aku');
    const poison = sqsFifoRecord(message(roomId, must(c.Mikki), 'poison'));
    const next = sqsFifoRecord(message(roomId, must(c.Mikki), 'next'));
    server.script(must(c.Aku).connectionId, 500);

    for (let attempt = 1; attempt < MAX_ATTEMPTS; attempt++) {
      expect(failedIds(await fanout(sqsEvent([poison, next])))).toEqual([poison.messageId, next.messageId]);
    }
    server.script(must(c.Aku).connectionId, 500, 500, 500, 500, 200);
    const response = await fanout(sqsEvent([poison, next]));

    expect(response.batchItemFailures).toEqual([]);
    expect(texts(must(c.Aku).connectionId)).toEqual(['next']);
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

  it('counts failures, not receives: a record handed out many times without failing is never parked', async () => {
    const roomId = freshRoom();
    const c = await roomOf(roomId, 'Mikki', 'Aku');
    const record = sqsFifoRecord(message(roomId, must(c.Mikki), 'x'), { receiveCount: 9 });
    server.script(must(c.Aku).connectionId, 500);

    const response = await fanout(sqsEvent([record]));

    expect(failedIds(response)).toEqual([record.messageId]);
    expect(await drainQueue(aws.sqs, deadLetterQueueUrlOf(queueUrl))).toEqual([]);
  });
});

describe('time and retries', () => {
  it('starts no record once the time left is short, and returns them unstarted', async () => {
    const roomId = freshRoom();
    const c = await roomOf(roomId, 'Mikki', 'Aku');
    const records = [sqsFifoRecord(message(roomId, must(c.Mikki), 'late'))];
    const context = { getRemainingTimeInMillis: () => 0 } as Context;

    const response = await fanout(sqsEvent(records), context);

    expect(failedIds(response)).toEqual(records.map((r) => r.messageId));
    expect(server.requests).toHaveLength(0);
    expect((await log.head(roomId)).seq).toBe(2);
  });

  it('brings a failed record back after about a second, not after the visibility timeout', async () => {
    const roomId = freshRoom();
    const c = await roomOf(roomId, 'Mikki', 'Aku');
    const event = message(roomId, must(c.Mikki), 'retry me');
    await aws.sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify(event),
        MessageGroupId: messageGroupOf(event),
        MessageDeduplicationId: event.id,
      }),
    );
    const { Messages = [] } = await aws.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1, AttributeNames: ['All'] }),
    );
    const record: SQSRecord = sqsRecordFromMessage(must(Messages[0]));
    server.script(must(c.Aku).connectionId, 500);

    const started = Date.now();
    expect(
      failedIds(
        await fanout(sqsEvent([{ ...record, receiptHandle: must(Messages[0]).ReceiptHandle ?? '' }])),
      ),
    ).toEqual([record.messageId]);
    let again: unknown[] = [];
    while (again.length === 0 && Date.now() - started < 10_000) {
      ({ Messages: again = [] } = await aws.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 1 }),
      ));
    }

    expect(again).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

it('keeps at most FANOUT_CONCURRENCY posts in flight, and uses them', async () => {
  const roomId = freshRoom();
  const nicknames = Array.from({ length: 16 }, (_, i) => `m${i}`);
  const c = await roomOf(roomId, ...nicknames);
  server.setLatency(25);

  await fanout(sqsEvent([sqsFifoRecord(message(roomId, must(c.m0), 'x'))]));

  server.setLatency(0);
  expect(server.requests).toHaveLength(16);
  expect(server.maxInFlight).toBe(CONCURRENCY);
});

it('logs one line per delivered record, with its seq and without the message text', async () => {
  const roomId = freshRoom();
  const c = await roomOf(roomId, 'Mikki');
  logs.restore();
  logs = captureStdout();

  await fanout(sqsEvent([sqsFifoRecord(message(roomId, must(c.Mikki), 'private words'))]));

  expect(logs.entries()).toEqual([
    expect.objectContaining({ message: 'delivered', kind: 'message', roomId, seq: 2, delivered: 1, gone: 0 }),
  ]);
  expect(logs.text()).not.toContain('private words');
});

describe('fanout metrics and delivery log (docs/operations.md)', () => {
  const context = {
    awsRequestId: 'req-metrics',
    functionName: 'chat-FanoutFunction',
    getRemainingTimeInMillis: () => 30_000,
  } as unknown as Context;
  const sentAt = (roomId: string, from: Member, text: string, at: Date) =>
    roomEventFixture(
      {
        kind: 'message',
        roomId,
        connectionId: from.connectionId,
        entryId: from.entryId,
        from: from.nickname,
        fromId: `f-${from.nickname}`,
        message: text,
      },
      { at: at.toISOString() },
    );

  it('flushes one metrics line per invocation: deliveries, gone, duration, lag and room size', async () => {
    const roomId = freshRoom();
    const c = await roomOf(roomId, 'Mikki', 'Aku', 'Hessu');
    server.script(must(c.Hessu).connectionId, 410);
    logs.restore();
    logs = captureStdout();

    await fanout(
      sqsEvent([sqsFifoRecord(sentAt(roomId, must(c.Mikki), 'hei', new Date(Date.now() - 1500)))]),
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
    for (const id of [roomId, ...Object.values(c).map((m) => m.connectionId)]) expect(text).not.toContain(id);
  });

  it('logs the delivery with the event id, its seq, the sender and the gone connections', async () => {
    const roomId = freshRoom();
    const c = await roomOf(roomId, 'Mikki', 'Aku', 'Hessu');
    server.script(must(c.Hessu).connectionId, 410);
    const event = message(roomId, must(c.Mikki), 'hei');

    await fanout(sqsEvent([sqsFifoRecord(event)]), context);

    expect(logs.entries()).toContainEqual(
      expect.objectContaining({
        level: 'INFO',
        message: 'delivered',
        eventId: event.id,
        seq: 4,
        roomId,
        connectionId: must(c.Mikki).connectionId,
        goneConnections: must(c.Hessu).connectionId,
        function_request_id: 'req-metrics',
      }),
    );
  });

  it('counts failed posts and a retried event, and leaves the lag out while posts fail', async () => {
    const roomId = freshRoom();
    const c = await roomOf(roomId, 'Mikki', 'Aku');
    server.script(must(c.Aku).connectionId, 500);
    logs.restore();
    logs = captureStdout();

    const response = await fanout(
      sqsEvent([sqsFifoRecord(message(roomId, must(c.Mikki), 'again'), { receiveCount: 2 })]),
      context,
    );

    expect(response.batchItemFailures).toHaveLength(1);
    const [line] = logs.metrics();
    expect(line).toMatchObject({ Deliveries: 1, FailedPosts: 1, EventRetries: 1 });
    expect(line).not.toHaveProperty('DeliveryLag');
  });

  it(`counts an event parked in the dead-letter queue after ${MAX_ATTEMPTS} failed attempts`, async () => {
    const roomId = freshRoom();
    const c = await roomOf(roomId, 'Mikki', 'Aku');
    server.script(must(c.Aku).connectionId, 500);
    const record = sqsFifoRecord(message(roomId, must(c.Mikki), 'last'));
    for (let attempt = 1; attempt < MAX_ATTEMPTS; attempt++) await fanout(sqsEvent([record]), context);
    logs.restore();
    logs = captureStdout();

    const response = await fanout(sqsEvent([record]), context);

    expect(response.batchItemFailures).toEqual([]);
    expect(logs.metrics()[0]).toMatchObject({ ParkedEvents: 1, FailedPosts: 1 });
    await drainQueue(aws.sqs, deadLetterQueueUrlOf(queueUrl));
  });
});

describe('a large room, delivered in slices (FANOUT_SLICE_SIZE=2, FANOUT_SLICES=3)', () => {
  let sliced: Fanout;

  beforeAll(() => {
    sliced = withEnv({ FANOUT_SLICE_SIZE: '2', FANOUT_SLICES: '3' }, () =>
      loadHandler<{ handler: Fanout }>('fanout'),
    ).handler;
  });

  /** Runs the sliced fanout over `records`, then over the slice records it queued, as the event source would. */
  async function deliverSliced(records: SQSRecord[]) {
    const first = await sliced(sqsEvent(records));
    const queued = await drainQueue(aws.sqs, queueUrl);
    const second = queued.length > 0 ? await sliced(sqsEvent(queued.map(sqsRecordFromMessage))) : undefined;
    return { first, queued, second };
  }

  /** A member entered through the sliced fanout (its joined and its slice records delivered). */
  const joinSliced = (roomId: string, nickname: string) =>
    join(roomId, nickname, connectionIdFor(nickname), deliverSliced);

  async function slicedRoom(roomId: string, ...nicknames: string[]): Promise<Record<string, Member>> {
    const members: Record<string, Member> = {};
    for (const nickname of nicknames) members[nickname] = await joinSliced(roomId, nickname);
    server.reset();
    return members;
  }

  it("queues one record per slice in the slice's own group, and each member gets the message once", async () => {
    const roomId = freshRoom();
    const c = await slicedRoom(roomId, 'Mikki', 'Aku', 'Hessu', 'Roope', 'Iines');
    const event = message(roomId, must(c.Mikki), 'Hei kaikki!');

    const { first, queued, second } = await deliverSliced([sqsFifoRecord(event)]);

    expect(first).toEqual({ batchItemFailures: [] });
    expect(second).toEqual({ batchItemFailures: [] });
    const slices = new Set(Object.values(c).map((m) => shardOf(m.connectionId, 3)));
    expect(queued.map((m) => m.Attributes?.MessageGroupId).sort()).toEqual(
      [...slices].map((s) => `slice:${roomId}:${s}`).sort(),
    );
    expect(queued.map((m) => m.Attributes?.MessageDeduplicationId).sort()).toEqual(
      [...slices].map((s) => `${event.id}:s${s}`).sort(),
    );
    for (const member of Object.values(c)) {
      expect(received(member.connectionId)).toEqual([
        expect.objectContaining({ type: 'message', seq: 6, message: 'Hei kaikki!', id: event.id }),
      ]);
    }
  });

  it('gives a newcomer entered and its history page through its slice, and the others joined', async () => {
    const roomId = freshRoom();
    const c = await slicedRoom(roomId, 'Mikki', 'Aku', 'Hessu');

    const minni = await joinSliced(roomId, 'Minni');

    const [entered, page, ...rest] = received(minni.connectionId);
    expect(entered).toMatchObject({ type: 'entered', roomId, seq: 4, nickname: 'Minni', memberCount: 4 });
    expect(entered?.type === 'entered' && [...entered.members].sort()).toEqual([
      'Aku',
      'Hessu',
      'Mikki',
      'Minni',
    ]);
    expect(page?.type === 'history' && page.events.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(rest).toEqual([]);
    for (const member of Object.values(c)) {
      expect(received(member.connectionId)).toEqual([
        expect.objectContaining({ type: 'joined', seq: 4, nickname: 'Minni', id: entered?.id }),
      ]);
    }
  });

  it('keeps at most FANOUT_CONCURRENCY posts in flight across the slice records of one batch', async () => {
    const roomId = freshRoom();
    const c = await slicedRoom(roomId, ...Array.from({ length: 12 }, (_, i) => `s${i}`));
    await sliced(sqsEvent([sqsFifoRecord(message(roomId, must(c.s0), 'x'))]));
    const queued = await drainQueue(aws.sqs, queueUrl);
    server.setLatency(25);

    const response = await sliced(sqsEvent(queued.map(sqsRecordFromMessage)));

    server.setLatency(0);
    expect(response).toEqual({ batchItemFailures: [] });
    expect(queued.length).toBeGreaterThan(1);
    expect(server.requests).toHaveLength(12);
    expect(server.maxInFlight).toBe(CONCURRENCY);
  });
});

describe('FANOUT_NOTIFIER=sdk', () => {
  it("posts through the SDK's management API client instead, with the same outcome", async () => {
    const viaSdk = withEnv({ FANOUT_NOTIFIER: 'sdk' }, () =>
      loadHandler<{ handler: Fanout }>('fanout'),
    ).handler;
    const roomId = freshRoom();
    const c = await roomOf(roomId, 'Mikki', 'Aku', 'Hessu');
    server.script(must(c.Hessu).connectionId, 500, 410);

    const response = await viaSdk(sqsEvent([sqsFifoRecord(message(roomId, must(c.Mikki), 'via the SDK'))]));

    expect(response).toEqual({ batchItemFailures: [] });
    expect(texts(must(c.Aku).connectionId)).toEqual(['via the SDK']);
    expect(server.requests.find((r) => r.connectionId === must(c.Aku).connectionId)?.authorization).toMatch(
      /SignedHeaders=amz-sdk-invocation-id;/,
    );
    await expect(registry.getConnection(must(c.Hessu).connectionId)).resolves.toBeUndefined();
  });
});
