/**
 * In-process SQS emulator (npm `local-aws-sqs`, which ships a CommonJS build) for local runs and tests.
 *
 * Uses the package's `createRequestHandler` with our own `http.Server` instead of `createSqsServer`:
 * the latter never rejects when listen() fails (the server's 'error' event has no listener, so an
 * EADDRINUSE would crash the process), and port 0 can be bound directly without a pick-then-bind race.
 */
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
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';

/** Starts the SQS emulator on 127.0.0.1 and resolves once it is listening. */
export async function startSqsLocal(opts: SqsLocalOptions = {}): Promise<SqsLocalHandle> {
  const requested = opts.port ?? 0;
  const { service, requestHandler } = createRequestHandler({
    port: requested,
    hostname: HOST,
    emulateQueueCreationLifecycle: false,
  });
  const server: Server = createServer((req, res) => {
    requestHandler(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`SQS emulator error: ${err instanceof Error ? err.message : String(err)}`);
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

  return { endpoint: `http://${HOST}:${port}`, port, stop };
}
