/**
 * Scenario 1 — fanout speed, side by side in one run. The real fanout handler, each path in
 * processes of its own (as Lambda sandboxes), delivers one room message through a local
 * @connections server (its own process) that answers every post after a fixed latency (20 ms):
 *
 *   - sdk:    one hop, posts through the SDK's management API client (FANOUT_NOTIFIER=sdk);
 *   - signed: one hop, posts signed by the fanout itself on undici (the default);
 *   - sliced: the default for rooms over 1,000: the sequencer queues one record per slice, and
 *             several fanout processes polling the queue stand in for parallel invocations.
 *
 * CPU per post is the fanout processes' CPU time divided by the posts (the server's and
 * DynamoDB's are elsewhere). DynamoDB's request units per message come from a metering proxy.
 * Beside them: the naive one-post-at-a-time loop of the public samples (projected).
 */
import { fork } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { shardOf } from '../functions/shared/adapters/dynamodb/table-layout';
import { createChatTable, uniqueTableName } from '../tests/support/chat-table';
import { CREDENTIALS, createFifoQueue, type LocalAws, REGION } from '../tests/support/local-aws';
import { type FanoutProcess, fanoutEnvironment, startFanoutProcess } from './support/fanout-processes';
import { DynamoDbMeter, startProxy } from './support/metering-proxies';
import { startRemoteConnectionsServer } from './support/remote-connections-server';
import { messageFrom, roomItems } from './support/room-seed';
import { batchPut } from './support/seed';
import { median, round } from './support/stats';

export type FanoutPath = 'sdk' | 'signed' | 'sliced';

export interface FanoutRow {
  path: FanoutPath;
  members: number;
  /** Fanout processes that posted (1 for one hop). */
  processes: number;
  /** Records that posted: 1 for one hop, one per slice with members when sliced. */
  slices: number;
  concurrency: number;
  latencyMs: number;
  wallMs: number;
  /** latency × ceil(members / (slices × concurrency)): every post in flight from the start. */
  idealMs: number;
  /** ideal / wall. */
  ratio: number;
  postsPerSecond: number;
  /** CPU time of the fanout processes per post (ms). */
  cpuMsPerPost: number;
  /** All CPU time the run took on this machine (fanouts and the @connections server) / cores (ms). */
  cpuFloorMs: number;
  /** DynamoDB request units the message cost (the fanout's part: sequencer and slices). */
  readUnits: number;
  writeUnits: number;
  runs: number;
}

export interface PostPathRow {
  path: string;
  cpuMsPerPost: number;
  postsPerSecond: number;
}

export interface FanoutResults {
  rows: FanoutRow[];
  /** The ways a post can be made, in one process, the same posts each (support/post-paths-process.ts). */
  postPaths: PostPathRow[];
  postPathPosts: number;
  /** One awaited post after another with the SDK client, as the public samples do. */
  sequentialMsPerPost: number;
  /** Load average (1 min) before and after the scenario. */
  load: [number, number];
}

export interface FanoutOptions {
  oneHopSizes: number[];
  slicedSizes: number[];
  latencyMs: number;
  concurrency: number;
  runs: number;
  /** Fanout processes polling the queue for slice records. */
  processes: number;
  sequentialPosts: number;
  /** Posts per way of posting in the option-by-option comparison. */
  postPathPosts: number;
}

/** Runs support/post-paths-process.ts in a process of its own and returns its rows. */
async function measurePostPaths(
  callbackUrl: string,
  posts: number,
  concurrency: number,
): Promise<PostPathRow[]> {
  const child = fork(path.join(__dirname, 'support', 'post-paths-process.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const reply = await new Promise<{ rows?: PostPathRow[]; error?: string }>((resolve, reject) => {
      child.once('message', (m) => resolve(m as { rows?: PostPathRow[]; error?: string }));
      child.once('exit', (code) => reject(new Error(`post paths exited (${code})`)));
      child.send({ callbackUrl, posts, concurrency });
    });
    if (!reply.rows) throw new Error(`post paths: ${reply.error}`);
    return reply.rows;
  } finally {
    child.kill();
  }
}

const SLICES = 100;

