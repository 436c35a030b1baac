/**
 * Starts Amazon DynamoDB Local (the Java jar) as a child process for local runs and integration tests.
 *
 * The jar lives in `.cache/dynamodb-local/` and is fetched by `scripts/fetch-dynamodb-local.sh` on demand.
 */

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { sleep } from '../../functions/shared/runtime/sleep';
import { REPO_ROOT } from '../repo-root';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../template/local-resources';
import { freePort, portIsFree } from './free-port';

export interface DynamoDbLocalOptions {
  /** TCP port; 0 or undefined picks a free port on 127.0.0.1. */
  port?: number;
  /** Persist tables in this directory (`-dbPath <dir> -sharedDb`); default is in-memory. */
  persistDir?: string;
  /** Receives every line DynamoDB Local prints on stdout/stderr. */
  log?: (line: string) => void;
  /**
   * Spend about this long (ms) after start on cheap requests against a scratch table, so the
   * JVM has compiled the hot paths before real traffic: a cold DynamoDB Local answers a GetItem
   * in ~13 ms, a warm one in ~1.5 ms. Default 0 (no warm-up).
   */
  warmUpMs?: number;
}

export interface DynamoDbLocalHandle {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

const JAR_DIR = path.join(REPO_ROOT, '.cache', 'dynamodb-local');
const JAR = path.join(JAR_DIR, 'DynamoDBLocal.jar');
const FETCH_SCRIPT = path.join(REPO_ROOT, 'scripts', 'fetch-dynamodb-local.sh');

const READY_TIMEOUT_MS = 30_000;
const KILL_GRACE_MS = 3_000;
const OUTPUT_TAIL_LINES = 40;

let javaChecked: boolean | undefined;

/** True when a `java` executable is on PATH and runs (`java -version` exits 0). */
export function javaAvailable(): boolean {
  if (javaChecked === undefined) {
    const res = spawnSync('java', ['-version'], { stdio: 'ignore', timeout: 15_000 });
    javaChecked = res.error === undefined && res.status === 0;
  }
  return javaChecked;
}

function ensureJar(log: (line: string) => void): void {
  if (existsSync(JAR)) return;
  log(`DynamoDB Local jar missing (${JAR}); running ${path.relative(REPO_ROOT, FETCH_SCRIPT)}`);
  const res = spawnSync('bash', [FETCH_SCRIPT], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 300_000,
  });
  const output = `${res.stdout ?? ''}${res.stderr ?? ''}`.trim();
  if (res.error !== undefined || res.status !== 0 || !existsSync(JAR)) {
    const why = res.error !== undefined ? res.error.message : `exit status ${res.status ?? res.signal}`;
    throw new Error(
      `Could not fetch DynamoDB Local with ${FETCH_SCRIPT} (${why}). ` +
        `Run "bash scripts/fetch-dynamodb-local.sh" manually (needs npm registry access).` +
        (output ? `\n--- output ---\n${output}` : ''),
    );
  }
  for (const line of output.split('\n')) if (line) log(line);
}

/** A client for the starter's own checks: one attempt each, short timeouts. */
function checkClient(endpoint: string, requestTimeoutMs: number): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: requestTimeoutMs },
  });
}

async function answersListTables(endpoint: string): Promise<boolean> {
  const client = checkClient(endpoint, 2_000);
  try {
    await client.send(new ListTablesCommand({ Limit: 1 }));
    return true;
  } catch {
    return false;
  } finally {
    client.destroy();
  }
}

