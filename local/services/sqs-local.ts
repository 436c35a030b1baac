/**
 * In-process SQS emulator (npm `local-aws-sqs`, which ships a CommonJS build) for local runs and tests,
 * made as strict as SQS where the emulator is kinder (see sqs-strict.ts): message contents SQS
 * refuses answer InvalidMessageContents, FIFO deduplication ids are remembered for 5 minutes,
 * and ChangeMessageVisibility leaves the receive count alone.
 *
 * Uses the package's `createRequestHandler` with our own `http.Server` instead of `createSqsServer`:
 * the latter never rejects when listen() fails (the server's 'error' event has no listener, so an
 * EADDRINUSE would crash the process), and port 0 can be bound directly without a pick-then-bind race.
 * Each request is read whole, checked, and handed to the emulator with an in-memory response, so
 * a SendMessageBatch can be split: refused entries are answered here, the rest by the emulator.
 */
import { createHash, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { createRequestHandler } from 'local-aws-sqs';
import { readBody } from '../faults/proxy-server';
import {
  type Accepted,
  DeduplicationWindow,
  type FifoQueueSettings,
  invalidContents,
  keepReceiveCountOnVisibilityChange,
  type SendEntry,
  SQS_JSON_CONTENT_TYPE,
  type SqsReply,
  sqsJsonError,
} from './sqs-strict';

export interface SqsLocalOptions {
  /** TCP port; 0 or undefined binds a free port on 127.0.0.1. */
  port?: number;
}

/** A ChangeMessageVisibility(Batch) entry SQS accepted. */
export interface VisibilityChange {
  queueUrl: string;
  receiptHandle: string;
  visibilityTimeoutSeconds: number;
  /** When the change was made (the new timeout counts from here). */
  at: number;
}

export interface SqsLocalHandle {
  endpoint: string;
  port: number;
  /**
   * In-process queue hints for the local event source, which stand in for SQS long polling
   * (the emulator's ReceiveMessage waits for a full batch or ~40 ms, checking every 10 ms).
   * Messages visible in the queue right now (not in flight, not delayed); undefined for an unknown queue.
   */
  visibleMessages(queueUrl: string): number | undefined;
  /** Calls `listener` after each request that may have made messages visible (a send); returns an unsubscribe. */
  onMessagesSent(listener: () => void): () => void;
  /** Calls `listener` for every visibility change SQS accepted; returns an unsubscribe. */
  onVisibilityChanged(listener: (change: VisibilityChange) => void): () => void;
  stop(): Promise<void>;
}

/** Requests after which messages may be visible (JSON protocol: the X-Amz-Target header). */
const MAY_ADD_MESSAGES = /SendMessage|ChangeMessageVisibility/;

const HOST = '127.0.0.1';

type Body = Record<string, unknown>;
type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** Runs one request through the emulator's handler with an in-memory request and response. */
async function emulate(
  handler: Handler,
  headers: IncomingMessage['headers'],
  body: string,
): Promise<SqsReply> {
  const request = Object.assign(Readable.from(body === '' ? [] : [Buffer.from(body, 'utf8')]), {
    headers,
    method: 'POST',
    url: '/',
  });
  const reply: SqsReply = { status: 200, headers: {}, body: '' };
  let ended = false;
  const response = {
    get statusCode() {
      return reply.status;
    },
    set statusCode(status: number) {
      reply.status = status;
    },
    setHeader(name: string, value: unknown) {
      reply.headers[name.toLowerCase()] = String(value);
    },
    end(text?: string) {
      ended = true;
      reply.body = text ?? '';
    },
  };
  await handler(request as unknown as IncomingMessage, response as unknown as ServerResponse);
  if (!ended) return sqsJsonError(500, 'InternalError', 'The SQS emulator did not answer.');
  return reply;
}

const jsonReply = (body: unknown): SqsReply => ({
  status: 200,
  headers: { 'content-type': SQS_JSON_CONTENT_TYPE, 'x-amzn-requestid': randomUUID() },
  body: JSON.stringify(body),
});

const md5 = (text: string) => createHash('md5').update(text, 'utf8').digest('hex');
const isObject = (value: unknown): value is Body =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Starts the SQS emulator on 127.0.0.1 and resolves once it is listening. */
export async function startSqsLocal(opts: SqsLocalOptions = {}): Promise<SqsLocalHandle> {
  keepReceiveCountOnVisibilityChange();
  const requested = opts.port ?? 0;
  const { service, requestHandler } = createRequestHandler({
    port: requested,
    hostname: HOST,
    emulateQueueCreationLifecycle: false,
  });
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const deduplication = new DeduplicationWindow();

  const queueOf = (queueUrl: unknown) => {
    if (typeof queueUrl !== 'string') return undefined;
    const name = queueUrl.slice(queueUrl.lastIndexOf('/') + 1);
    const queue = service.Queues.find((q) => q.QueueName === name);
    return queue && { name, settings: queue as unknown as FifoQueueSettings };
  };

  /** SendMessage: refused contents → InvalidMessageContents; a remembered deduplication id → SQS's first answer. */
  const sendMessage = async (headers: IncomingMessage['headers'], raw: string, body: Body) => {
    const queue = queueOf(body.QueueUrl);
    if (!queue) return emulate(requestHandler, headers, raw);
    const invalid = invalidContents(body as SendEntry);
    if (invalid) return sqsJsonError(400, 'InvalidMessageContents', invalid);
    const key = deduplication.key(queue.name, queue.settings, body as SendEntry);
    const earlier = key === undefined ? undefined : deduplication.recall(key);
    if (earlier) return jsonReply({ ...earlier, MD5OfMessageBody: md5(String(body.MessageBody)) });
    const reply = await emulate(requestHandler, headers, raw);
    if (key !== undefined && reply.status === 200)
      deduplication.remember(key, JSON.parse(reply.body) as Accepted);
    return reply;
  };

  /** SendMessageBatch: the same, per entry (refused ones become BatchResultErrorEntry). */
  const sendMessageBatch = async (headers: IncomingMessage['headers'], raw: string, body: Body) => {
    const queue = queueOf(body.QueueUrl);
    const entries = body.Entries;
    const ids = Array.isArray(entries) ? entries.map((e) => (isObject(e) ? e.Id : undefined)) : [];
    // Request-level problems (no queue, no or too many entries, repeated ids) are the emulator's to answer.
    if (
      !queue ||
      !Array.isArray(entries) ||
      entries.length === 0 ||
      entries.length > 10 ||
      !entries.every(isObject) ||
      new Set(ids).size !== ids.length
    ) {
      return emulate(requestHandler, headers, raw);
    }
    const failed: Body[] = [];
    const successful: Body[] = [];
    const forward: SendEntry[] = [];
    const keys = new Map<unknown, string>();
    for (const entry of entries as SendEntry[]) {
      const invalid = invalidContents(entry);
      if (invalid) {
        failed.push({ Id: entry.Id, SenderFault: true, Code: 'InvalidMessageContents', Message: invalid });
        continue;
      }
      const key = deduplication.key(queue.name, queue.settings, entry);
      const earlier = key === undefined ? undefined : deduplication.recall(key);
      if (earlier) {
        successful.push({ Id: entry.Id, ...earlier, MD5OfMessageBody: md5(String(entry.MessageBody)) });
        continue;
      }
      if (key !== undefined) keys.set(entry.Id, key);
      forward.push(entry);
    }
    if (forward.length > 0) {
      const reply = await emulate(requestHandler, headers, JSON.stringify({ ...body, Entries: forward }));
      if (reply.status !== 200) return reply;
      const result = JSON.parse(reply.body || '{}') as { Successful?: Body[]; Failed?: Body[] };
      for (const accepted of result.Successful ?? []) {
        const key = keys.get(accepted.Id);
        if (key !== undefined) deduplication.remember(key, accepted as unknown as Accepted);
        successful.push(accepted);
      }
      failed.push(...(result.Failed ?? []));
    }
    // In the order of the request's entries, as SQS lists them.
    const order = (entry: Body) => ids.indexOf(entry.Id);
    return jsonReply({
      Successful: successful.sort((a, b) => order(a) - order(b)),
      Failed: failed.sort((a, b) => order(a) - order(b)),
    });
  };

  /** ChangeMessageVisibility(Batch): forwarded; each accepted change is told to the listeners. */
  const changeVisibility = async (
    headers: IncomingMessage['headers'],
    raw: string,
    body: Body,
    batch: boolean,
  ) => {
    const at = Date.now();
    const reply = await emulate(requestHandler, headers, raw);
    if (reply.status !== 200 || typeof body.QueueUrl !== 'string') return reply;
    const queueUrl = body.QueueUrl;
    const accepted = batch
      ? ((JSON.parse(reply.body || '{}') as { Successful?: Body[] }).Successful ?? []).map((s) =>
          ((body.Entries ?? []) as Body[]).find((e) => e.Id === s.Id),
        )
      : [body];
    for (const entry of accepted) {
      if (!entry || typeof entry.ReceiptHandle !== 'string') continue;
      events.emit('visibility', {
        queueUrl,
        receiptHandle: entry.ReceiptHandle,
        visibilityTimeoutSeconds: Number(entry.VisibilityTimeout),
        at,
      } satisfies VisibilityChange);
    }
    return reply;
  };

  const answer = async (req: IncomingMessage): Promise<SqsReply> => {
    const raw = (await readBody(req)).toString('utf8');
    const target = req.headers['x-amz-target'];
    if (req.headers['content-type'] !== SQS_JSON_CONTENT_TYPE || typeof target !== 'string') {
      return emulate(requestHandler, req.headers, raw);
    }
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      body = undefined;
    }
    if (!isObject(body)) return emulate(requestHandler, req.headers, raw);
    switch (target.slice(target.indexOf('.') + 1)) {
      case 'SendMessage':
        return sendMessage(req.headers, raw, body);
      case 'SendMessageBatch':
        return sendMessageBatch(req.headers, raw, body);
      case 'ChangeMessageVisibility':
        return changeVisibility(req.headers, raw, body, false);
      case 'ChangeMessageVisibilityBatch':
        return changeVisibility(req.headers, raw, body, true);
      default:
        return emulate(requestHandler, req.headers, raw);
    }
  };

  const server: Server = createServer((req, res) => {
    const target = req.headers['x-amz-target'];
    // Without a target (the query protocol) any request may be a send.
    const maySend = typeof target !== 'string' || MAY_ADD_MESSAGES.test(target);
    answer(req)
      .then((reply) => {
        res.writeHead(reply.status, { ...reply.headers, 'content-length': Buffer.byteLength(reply.body) });
        res.end(reply.body);
      })
      .catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`SQS emulator error: ${err instanceof Error ? err.message : String(err)}`);
      })
      // A new message turns visible on a zero-delay timer of the emulator's; this one runs after it.
      .finally(() => {
        if (maySend) setTimeout(() => events.emit('sent'), 0);
      });
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) =>
      reject(new Error(`SQS emulator could not listen on ${HOST}:${requested}: ${err.message}`));
    server.once('error', onError);
    server.listen(requested, HOST, () => {
      server.removeListener('error', onError);
      resolve();
    });
  });

  const { port } = server.address() as AddressInfo;
  // QueueUrl values are built from service.PORT, so it must be the real port when 0 was requested.
  service.PORT = port;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= new Promise<void>((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()));
      // SDK clients keep sockets alive; drop them so close() resolves promptly.
      server.closeAllConnections();
    });
    return stopping;
  };

  const visibleMessages = (queueUrl: string): number | undefined => {
    const name = queueUrl.slice(queueUrl.lastIndexOf('/') + 1);
    const queue = service.Queues.find((q) => q.QueueName === name);
    if (!queue) return undefined;
    // The emulator's ApproximateNumberOfMessages also counts messages in flight (real SQS does not).
    const attributes = queue.getAttributes([
      'ApproximateNumberOfMessages',
      'ApproximateNumberOfMessagesNotVisible',
    ]) as Record<string, string>;
    const all = Number(attributes.ApproximateNumberOfMessages ?? 0);
    return Math.max(0, all - Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0));
  };
  const subscribe =
    <T extends unknown[]>(event: string) =>
    (listener: (...args: T) => void) => {
      events.on(event, listener as (...args: unknown[]) => void);
      return () => {
        events.off(event, listener as (...args: unknown[]) => void);
      };
    };

  return {
    endpoint: `http://${HOST}:${port}`,
    port,
    visibleMessages,
    onMessagesSent: subscribe<[]>('sent'),
    onVisibilityChanged: subscribe<[VisibilityChange]>('visibility'),
    stop,
  };
}
