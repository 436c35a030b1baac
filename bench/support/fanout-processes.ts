/**
 * Fanout processes for the benchmarks (bench/support/fanout-process.ts): each loads the real
 * handler with its own environment (FANOUT_NOTIFIER, FANOUT_CONCURRENCY, FANOUT_SLICE_SIZE …),
 * as a Lambda sandbox would, and reports its own CPU time.
 */
import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import type { SQSBatchResponse } from 'aws-lambda';
import type { RoomEvent } from '../../functions/shared/domain/room-events';
import { CREDENTIALS, deadLetterQueueUrlOf, REGION } from '../../tests/support/local-aws';

/** What a fanout sandbox reads at cold start, pointed at the benchmark's backends. */
export function fanoutEnvironment(options: {
  dynamoDbEndpoint: string;
  sqsEndpoint: string;
  tableName: string;
  queueUrl: string;
  connectionsUrl: string;
  extra?: Record<string, string>;
}): Record<string, string> {
  return {
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AWS_ENDPOINT_URL_DYNAMODB: options.dynamoDbEndpoint,
    AWS_ENDPOINT_URL_SQS: options.sqsEndpoint,
    TABLE_NAME: options.tableName,
    QUEUE_URL: options.queueUrl,
    DEAD_LETTER_QUEUE_URL: deadLetterQueueUrlOf(options.queueUrl),
    CONNECTIONS_URL: options.connectionsUrl,
    ...options.extra,
  };
}

export interface FanoutProcess {
  /** Runs `events` as one batch; resolves with the handler's answer and its wall time. */
  invoke(events: RoomEvent[]): Promise<{ response: SQSBatchResponse; wallMs: number }>;
  /** Starts polling the queue like the event source mapping. */
  poll(queueUrl: string): Promise<void>;
  /** CPU time used so far (ms) and records that failed. */
  usage(): Promise<{ cpuMs: number; failures: number }>;
  stop(): Promise<void>;
}

type Reply = { kind: string } & Record<string, unknown>;

function next(child: ChildProcess, kind: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: Reply) => {
      if (message.kind === 'error') reject(new Error(String(message.error)));
      if (message.kind !== kind) return;
      child.off('message', onMessage);
      resolve(message);
    };
    child.on('message', onMessage);
  });
}

export async function startFanoutProcess(env: Record<string, string>): Promise<FanoutProcess> {
  const child = fork(path.join(__dirname, 'fanout-process.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...env },
    // Its log and metric lines (stdout) are not the benchmark's; errors (stderr) are shown.
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  await Promise.race([
    next(child, 'ready'),
    new Promise((_, reject) =>
      child.once('exit', (code) => reject(new Error(`fanout process exited (${code})`))),
    ),
  ]);
  return {
    async invoke(events) {
      const reply = next(child, 'invoked');
      child.send({ kind: 'invoke', events });
      const { response, wallMs } = await reply;
      return { response: response as SQSBatchResponse, wallMs: wallMs as number };
    },
    async poll(queueUrl) {
      const reply = next(child, 'polling');
      child.send({ kind: 'poll', queueUrl });
      await reply;
    },
    async usage() {
      const reply = next(child, 'usage');
      child.send({ kind: 'usage' });
      const { cpuMs, failures } = await reply;
      return { cpuMs: cpuMs as number, failures: failures as number };
    },
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.send({ kind: 'stop' });
      }),
  };
}