/** Reads and writes shaped like the handlers' (get, conditional update, put, query) until `ms` have passed. */
async function warmUp(endpoint: string, ms: number): Promise<void> {
  const client = checkClient(endpoint, 5_000);
  const TableName = `warm-up-${process.pid}-${Date.now()}`;
  try {
    await client.send(
      new CreateTableCommand({
        TableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
      }),
    );
    const deadline = Date.now() + ms;
    const worker = async (w: number) => {
      for (let i = 0; Date.now() < deadline; i++) {
        const Key = { pk: { S: `room${w}` }, sk: { S: `member#${i % 20}` } };
        await client.send(new PutItemCommand({ TableName, Item: { ...Key, n: { N: String(i) } } }));
        await client.send(new GetItemCommand({ TableName, Key, ConsistentRead: true }));
        await client.send(
          new UpdateItemCommand({
            TableName,
            Key,
            UpdateExpression: 'SET n = n + :one',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeValues: { ':one': { N: '1' } },
          }),
        );
        await client.send(
          new QueryCommand({
            TableName,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :member)',
            ExpressionAttributeValues: { ':pk': Key.pk, ':member': { S: 'member#' } },
          }),
        );
      }
    };
    await Promise.all([0, 1, 2, 3].map(worker));
    await client.send(new DeleteTableCommand({ TableName }));
  } catch {
    // Only a warm-up: DynamoDB Local answered ListTables, so real requests will show real errors.
  } finally {
    client.destroy();
  }
}

/** Starts DynamoDB Local and resolves once it answers ListTables. */
export async function startDynamoDbLocal(opts: DynamoDbLocalOptions = {}): Promise<DynamoDbLocalHandle> {
  const log = opts.log ?? (() => {});
  if (!javaAvailable()) {
    throw new Error('DynamoDB Local needs Java (17+): no working "java" on PATH.');
  }
  ensureJar(log);

  const port = opts.port ? opts.port : await freePort();
  // Another server already on an explicit port would answer the readiness probe while our java child
  // fails to bind, so refuse up front.
  if (opts.port && !(await portIsFree(port))) {
    throw new Error(`Cannot start DynamoDB Local: port ${port} is already in use.`);
  }
  const storage: string[] = ['-inMemory', '-sharedDb'];
  if (opts.persistDir) {
    const dir = path.resolve(opts.persistDir);
    mkdirSync(dir, { recursive: true });
    storage.splice(0, storage.length, '-dbPath', dir, '-sharedDb');
  }
  // -sharedDb: one database for every access key / region, so handlers that pick up other credentials
  // from the environment still see the same tables. -disableTelemetry: no outbound calls.
  const args = [
    `-Djava.library.path=${path.join(JAR_DIR, 'DynamoDBLocal_lib')}`,
    '-jar',
    JAR,
    ...storage,
    '-port',
    String(port),
    '-disableTelemetry',
  ];

  const child: ChildProcess = spawn('java', args, { cwd: JAR_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  const onOutput = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split(/\r?\n/)) {
      if (!line) continue;
      tail.push(line);
      if (tail.length > OUTPUT_TAIL_LINES) tail.shift();
      log(line);
    }
  };
  child.stdout?.on('data', onOutput);
  child.stderr?.on('data', onOutput);

  let exitInfo: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = signal ? `signal ${signal}` : `exit code ${code}`;
      resolve();
    });
    child.once('error', (err) => {
      exitInfo = `spawn error: ${err.message}`;
      resolve();
    });
  });

  const killOnParentExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.on('exit', killOnParentExit);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (exitInfo === undefined) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => {
          if (exitInfo === undefined) child.kill('SIGKILL');
        }, KILL_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }
      process.removeListener('exit', killOnParentExit);
    })();
    return stopping;
  };

  const endpoint = `http://127.0.0.1:${port}`;
  const describe = () =>
    `DynamoDB Local (java ${args.join(' ')})` +
    (tail.length ? `\n--- last output ---\n${tail.join('\n')}` : '\n(no output)');

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (exitInfo !== undefined) {
      await stop();
      throw new Error(`DynamoDB Local exited before becoming ready (${exitInfo}). ${describe()}`);
    }
    if (await answersListTables(endpoint)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `DynamoDB Local did not answer on ${endpoint} within ${READY_TIMEOUT_MS / 1000}s. ${describe()}`,
      );
    }
    await sleep(150);
  }
  if (opts.warmUpMs) await warmUp(endpoint, opts.warmUpMs);

  return { endpoint, port, stop };
}
