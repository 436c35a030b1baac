/**
 * Scenario 1 — fanout speed. The real fanout handler (functions/fanout/handler.ts) delivers one
 * room message to rooms of 100, 1,000 and 10,000 members through a local @connections server
 * that answers every post after a fixed latency (default 20 ms, like an API Gateway round
 * trip). Beside it: the naive one-post-at-a-time loop of the public samples.
 */
import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import {
  DynamoDbConnectionStore,
  membershipItems,
} from '../functions/shared/adapters/dynamodb-connection-store';
import { roomEvent } from '../functions/shared/domain/room-events';
import { createChatTable, uniqueTableName } from '../tests/support/chat-table';
import { createFifoQueue, type LocalAws, setHandlerEnvironment } from '../tests/support/local-aws';
import { sqsEvent, sqsFifoRecord } from '../tests/support/sqs-events';
import { startRemoteConnectionsServer } from './support/remote-connections-server';
import { batchPut, type Item } from './support/seed';
import { median, round, timed } from './support/stats';

export interface FanoutRow {
  members: number;
  concurrency: number;
  latencyMs: number;
  wallMs: number;
  postsPerSecond: number;
  idealMs: number;
  efficiency: number;
  sequentialMs: number;
  sequentialProjected: boolean;
  speedup: number;
  /** Time to Query the whole room (every page) from DynamoDB Local, part of the wall time. */
  readMs: number;
  /** CPU time of the fanout's process per post (the @connections server and DynamoDB run elsewhere). */
  cpuMsPerPost: number;
}

export interface FanoutOptions {
  sizes: number[];
  latencyMs: number;
  concurrency: number;
  runs: number;
  /** Largest room for which the sequential baseline is measured; larger ones are projected. */
  sequentialMeasuredUpTo: number;
}

/**
 * A room's member items: all the fanout reads (it Queries the room partition). The members'
 * other items (connection, rooms-of, nickname) are only read when a post answers 410, which
 * this scenario never does, so they are not written: seeding stays fast.
 */
function* roomItems(roomId: string, members: number): Generator<Item> {
  const ttl = Math.floor(Date.now() / 1000) + 3600;
  for (let i = 0; i < members; i++) {
    const connectionId = `${roomId}-c${i}`;
    yield membershipItems({ connectionId, roomId, nickname: `user${i}` }, ttl, 'active').member;
  }
}

export async function runFanoutBench(aws: LocalAws, options: FanoutOptions): Promise<FanoutRow[]> {
  // In its own process, as API Gateway is remote: its CPU is not the fanout's.
  const server = await startRemoteConnectionsServer(options.latencyMs);
  const tableName = uniqueTableName('bench-fanout');
  await createChatTable(aws.ddb, tableName);
  const queueUrl = await createFifoQueue(aws.sqs, 'bench-fanout');
  for (const size of options.sizes) await batchPut(aws.ddb, tableName, roomItems(`room${size}`, size));

  setHandlerEnvironment({
    tableName,
    queueUrl,
    ddbEndpoint: aws.ddbEndpoint,
    sqsEndpoint: aws.sqsEndpoint,
    connectionsUrl: server.callbackUrl,
    extra: { FANOUT_CONCURRENCY: String(options.concurrency), LOG_LEVEL: 'warn' },
  });
  const { handler } = (await import('../functions/fanout/handler.js')) as {
    handler: (event: SQSEvent) => Promise<SQSBatchResponse>;
  };
  // The naive baseline: the same SDK client, one awaited post after another.
  const naive = new ApiGatewayManagementApiClient({ endpoint: server.callbackUrl });

  const message = (roomId: string) =>
    sqsEvent([
      sqsFifoRecord(
        roomEvent({ kind: 'message', roomId, connectionId: `${roomId}-c0`, from: 'user0', message: 'hei' }),
      ),
    ]);
  const rows: FanoutRow[] = [];
  try {
    // A warm container, as Lambda keeps one between events: the first invocation pays for JIT and sockets.
    await handler(message(`room${options.sizes[0]}`));
    for (const members of options.sizes) {
      const roomId = `room${members}`;
      const walls: number[] = [];
      const cpus: number[] = [];
      for (let run = 0; run < options.runs; run++) {
        await server.reset();
        const cpu = process.cpuUsage();
        const { ms, value } = await timed(() => handler(message(roomId)));
        const used = process.cpuUsage(cpu);
        cpus.push((used.user + used.system) / 1000);
        if (value.batchItemFailures.length > 0) throw new Error(`fanout failed for ${members} members`);
        const posted = await server.posts();
        if (posted !== members) throw new Error(`expected ${members} posts, the server saw ${posted}`);
        walls.push(ms);
      }
      const wallMs = median(walls);
      const store = new DynamoDbConnectionStore(aws.ddb, tableName);
      const read = await timed(async () => {
        for await (const _page of store.roomMembers(roomId));
      });
      const idealMs = options.latencyMs * Math.ceil(members / options.concurrency);

      const measuredSequential = Math.min(members, options.sequentialMeasuredUpTo);
      const sequential = await timed(async () => {
        for (let i = 0; i < measuredSequential; i++) {
          await naive.send(new PostToConnectionCommand({ ConnectionId: `${roomId}-c${i}`, Data: 'hei' }));
        }
      });
      const sequentialMs = (sequential.ms / measuredSequential) * members;
      rows.push({
        members,
        concurrency: options.concurrency,
        latencyMs: options.latencyMs,
        wallMs: round(wallMs),
        postsPerSecond: Math.round((members / wallMs) * 1000),
        idealMs,
        efficiency: round(idealMs / wallMs, 2),
        sequentialMs: Math.round(sequentialMs),
        sequentialProjected: measuredSequential < members,
        speedup: round(sequentialMs / wallMs, 1),
        readMs: round(read.ms),
        cpuMsPerPost: round(median(cpus) / members, 2),
      });
    }
  } finally {
    naive.destroy();
    await server.stop();
  }
  return rows;
}
