/**
 * Counting proxies the benchmarks put in front of DynamoDB Local, and an SQS emulator that
 * counts (the functions reach them through their endpoint variables, so nothing in the stack
 * changes):
 * every request is counted by operation, DynamoDB's read and write request units by asking
 * for them (ReturnConsumedCapacity: TOTAL, added to every request that takes it), SQS's billed
 * requests by 64 KB chunk of what is sent.
 */
import { Agent, createServer, type IncomingHttpHeaders, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequestHandler } from 'local-aws-sqs';

export interface Proxy {
  endpoint: string;
  stop(): Promise<void>;
}

interface Exchange {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

interface Hooks {
  /** May replace the request's body. */
  request?: (exchange: Exchange) => Buffer | undefined;
  response?: (exchange: Exchange, status: number, body: Buffer) => void;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A plain HTTP proxy to `target` (bodies buffered: local requests are small). */
export async function startProxy(target: string, hooks: Hooks): Promise<Proxy> {
  const to = new URL(target);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const server = createServer(async (req, res) => {
    try {
      const original = await readAll(req);
      const exchange = { headers: req.headers, body: original };
      const body = hooks.request?.(exchange) ?? original;
      const headers = { ...req.headers, host: to.host, 'content-length': String(body.length) };
      const upstream = request(
        { host: to.hostname, port: to.port, method: req.method, path: req.url, headers, agent },
        async (answer) => {
          const answerBody = await readAll(answer);
          hooks.response?.({ headers: req.headers, body }, answer.statusCode ?? 0, answerBody);
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          res.end(answerBody);
        },
      );
      upstream.on('error', (error) => {
        res.writeHead(502);
        res.end(String(error));
      });
      upstream.end(body);
    } catch (error) {
      res.writeHead(500);
      res.end(String(error));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}

const operationOf = (headers: IncomingHttpHeaders) =>
  String(headers['x-amz-target'] ?? '')
    .split('.')
    .pop() ?? '';

/** DynamoDB operations that answer with ConsumedCapacity when asked. */
const CAPACITY_OPERATIONS = new Set([
  'GetItem',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'Query',
  'Scan',
  'BatchGetItem',
  'BatchWriteItem',
  'TransactGetItems',
  'TransactWriteItems',
]);
const READS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems']);

export interface DynamoDbCounts {
  requests: Record<string, number>;
  readUnits: number;
  writeUnits: number;
}

interface Consumed {
  CapacityUnits?: number;
  ReadCapacityUnits?: number;
  WriteCapacityUnits?: number;
}

export class DynamoDbMeter {
  private counts: DynamoDbCounts = { requests: {}, readUnits: 0, writeUnits: 0 };

  /** What was counted since the last take (and starts again). */
  take(): DynamoDbCounts {
    const counts = this.counts;
    this.counts = { requests: {}, readUnits: 0, writeUnits: 0 };
    return counts;
  }

  readonly hooks: Hooks = {
    request: ({ headers, body }) => {
      const operation = operationOf(headers);
      this.counts.requests[operation] = (this.counts.requests[operation] ?? 0) + 1;
      if (!CAPACITY_OPERATIONS.has(operation)) return undefined;
      const input = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      return Buffer.from(JSON.stringify({ ...input, ReturnConsumedCapacity: 'TOTAL' }));
    },
    response: ({ headers }, status, body) => {
      if (status !== 200) return;
      const operation = operationOf(headers);
      if (!CAPACITY_OPERATIONS.has(operation)) return;
      const output = JSON.parse(body.toString('utf8')) as { ConsumedCapacity?: Consumed | Consumed[] };
      const consumed = output.ConsumedCapacity;
      for (const c of Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) {
        if (c.ReadCapacityUnits !== undefined || c.WriteCapacityUnits !== undefined) {
          this.counts.readUnits += c.ReadCapacityUnits ?? 0;
          this.counts.writeUnits += c.WriteCapacityUnits ?? 0;
        } else if (READS.has(operation)) {
          this.counts.readUnits += c.CapacityUnits ?? 0;
        } else {
          this.counts.writeUnits += c.CapacityUnits ?? 0;
        }
      }
    },
  };
}

export interface SqsCounts {
  requests: Record<string, number>;
  /** Requests as SQS bills them: each 64 KB chunk of a request's payload is one. */
  billed: Record<string, number>;
}

const CHUNK = 64 * 1024;

export class SqsMeter {
  private counts: SqsCounts = { requests: {}, billed: {} };

  take(): SqsCounts {
    const counts = this.counts;
    this.counts = { requests: {}, billed: {} };
    return counts;
  }

  readonly hooks: Hooks = {
    request: ({ headers, body }) => {
      const action = operationOf(headers);
      this.counts.requests[action] = (this.counts.requests[action] ?? 0) + 1;
      let bytes = 0;
      if (action === 'SendMessage' || action === 'SendMessageBatch') {
        const input = JSON.parse(body.toString('utf8')) as {
          MessageBody?: string;
          Entries?: { MessageBody?: string }[];
        };
        const bodies = input.Entries?.map((e) => e.MessageBody ?? '') ?? [input.MessageBody ?? ''];
        bytes = bodies.reduce((sum, text) => sum + Buffer.byteLength(text), 0);
      }
      this.counts.billed[action] = (this.counts.billed[action] ?? 0) + Math.max(1, Math.ceil(bytes / CHUNK));
      return undefined;
    },
  };
}

/**
 * An SQS emulator (local-aws-sqs, as local/services/sqs-local.ts runs it) that counts every
 * request it answers. A proxy would not do for SQS: SDK v3 sends each request to its QueueUrl's
 * host, and the emulator builds queue URLs from its own port.
 */
export async function startMeteredSqs(meter: SqsMeter): Promise<Proxy> {
  const { service, requestHandler } = createRequestHandler({
    port: 0,
    hostname: '127.0.0.1',
    emulateQueueCreationLifecycle: false,
  });
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => meter.hooks.request?.({ headers: req.headers, body: Buffer.concat(chunks) }));
    requestHandler(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  service.PORT = port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
