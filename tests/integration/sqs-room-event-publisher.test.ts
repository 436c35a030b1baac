/**
 * SqsRoomEventPublisher against the local SQS-protocol server (local-aws-sqs), with the
 * real SDK client: FIFO group per room, dedup by event id, order, batching, bodies that
 * carry any text, and what it does when SQS refuses, or answers ambiguously.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Message, SQSClient } from '@aws-sdk/client-sqs';
import {
  PublishRefusedError,
  PublishUnconfirmedError,
  SqsRoomEventPublisher,
} from '../../functions/shared/adapters/sqs-room-event-publisher';
import type { RoomEvent } from '../../functions/shared/domain/room-events';
import {
  CREDENTIALS,
  createFifoQueue,
  drainQueue,
  type LocalAws,
  REGION,
  startLocalAws,
} from '../support/local-aws';
import { roomEventFixture } from '../support/sqs-events';

let aws: LocalAws;

beforeAll(async () => {
  aws = await startLocalAws();
}, 120_000);

afterAll(async () => {
  await aws?.stop();
});

const message = (roomId: string, text: string) =>
  roomEventFixture({
    kind: 'message',
    roomId,
    connectionId: 'c1=',
    entryId: 'e1',
    from: 'Mikki',
    fromId: 'f1',
    message: text,
  });

/**
 * A pass-through proxy to the SQS server whose first `failFirst` requests are forwarded and
 * then answered 500: SQS took them, the caller hears an error (an ambiguous publish).
 */
