/**
 * A real HTTP server speaking the API Gateway Management API (`@connections`) on 127.0.0.1,
 * for testing the fanout with the real SDK client:
 *
 *   POST   [/<stage>]/@connections/<id>   post a frame (body = the raw payload)
 *   GET    [/<stage>]/@connections/<id>   connection info
 *   DELETE [/<stage>]/@connections/<id>   disconnect
 *
 * Each connection id answers as scripted: 200, 410 (GoneException), 429
 * (LimitExceededException), 500, any other status, or 'reset' (socket destroyed, no HTTP
 * status), one answer per request with the last one repeating. Errors carry the
 * `x-amzn-errortype` header and a JSON body, as API Gateway sends them, so SDK v3 raises its
 * modelled exceptions. Records every request, can add latency, and counts requests in
 * flight and TCP connections opened (to check the bound and keep-alive reuse).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ConnectionAnswer = number | 'reset';

export interface ReceivedRequest {
  method: string;
  path: string;
  connectionId: string;
  body: string;
  /** What the server answered (undefined for 'reset'). */
  status: number | undefined;
  authorization: string | undefined;
}

export interface ConnectionsServerOptions {
  /** The stage prefix accepted in paths (the SDK endpoint is `<url>/<stage>`). Default 'dev'. */
  stage?: string;
  /** Answer for connection ids with no script. Default 200. */
  otherwise?: ConnectionAnswer;
  /** Delay before each answer, in ms. */
  latencyMs?: number;
}

export interface ConnectionsServer {
  /** http://127.0.0.1:<port> (no stage). */
  url: string;
  /** http://127.0.0.1:<port>/<stage>: what CONNECTIONS_URL is set to. */
  callbackUrl: string;
  stage: string;
  /** Scripts the answers for `connectionId` (the last answer repeats). */
  script(connectionId: string, ...answers: ConnectionAnswer[]): void;
  /** Delay for every answer, or for one connection's answers. */
  setLatency(ms: number, connectionId?: string): void;
  requests: ReceivedRequest[];
  /** Payloads of POSTs to `connectionId` that were answered 200, in arrival order. */
  delivered(connectionId: string): string[];
  /** How many POSTs reached `connectionId`, whatever the answer. */
  attempts(connectionId: string): number;
  maxInFlight: number;
  /** TCP connections accepted so far. */
  socketsOpened: number;
  /** Forgets scripts, latency and records (the port stays). */
  reset(): void;
  stop(): Promise<void>;
}

const ERROR_TYPES: Record<number, string> = {
  400: 'BadRequestException',
  403: 'ForbiddenException',
  410: 'GoneException',
  413: 'PayloadTooLargeException',
  429: 'LimitExceededException',
};

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function answer(res: ServerResponse, status: number, connectionId: string, method: string): void {
  if (status >= 200 && status < 300) {
    if (method === 'GET') {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ connectedAt: new Date().toISOString(), identity: { sourceIp: '127.0.0.1' } }));
    } else {
      res.writeHead(status, { 'content-length': '0' });
      res.end();
    }
    return;
  }
  const errorType = ERROR_TYPES[status] ?? (status >= 500 ? 'InternalServerError' : 'UnknownError');
  const body = JSON.stringify({ message: `${errorType} for ${connectionId}` });
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    'x-amzn-errortype': errorType,
    'x-amzn-requestid': `req-${Date.now()}`,
  });
  res.end(body);
}

export async function startConnectionsServer(
  options: ConnectionsServerOptions = {},
): Promise<ConnectionsServer> {
  const stage = options.stage ?? 'dev';
  const otherwise = options.otherwise ?? 200;
  const scripts = new Map<string, ConnectionAnswer[]>();
  const latency = new Map<string | undefined, number>([[undefined, options.latencyMs ?? 0]]);
  let inFlight = 0;
  const pathPattern = new RegExp(`^(?:/${stage.replace(/[^A-Za-z0-9_-]/g, '')})?/@connections/([^/?]+)$`);

  const state = {
    requests: [] as ReceivedRequest[],
    maxInFlight: 0,
    socketsOpened: 0,
  };

  const server: Server = createServer(async (req, res) => {
    inFlight += 1;
    state.maxInFlight = Math.max(state.maxInFlight, inFlight);
    try {
      const body = await readBody(req);
      const path = (req.url ?? '').split('?')[0] ?? '';
      const match = pathPattern.exec(path);
      const method = req.method ?? 'GET';
      if (!match?.[1] || !['POST', 'GET', 'DELETE'].includes(method)) {
        res.writeHead(404, { 'content-type': 'application/json', 'x-amzn-errortype': 'NotFoundException' });
        res.end(JSON.stringify({ message: `No route for ${method} ${path}` }));
        return;
      }
      const connectionId = decodeURIComponent(match[1]);
      const delay = latency.get(connectionId) ?? latency.get(undefined) ?? 0;
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      const script = scripts.get(connectionId);
      const next = (script && script.length > 1 ? script.shift() : script?.[0]) ?? otherwise;
      state.requests.push({
        method,
        path,
        connectionId,
        body,
        status: next === 'reset' ? undefined : next,
        authorization: req.headers.authorization,
      });
      if (next === 'reset') {
        req.socket.destroy();
        return;
      }
      answer(res, next, connectionId, method);
    } finally {
      inFlight -= 1;
    }
  });
  server.on('connection', () => {
    state.socketsOpened += 1;
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    callbackUrl: `${url}/${stage}`,
    stage,
    script: (connectionId, ...answers) => {
      scripts.set(connectionId, answers);
    },
    setLatency: (ms, connectionId) => {
      latency.set(connectionId, ms);
    },
    get requests() {
      return state.requests;
    },
    delivered: (connectionId) =>
      state.requests
        .filter((r) => r.method === 'POST' && r.connectionId === connectionId && r.status === 200)
        .map((r) => r.body),
    attempts: (connectionId) =>
      state.requests.filter((r) => r.method === 'POST' && r.connectionId === connectionId).length,
    get maxInFlight() {
      return state.maxInFlight;
    },
    get socketsOpened() {
      return state.socketsOpened;
    },
    reset: () => {
      scripts.clear();
      latency.clear();
      latency.set(undefined, options.latencyMs ?? 0);
      state.requests = [];
      state.maxInFlight = 0;
      state.socketsOpened = 0;
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
