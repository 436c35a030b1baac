/**
 * In-process SQS emulator (npm `local-aws-sqs`, which ships a CommonJS build) for local runs and tests.
 *
 * Uses the package's `createRequestHandler` with our own `http.Server` instead of `createSqsServer`:
 * the latter never rejects when listen() fails (the server's 'error' event has no listener, so an
 * EADDRINUSE would crash the process), and port 0 can be bound directly without a pick-then-bind race.
 */
import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequestHandler } from 'local-aws-sqs';

export interface SqsLocalOptions {
  /** TCP port; 0 or undefined binds a free port on 127.0.0.1. */
  port?: number;
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
  stop(): Promise<void>;
}

/** Requests after which messages may be visible (JSON protocol: the X-Amz-Target header). */
const MAY_ADD_MESSAGES = /SendMessage|ChangeMessageVisibility/;

const HOST = '127.0.0.1';

/** Starts the SQS emulator on 127.0.0.1 and resolves once it is listening. */
export async function startSqsLocal(opts: SqsLocalOptions = {}): Promise<SqsLocalHandle> {
  const requested = opts.port ?? 0;
  const { service, requestHandler } = createRequestHandler({
    port: requested,
    hostname: HOST,
    emulateQueueCreationLifecycle: false,
  });
  const sent = new EventEmitter();
  sent.setMaxListeners(0);
  const server: Server = createServer((req, res) => {
    const target = req.headers['x-amz-target'];
    // Without a target (the query protocol) any request may be a send.
    const maySend = typeof target !== 'string' || MAY_ADD_MESSAGES.test(target);
    requestHandler(req, res)
      .catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`SQS emulator error: ${err instanceof Error ? err.message : String(err)}`);
      })
      // A new message turns visible on a zero-delay timer of the emulator's; this one runs after it.
      .finally(() => {
        if (maySend) setTimeout(() => sent.emit('sent'), 0);
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
  const onMessagesSent = (listener: () => void) => {
    sent.on('sent', listener);
    return () => {
      sent.off('sent', listener);
    };
  };

  return { endpoint: `http://${HOST}:${port}`, port, visibleMessages, onMessagesSent, stop };
}
