/**
 * Scenario 2 — room throughput: how many messages per second one room of 1,000 members carries
 * with every message delivered to everyone. The room's messages are one FIFO group, so the
 * fanout handles them one at a time: each waits for the previous one's posts. A fanout
 * process polls the queue as the event source does (batches of up to 10 of the room's
 * messages, in order); the @connections server answers each post after 20 ms. Before: the
 * SDK's client; after: the signed posts; and, since a post now costs little CPU, the same with
 * more posts in flight.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { deduplicationIdOf, messageGroupOf } from '../functions/shared/domain/room-events';
import { createChatTable, uniqueTableName } from '../tests/support/chat-table';
import { createFifoQueue, type LocalAws } from '../tests/support/local-aws';
import { fanoutEnvironment, startFanoutProcess } from './support/fanout-processes';
import { startRemoteConnectionsServer } from './support/remote-connections-server';
import { messageFrom, roomItems } from './support/room-seed';
import { batchPut } from './support/seed';
import { round } from './support/stats';

export interface ThroughputRow {
  variant: string;
  notifier: 'sdk' | 'signed';
  concurrency: number;
  members: number;
  messages: number;
  wallMs: number;
  messagesPerSecond: number;
  /** One message's posts with every post in flight at the bound: latency × ceil(members / concurrency). */
  idealMsPerMessage: number;
  msPerMessage: number;
}

export interface ThroughputOptions {
  members: number;
  messages: number;
  latencyMs: number;
  variants: { variant: string; notifier: 'sdk' | 'signed'; concurrency: number }[];
}

export async function runThroughputBench(
  aws: LocalAws,
  options: ThroughputOptions,
): Promise<ThroughputRow[]> {
  const server = await startRemoteConnectionsServer(options.latencyMs);
  const tableName = uniqueTableName('bench-throughput');
  await createChatTable(aws.ddb, tableName);
  const roomId = `busy${options.members}`;
  await batchPut(aws.ddb, tableName, roomItems(roomId, options.members, { slices: 100 }));
  const rows: ThroughputRow[] = [];
  try {
    for (const { variant, notifier, concurrency } of options.variants) {
      const queueUrl = await createFifoQueue(aws.sqs, 'bench-throughput');
      const fanout = await startFanoutProcess(
        fanoutEnvironment({
          dynamoDbEndpoint: aws.ddbEndpoint,
          sqsEndpoint: aws.sqsEndpoint,
          tableName,
          queueUrl,
          connectionsUrl: server.callbackUrl,
          extra: { FANOUT_NOTIFIER: notifier, FANOUT_CONCURRENCY: String(concurrency) },
        }),
      );

      try {
        await fanout.poll(queueUrl);
        // As the send route queues them: one message after another into the room's group.
        const queue = async (count: number, label: string) => {
          for (let n = 0; n < count; n++) {
            const event = messageFrom(roomId, n % options.members, `${label} ${n}`);
            await aws.sqs.send(
              new SendMessageCommand({
                QueueUrl: queueUrl,
                MessageBody: JSON.stringify(event),
                MessageGroupId: messageGroupOf(event),
                MessageDeduplicationId: deduplicationIdOf(event),
              }),
            );
          }
        };
        // Warm: the sandbox's first messages pay for JIT and sockets.
        await server.reset();
        await queue(3, 'warm');
        await server.waitForPosts(3 * options.members, 120_000);
        await server.reset();
        const started = performance.now();
        await queue(options.messages, variant);
        await server.waitForPosts(options.messages * options.members, 600_000);
        const wallMs = performance.now() - started;
        const row: ThroughputRow = {
          variant,
          notifier,
          concurrency,
          members: options.members,
          messages: options.messages,
          wallMs: round(wallMs),
          messagesPerSecond: round((options.messages / wallMs) * 1000, 2),
          idealMsPerMessage: options.latencyMs * Math.ceil(options.members / concurrency),
          msPerMessage: round(wallMs / options.messages),
        };
        console.log(`  ${variant}: ${row.messagesPerSecond} messages/s`);
        rows.push(row);
      } finally {
        await fanout.stop();
      }
    }
  } finally {
    await server.stop();
  }
  return rows;
}
