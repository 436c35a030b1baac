/**
 * What the fault proxies (dynamodb-fault-proxy.ts, sqs-fault-proxy.ts) and the SQS server share:
 * an HTTP server on a free port of `host` whose stop drops every socket (hung requests
 * included) and the keep-alive agent towards the upstream, and reading a request body whole.
 */
import http, { type IncomingMessage, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxyServer {
  endpoint: string;
  stop(): Promise<void>;
}

/** Keep-alive connections from a proxy to its upstream. */
export const upstreamAgent = () => new http.Agent({ keepAlive: true, maxSockets: 64 });

export async function startProxyServer(
  handler: RequestListener,
  agent: http.Agent,
  host = '127.0.0.1',
): Promise<ProxyServer> {
  const server = http.createServer(handler);
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${port}`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}

/** The whole body of a request. */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