export async function runFanoutBench(aws: LocalAws, options: FanoutOptions): Promise<FanoutResults> {
  const loadBefore = os.loadavg()[0] ?? 0;
  // In its own process, as API Gateway is remote: its CPU is not the fanout's.
  const server = await startRemoteConnectionsServer(options.latencyMs);
  const meter = new DynamoDbMeter();
  const ddbProxy = await startProxy(aws.ddbEndpoint, meter.hooks);
  const tableName = uniqueTableName('bench-fanout');
  await createChatTable(aws.ddb, tableName);
  const queueUrl = await createFifoQueue(aws.sqs, 'bench-fanout');
  const roomOf = (path: FanoutPath, members: number) => `${path === 'sliced' ? 'sliced' : 'hop'}${members}`;
  for (const members of options.oneHopSizes) {
    await batchPut(aws.ddb, tableName, roomItems(roomOf('signed', members), members, { slices: SLICES }));
  }
  for (const members of options.slicedSizes) {
    await batchPut(
      aws.ddb,
      tableName,
      roomItems(roomOf('sliced', members), members, { slices: SLICES, sliced: true }),
    );
  }

  const env = (extra: Record<string, string>) =>
    fanoutEnvironment({
      dynamoDbEndpoint: ddbProxy.endpoint,
      sqsEndpoint: aws.sqsEndpoint,
      tableName,
      queueUrl,
      connectionsUrl: server.callbackUrl,
      extra: { FANOUT_CONCURRENCY: String(options.concurrency), FANOUT_SLICES: String(SLICES), ...extra },
    });

  const oneHop = { FANOUT_SLICE_SIZE: '1000000' };
  const processes: FanoutProcess[] = [];
  const start = async (extra: Record<string, string>) => {
    const p = await startFanoutProcess(env(extra));
    processes.push(p);
    return p;
  };
  const naive = new ApiGatewayManagementApiClient({
    endpoint: server.callbackUrl,
    region: REGION,
    credentials: CREDENTIALS,
  });
  const rows: FanoutRow[] = [];
  try {
    const sdk = await start({ ...oneHop, FANOUT_NOTIFIER: 'sdk' });
    const signed = await start({ ...oneHop, FANOUT_NOTIFIER: 'signed' });
    const sequencer = await start({ FANOUT_NOTIFIER: 'signed' });
    const workers = await Promise.all(
      Array.from({ length: options.processes }, () => start({ FANOUT_NOTIFIER: 'signed' })),
    );
    // Warm sandboxes, as Lambda keeps them between events: the first invocation pays for JIT and sockets.
    const smallest = options.oneHopSizes[0] ?? 100;
    for (const p of [sdk, signed]) await p.invoke([messageFrom(roomOf('signed', smallest), 0, 'warm')]);
    for (const w of workers) await w.poll(queueUrl);

    const cpuOf = async (group: FanoutProcess[]) =>
      (await Promise.all(group.map((p) => p.usage()))).reduce((sum, u) => sum + u.cpuMs, 0);

    const measure = async (path: FanoutPath, members: number, runs: number) => {
      const roomId = roomOf(path, members);
      const posting = path === 'sliced' ? [sequencer, ...workers] : [path === 'sdk' ? sdk : signed];
      const walls: number[] = [];
      const cpus: number[] = [];
      const serverCpus: number[] = [];
      const units: { read: number; write: number }[] = [];
      for (let run = 0; run < runs; run++) {
        await server.reset();
        meter.take();
        const cpuBefore = await cpuOf(posting);
        const serverBefore = (await server.stats()).cpuMs;
        const started = performance.now();
        const { response } = await (posting[0] as FanoutProcess).invoke([
          messageFrom(roomId, run + 1, `run ${run}`),
        ]);
        if (response.batchItemFailures.length > 0)
          throw new Error(`${path}: the fanout failed for ${members}`);
        await server.waitForPosts(members, 120_000);
        walls.push(performance.now() - started);
        cpus.push((await cpuOf(posting)) - cpuBefore);
        serverCpus.push((await server.stats()).cpuMs - serverBefore);
        const posted = await server.posts();
        if (posted !== members)
          throw new Error(`${path}: expected ${members} posts, the server saw ${posted}`);
        const counted = meter.take();
        units.push({ read: counted.readUnits, write: counted.writeUnits });
      }
      const slices =
        path === 'sliced'
          ? new Set(Array.from({ length: members }, (_, i) => shardOf(`${roomId}-c${i}=`, SLICES))).size
          : 1;
      const wallMs = median(walls);
      const idealMs = options.latencyMs * Math.ceil(members / (slices * options.concurrency));
      const row: FanoutRow = {
        path,
        members,
        processes: path === 'sliced' ? workers.length : 1,
        slices,
        concurrency: options.concurrency,
        latencyMs: options.latencyMs,
        wallMs: round(wallMs),
        idealMs,
        ratio: round(idealMs / wallMs, 2),
        postsPerSecond: Math.round((members / wallMs) * 1000),
        cpuMsPerPost: round(median(cpus) / members, 3),
        cpuFloorMs: round((median(cpus) + median(serverCpus)) / os.cpus().length),
        readUnits: round(median(units.map((u) => u.read)), 1),
        writeUnits: round(median(units.map((u) => u.write)), 1),
        runs,
      };
      console.log(`  ${path} ${members}: ${row.wallMs} ms, ${row.cpuMsPerPost} ms CPU per post`);
      rows.push(row);
    };

    // The one-hop paths take turns per size, so both see the machine as it is then.
    for (const members of options.oneHopSizes) {
      for (const path of ['sdk', 'signed'] as const) await measure(path, members, options.runs);
    }
    // The slice path warmed as well (sequencer and every worker): one unmeasured message.
    const warmSliced = options.slicedSizes[0];
    if (warmSliced !== undefined) {
      await server.reset();
      await sequencer.invoke([messageFrom(roomOf('sliced', warmSliced), 0, 'warm')]);
      await server.waitForPosts(warmSliced, 120_000);
    }
    for (const members of options.slicedSizes) {
      await measure('sliced', members, members > 10_000 ? 1 : options.runs);
    }
    const failures = (await Promise.all(workers.map((w) => w.usage()))).reduce((s, u) => s + u.failures, 0);
    if (failures > 0) throw new Error(`${failures} slice records failed`);

    // The naive baseline: the same SDK client, one awaited post after another.
    await server.reset();
    const started = performance.now();
    for (let i = 0; i < options.sequentialPosts; i++) {
      await naive.send(
        new PostToConnectionCommand({ ConnectionId: `naive${i}=`, Data: new TextEncoder().encode('hei') }),
      );
    }
    const sequentialMsPerPost = round((performance.now() - started) / options.sequentialPosts, 2);
    await Promise.all(processes.map((p) => p.stop()));
    const postPaths = await measurePostPaths(server.callbackUrl, options.postPathPosts, options.concurrency);
    for (const p of postPaths) console.log(`  ${p.path}: ${p.cpuMsPerPost} ms CPU per post`);
    return {
      rows,
      postPaths,
      postPathPosts: options.postPathPosts,
      sequentialMsPerPost,
      load: [round(loadBefore, 2), round(os.loadavg()[0] ?? 0, 2)],
    };
  } finally {
    naive.destroy();
    await Promise.all(processes.map((p) => p.stop()));
    await server.stop();
    await ddbProxy.stop();
  }
}