async function ambiguousProxy(target: string, failFirst: number) {
  let failures = failFirst;
  const upstream = new URL(target);
  const server = http.createServer((req, res) => {
    const forward = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        if (failures > 0) {
          failures -= 1;
          answer.resume();
          res.writeHead(500, { 'content-type': 'application/x-amz-json-1.0' });
          res.end(JSON.stringify({ __type: 'com.amazonaws.sqs#InternalError', message: 'ambiguous (test)' }));
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
const bodies = (messages: Message[]) => messages.map((m) => JSON.parse(m.Body ?? '') as RoomEvent);

describe('SqsRoomEventPublisher', () => {
  let queueUrl: string;
  let publisher: SqsRoomEventPublisher;

  beforeEach(async () => {
    queueUrl = await createFifoQueue(aws.sqs);
    publisher = new SqsRoomEventPublisher(aws.sqs, queueUrl);
  });

  it('queues the event as its JSON body', async () => {
    const event = message('1', 'Hei kaikki!');

    await publisher.publish([event]);

    expect(bodies(await drainQueue(aws.sqs, queueUrl))).toEqual([event]);
  });

  it('uses room:<id> as the message group and the event id as the deduplication id', async () => {
    const event = message('lobby', 'Hei');

    await publisher.publish([event]);

    const [received] = await drainQueue(aws.sqs, queueUrl);
    expect(received?.Attributes?.MessageGroupId).toBe('room:lobby');
    expect(received?.Attributes?.MessageDeduplicationId).toBe(event.id);
  });

  it('puts a broadcast in the broadcast group, and each of its shard records in a group of its own', async () => {
    const broadcast = roomEventFixture({
      kind: 'broadcast',
      from: 'admin',
      message: 'Huoltokatko',
    }) as Extract<RoomEvent, { kind: 'broadcast' }>;

    await publisher.publish([broadcast, { ...broadcast, shard: 0 }, { ...broadcast, shard: 3 }]);

    const received = await drainQueue(aws.sqs, queueUrl);
    expect(received.map((m) => [m.Attributes?.MessageGroupId, m.Attributes?.MessageDeduplicationId])).toEqual(
      [
        ['broadcast', broadcast.id],
        ['broadcast:0', `${broadcast.id}:0`],
        ['broadcast:3', `${broadcast.id}:3`],
      ],
    );
  });

  it('carries any text verbatim, the characters SQS refuses in a body included', async () => {
    const text = 'noncharacters \uFFFE \uFFFF, a lone surrogate \uD800, NUL \u0000, emoji 👋';
    const event = message('1', text);

    await publisher.publish([event]);

    const [received] = await drainQueue(aws.sqs, queueUrl);
    expect(received?.Body).not.toMatch(/[\uFFFE\uFFFF]/);
    expect((JSON.parse(received?.Body ?? '') as { message: string }).message).toBe(text);
  });

  it('keeps the order of a room’s events across more than one batch', async () => {
    const events = Array.from({ length: 23 }, (_, i) => message('1', `m${i}`));

    await publisher.publish(events);

    expect(bodies(await drainQueue(aws.sqs, queueUrl)).map((e) => e.id)).toEqual(events.map((e) => e.id));
  });

  it('sends more than ten events as several SendMessageBatch requests of at most ten', async () => {
    const sizes: number[] = [];
    const name = `count-${queueUrl}`;
    aws.sqs.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'SendMessageBatchCommand') {
          sizes.push((args.input as { Entries: unknown[] }).Entries.length);
        }
        return next(args);
      },
      { step: 'initialize', name },
    );
    try {
      await publisher.publish(Array.from({ length: 23 }, (_, i) => message('1', `m${i}`)));
    } finally {
      aws.sqs.middlewareStack.remove(name);
    }

    expect(sizes).toEqual([10, 10, 3]);
  });

  it('keeps each room in order when rooms are interleaved', async () => {
    const events = Array.from({ length: 12 }, (_, i) => message(i % 2 === 0 ? 'a' : 'b', `m${i}`));

    await publisher.publish(events);

    const received = bodies(await drainQueue(aws.sqs, queueUrl));
    for (const room of ['a', 'b']) {
      const inRoom = (list: RoomEvent[]) =>
        list.filter((e) => 'roomId' in e && e.roomId === room).map((e) => e.id);
      expect(inRoom(received)).toEqual(inRoom(events));
    }
  });

  it('queues an event published twice only once (deduplicated by id)', async () => {
    const event = message('1', 'retried');

    await publisher.publish([event]);
    await publisher.publish([event]);

    expect(bodies(await drainQueue(aws.sqs, queueUrl)).map((e) => e.id)).toEqual([event.id]);
  });

  it('does nothing for an empty publish', async () => {
    await publisher.publish([]);

    expect(await drainQueue(aws.sqs, queueUrl)).toEqual([]);
  });

  it('rejects as refused (nothing queued) when the queue does not exist', async () => {
    const missing = new SqsRoomEventPublisher(aws.sqs, `${aws.sqsEndpoint}/123456789012/missing.fifo`);

    await expect(missing.publish([message('1', 'x')])).rejects.toBeInstanceOf(PublishRefusedError);
  });

  it('retries an ambiguous publish with the same deduplication id: the event is queued once', async () => {
    const proxy = await ambiguousProxy(aws.sqsEndpoint, 2);
    const client = new SQSClient({
      region: REGION,
      credentials: CREDENTIALS,
      endpoint: proxy.endpoint,
      maxAttempts: 1,
    });
    try {
      const event = message('1', 'took twice to confirm');

      await new SqsRoomEventPublisher(client, queueUrl).publish([event]);

      expect(bodies(await drainQueue(aws.sqs, queueUrl)).map((e) => e.id)).toEqual([event.id]);
    } finally {
      client.destroy();
      await proxy.stop();
    }
  });

  it('gives up as unconfirmed at the deadline when SQS cannot be reached', async () => {
    const client = new SQSClient({
      region: REGION,
      credentials: CREDENTIALS,
      endpoint: 'http://127.0.0.1:9',
      maxAttempts: 1,
    });
    try {
      const started = Date.now();

      await expect(
        new SqsRoomEventPublisher(client, queueUrl).publish([message('1', 'x')], {
          deadline: Date.now() + 800,
        }),
      ).rejects.toBeInstanceOf(PublishUnconfirmedError);
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      client.destroy();
    }
  });
});
