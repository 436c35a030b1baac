/**
 * SqsRoomEventPublisher against the local SQS-protocol server (local-aws-sqs), with the
 * real SDK client: FIFO group per room, dedup by event id, order, batching.
 */
import type { Message } from '@aws-sdk/client-sqs';
import { SqsRoomEventPublisher } from '../../functions/shared/adapters/sqs-room-event-publisher';
import type { RoomEvent } from '../../functions/shared/domain/room-events';
import { createFifoQueue, drainQueue, type LocalAws, startLocalAws } from '../support/local-aws';
import { roomEventFixture } from '../support/sqs-events';

let aws: LocalAws;

beforeAll(async () => {
  aws = await startLocalAws();
}, 120_000);

afterAll(async () => {
  await aws?.stop();
});

const message = (roomId: string, text: string) =>
  roomEventFixture({ kind: 'message', roomId, connectionId: 'c1=', from: 'Mikki', message: text });
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

    await publisher.publish(event);

    expect(bodies(await drainQueue(aws.sqs, queueUrl))).toEqual([event]);
  });

  it('uses room:<id> as the message group and the event id as the deduplication id', async () => {
    const event = message('lobby', 'Hei');

    await publisher.publish(event);

    const [received] = await drainQueue(aws.sqs, queueUrl);
    expect(received?.Attributes?.MessageGroupId).toBe('room:lobby');
    expect(received?.Attributes?.MessageDeduplicationId).toBe(event.id);
  });

  it('puts broadcasts in the broadcast group', async () => {
    await publisher.publish(roomEventFixture({ kind: 'broadcast', from: 'admin', message: 'Huoltokatko' }));

    const [received] = await drainQueue(aws.sqs, queueUrl);
    expect(received?.Attributes?.MessageGroupId).toBe('broadcast:all');
  });

  it('keeps the order of a room’s events across more than one batch', async () => {
    const events = Array.from({ length: 23 }, (_, i) => message('1', `m${i}`));

    await publisher.publish(...events);

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
      await publisher.publish(...Array.from({ length: 23 }, (_, i) => message('1', `m${i}`)));
    } finally {
      aws.sqs.middlewareStack.remove(name);
    }

    expect(sizes).toEqual([10, 10, 3]);
  });

  it('keeps each room in order when rooms are interleaved', async () => {
    const events = Array.from({ length: 12 }, (_, i) => message(i % 2 === 0 ? 'a' : 'b', `m${i}`));

    await publisher.publish(...events);

    const received = bodies(await drainQueue(aws.sqs, queueUrl));
    for (const room of ['a', 'b']) {
      const inRoom = (list: RoomEvent[]) =>
        list.filter((e) => 'roomId' in e && e.roomId === room).map((e) => e.id);
      expect(inRoom(received)).toEqual(inRoom(events));
    }
  });

  it('queues an event published twice only once (deduplicated by id)', async () => {
    const event = message('1', 'retried');

    await publisher.publish(event);
    await publisher.publish(event);

    expect(bodies(await drainQueue(aws.sqs, queueUrl)).map((e) => e.id)).toEqual([event.id]);
  });

  it('does nothing for an empty publish', async () => {
    await publisher.publish();

    expect(await drainQueue(aws.sqs, queueUrl)).toEqual([]);
  });

  it('rejects when the queue does not exist', async () => {
    const missing = new SqsRoomEventPublisher(aws.sqs, `${aws.sqsEndpoint}/123456789012/missing.fifo`);

    await expect(missing.publish(message('1', 'x'))).rejects.toThrow();
  });
});
