/**
 * The local API Gateway WebSocket API: one HTTP server for WebSocket upgrades, the
 * @connections management API and the web client's files, behaving as API Gateway does for
 * the routes, authorizer and integrations template.yaml declares. Handshake, routes, frames
 * (handled concurrently unless `frameOrdering: 'serial'`), sizes, timeouts and `$disconnect`,
 * point by point: local/README.md, "Fidelity to API Gateway".
 */
import { createServer, type IncomingMessage, type Server, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { type FaultSwitches, faultFires } from '../faults/faults';
import { invocationLines, type LogSink } from '../invocation-log';
import type { InvokeOutcome } from '../lambda/sandboxes';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from '../template/local-resources';
import type { RouteModel, TemplateModel } from '../template/template-model';
import {
  apiGatewayId,
  authorizerEvent,
  type ConnectionInfo,
  connectEvent,
  disconnectEvent,
  type Handshake,
  handshakeOf,
  messageEvent,
} from './api-gateway-events';
import { evaluateAuthorizerResult } from './authorizer-policy';
import { connectionsPathId, handleConnectionsRequest, type ManagedConnection } from './connections-api';
import { FRAME_LIMIT_BYTES, MESSAGE_LIMIT_BYTES, watchFrameSizes } from './frame-limits';
import { serveStatic } from './static-files';
import { invalidUpgrade } from './upgrade-request';

export interface FunctionInvoker {
  invoke(logicalId: string, event: unknown): Promise<InvokeOutcome>;
}

export interface GatewayOptions {
  model: TemplateModel;
  functions: FunctionInvoker;
  host: string;
  port: number;
  apiId: string;
  idleTimeoutMs: number;
  maxConnectionMs: number;
  faults: FaultSwitches;
  log: LogSink;
  /** Folder served at / (the web client's build). */
  webRoot: string;
  /** Frames of one connection concurrently, as API Gateway (default), or one at a time. */
  frameOrdering?: 'serial' | 'concurrent';
}

interface LiveConnection {
  info: ConnectionInfo;
  ws: WebSocket;
  lastActiveAt: number;
  idleTimer: NodeJS.Timeout;
  maxTimer: NodeJS.Timeout;
  /** With serial frames, this connection's frames run one after another on this chain. */
  chain: Promise<void>;
  /** Set when the gateway closes the connection (idle, max duration, DELETE, limits). */
  closing?: { code: number; reason: string };
  closed: boolean;
}

type Result = { statusCode?: unknown; body?: unknown; headers?: Record<string, unknown> } | null;

const decoder = new TextDecoder('utf-8', { fatal: true });

function utf8OrUndefined(data: Buffer): string | undefined {
  try {
    return decoder.decode(data);
  } catch {
    return undefined;
  }
}

/**
 * Sends one message as API Gateway does: a text frame when the bytes are UTF-8 (binary
 * otherwise), split into frames of at most 32 KB.
 */
function sendMessage(ws: WebSocket, data: Buffer): void {
  if (ws.readyState !== ws.OPEN) return;
  const binary = utf8OrUndefined(data) === undefined;
  for (let at = 0; at < data.length || at === 0; at += FRAME_LIMIT_BYTES) {
    ws.send(data.subarray(at, at + FRAME_LIMIT_BYTES), {
      binary,
      fin: at + FRAME_LIMIT_BYTES >= data.length,
    });
  }
}

/** `$request.body.a.b` → the value at a.b in the JSON body, as a route key (or undefined). */
export function selectRouteKey(expression: string, body: string): string | undefined {
  const match = /^\$request\.body\.(.+)$/.exec(expression);
  if (!match) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  for (const key of (match[1] as string).split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    value = Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
  }
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? String(value)
    : undefined;
}

const ERROR_TYPES: Record<number, string> = {
  400: 'BadRequestException',
  401: 'UnauthorizedException',
  403: 'ForbiddenException',
  404: 'NotFoundException',
};

function refuse(socket: Duplex, status: number, message: string | null): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ message });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      `x-amzn-RequestId: ${apiGatewayId()}\r\n` +
      `x-amzn-ErrorType: ${ERROR_TYPES[status] ?? 'InternalServerErrorException'}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
    () => socket.destroy(),
  );
}

const statusOf = (outcome: InvokeOutcome): number => {
  if (!outcome.ok) return 500;
  const status = Number((outcome.result as Result)?.statusCode ?? 200);
  return Number.isInteger(status) ? status : 500;
};

export class Gateway {
  private readonly server: Server;
  private readonly wss: WebSocketServer;
  private readonly live = new Map<string, LiveConnection>();
  private readonly routes: Map<string, RouteModel>;
  private readonly pending = new Set<Promise<unknown>>();
  /** Sockets of handshakes not (yet) handed to ws: answered, destroyed or accepted, never left open. */
  private readonly handshakes = new Set<Duplex>();
  private stopping = false;
  /** Handshakes wait for this: the stack opens the gateway once everything behind it is ready. */
  private readonly opened: Promise<boolean>;
  private openGate: (open: boolean) => void = () => undefined;
  port = 0;

  private constructor(private readonly options: GatewayOptions) {
    this.routes = new Map(options.model.routes.map((r) => [r.routeKey, r]));
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: MESSAGE_LIMIT_BYTES,
      // ws ≥ 8.19 option (not yet in @types/ws): how long a closing handshake may take.
      ...({ closeTimeout: 2000 } as object),
      perMessageDeflate: false,
      // API Gateway only agrees to a subprotocol when $connect returned it.
      handleProtocols: (_protocols, req) =>
        (req as IncomingMessage & { protocol?: string }).protocol ?? false,
    });
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://local');
      const connectionId = connectionsPathId(url.pathname, options.model.stageName);
      if (connectionId !== undefined) {
        handleConnectionsRequest(req, res, connectionId, (id) => this.managed(id), options.faults).catch(
          () => {
            if (!res.headersSent) res.writeHead(500).end();
          },
        );
        return;
      }
      if (serveStatic(options.webRoot, req, res, url.pathname)) return;
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found\n');
    });
    this.opened = new Promise((resolve) => {
      this.openGate = resolve;
    });
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.handshakes.add(socket);
      socket.on('error', () => undefined);
      socket.once('close', () => this.handshakes.delete(socket));
      this.track(
        this.upgrade(req, socket, head).catch((error: unknown) => {
          // Never leave a handshake unanswered.
          this.options.log(`gateway error in a handshake: ${(error as Error).stack}`);
          refuse(socket, 500, null);
        }),
      );
    });
  }

  static async start(options: GatewayOptions): Promise<Gateway> {
    const gateway = new Gateway(options);
    await new Promise<void>((resolve, reject) => {
      gateway.server.once('error', reject);
      gateway.server.listen(options.port, options.host, () => {
        gateway.server.removeListener('error', reject);
        resolve();
      });
    });
    gateway.port = (gateway.server.address() as AddressInfo).port;
    return gateway;
  }

  /**
   * Lets handshakes through: until then they wait (a client that connects while the stack
   * starts is answered once it is ready, never left hanging), and are refused with 503 if
   * the stack stops first.
   */
  open(): void {
    this.openGate(true);
  }

  /** Ids of the open connections. */
  get connectionIds(): string[] {
    return [...this.live.keys()];
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.pending.add(promise);
    void promise.finally(() => this.pending.delete(promise)).catch(() => undefined);
    return promise;
  }

  private async invoke(label: string, functionId: string, event: unknown, info: ConnectionInfo) {
    const outcome = await this.options.functions.invoke(functionId, event);
    const status = label === 'authorizer' ? '' : statusOf(outcome);
    return {
      outcome,
      log: (detail?: string, shown: string | number = status) => {
        for (const line of invocationLines({
          label,
          functionId,
          connectionId: info.connectionId,
          status: shown,
          outcome,
          ...(detail ? { detail } : {}),
        })) {
          this.options.log(line);
        }
      },
    };
  }

  private methodArn(routeKey: string): string {
    const { apiId } = this.options;
    return `arn:aws:execute-api:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:${apiId}/${this.options.model.stageName}/${routeKey}`;
  }

  private identityPresent(source: string, handshake: Handshake): boolean {
    const query = /^route\.request\.querystring\.(.+)$/.exec(source);
    if (query) return !!handshake.queryStringParameters?.[query[1] as string];
    const header = /^route\.request\.header\.(.+)$/.exec(source);
    if (header) {
      const name = (header[1] as string).toLowerCase();
      return Object.entries(handshake.headers).some(([k, v]) => k.toLowerCase() === name && v !== '');
    }
    return true; // stageVariables / context sources have no local counterpart to miss
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const { model } = this.options;
    const { stageName } = model;
    const url = new URL(req.url ?? '/', 'http://local');
    if (!['/', `/${stageName}`, `/${stageName}/`].includes(url.pathname))
      return refuse(socket, 404, 'Not Found');
    // A malformed handshake is refused before any function runs (no records, no $disconnect owed).
    const invalid = invalidUpgrade(req);
    if (invalid) {
      for (const line of invocationLines({
        label: 'handshake',
        functionId: '-',
        status: invalid.status,
        detail: `${invalid.message}; no function ran`,
      })) {
        this.options.log(line);
      }
      return refuse(socket, invalid.status, invalid.message);
    }
    if (!(await this.opened) || this.stopping) return refuse(socket, 503, 'Service Unavailable');
    const info: ConnectionInfo = {
      connectionId: apiGatewayId(),
      connectedAt: Date.now(),
      sourceIp: (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
      ...(req.headers['user-agent'] ? { userAgent: req.headers['user-agent'] } : {}),
      domainName: req.headers.host ?? `${this.options.host}:${this.port}`,
      stage: stageName,
      apiId: this.options.apiId,
    };
    const handshake = handshakeOf(req.rawHeaders, url.searchParams, info);
    const connectRoute = this.routes.get('$connect');
    const authorizer = model.authorizer;

    if (connectRoute?.authorizationType === 'CUSTOM' && authorizer) {
      const missing = authorizer.identitySources.filter((s) => !this.identityPresent(s, handshake));
      if (missing.length > 0) {
        for (const line of invocationLines({
          label: 'authorizer',
          functionId: '-',
          connectionId: info.connectionId,
          status: 401,
          detail: `identity source missing (${missing.join(', ')}); no function ran`,
        })) {
          this.options.log(line);
        }
        return refuse(socket, 401, 'Unauthorized');
      }
      const methodArn = this.methodArn('$connect');
      const event = authorizerEvent(info, handshake, methodArn, apiGatewayId());
      const { outcome, log } = await this.invoke('authorizer', authorizer.functionId, event, info);
      if (!outcome.ok) {
        const status = outcome.error.errorMessage === 'Unauthorized' ? 401 : 500;
        log(undefined, status);
        return refuse(socket, status, status === 401 ? 'Unauthorized' : null);
      }
      const decision = evaluateAuthorizerResult(outcome.result, methodArn);
      if (decision.effect !== 'Allow') {
        const status = decision.effect === 'Deny' ? 403 : 500;
        log(
          decision.effect === 'Invalid' ? `invalid authorizer response: ${decision.reason}` : 'Deny',
          status,
        );
        return refuse(socket, status, status === 403 ? 'Forbidden' : null);
      }
      info.authorizer = { ...decision.authorizer, integrationLatency: outcome.durationMs };
      log(`Allow (principalId ${String(decision.authorizer.principalId)})`, 200);
    }

    if (connectRoute) {
      const event = connectEvent(info, handshake, apiGatewayId());
      const { outcome, log } = await this.invoke('$connect', connectRoute.functionId, event, info);
      const status = statusOf(outcome);
      log(status >= 200 && status < 300 ? undefined : 'handshake refused');
      if (status < 200 || status >= 300)
        return refuse(socket, status >= 400 && status < 600 ? status : 500, null);
      const headers = (outcome.ok ? (outcome.result as Result)?.headers : undefined) ?? {};
      const protocol = Object.entries(headers).find(
        ([k]) => k.toLowerCase() === 'sec-websocket-protocol',
      )?.[1];
      if (typeof protocol === 'string') (req as IncomingMessage & { protocol?: string }).protocol = protocol;
    }

    // From here $connect has succeeded: whatever happens, this connection gets its $disconnect.
    if (socket.destroyed || !socket.readable || !socket.writable || this.stopping) {
      // The client left (or half-closed, or we are stopping) while $connect ran: a connection that ended.
      socket.destroy();
      await this.disconnect(info, 1006, '');
      return;
    }
    let accepted = false;
    socket.once('close', () => {
      // ws dropped the socket without opening it (it closed before the 101 went out).
      if (!accepted) this.track(this.disconnect(info, 1006, '').catch(() => undefined));
    });
    watchFrameSizes(socket, head, () => {
      const live = this.live.get(info.connectionId);
      if (live) this.closeBy(live, 1009, 'Message too big');
    });
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      accepted = true;
      this.handshakes.delete(socket);
      this.accept(ws, info);
    });
  }

  private accept(ws: WebSocket, info: ConnectionInfo): void {
    const live: LiveConnection = {
      info,
      ws,
      lastActiveAt: info.connectedAt,
      idleTimer: setTimeout(() => this.closeBy(live, 1001, 'Going away'), this.options.idleTimeoutMs),
      maxTimer: setTimeout(() => this.closeBy(live, 1001, 'Going away'), this.options.maxConnectionMs),
      chain: Promise.resolve(),
      closed: false,
    };
    this.live.set(info.connectionId, live);
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onFrame(live, data, isBinary));
    ws.on('ping', () => this.touch(live));
    ws.on('error', () => undefined); // a protocol error closes the socket; 'close' follows
    ws.on('close', (code: number, reason: Buffer) => this.onClose(live, code, reason.toString('utf8')));
  }

  private touch(live: LiveConnection): void {
    live.lastActiveAt = Date.now();
    live.idleTimer.refresh();
  }

  private closeBy(live: LiveConnection, code: number, reason: string): void {
    if (live.closing || live.closed) return;
    live.closing = { code, reason };
    live.ws.close(code, reason);
  }

  private onFrame(live: LiveConnection, data: Buffer, isBinary: boolean): void {
    if (live.closing || live.closed) return;
    this.touch(live);
    if (isBinary) {
      this.closeBy(live, 1003, 'Binary frames are not supported');
      return;
    }
    const job = () =>
      this.route(live, data.toString('utf8')).catch((error: unknown) =>
        this.options.log(
          `gateway error routing a frame of ${live.info.connectionId}: ${(error as Error).stack}`,
        ),
      );
    if (this.options.frameOrdering !== 'serial') {
      this.track(job());
      return;
    }
    live.chain = live.chain.then(job);
    this.track(live.chain);
  }

  private async route(live: LiveConnection, body: string): Promise<void> {
    const { info, ws } = live;
    const selected = selectRouteKey(this.options.model.api.routeSelectionExpression, body);
    const route =
      (selected && !selected.startsWith('$') ? this.routes.get(selected) : undefined) ??
      this.routes.get('$default');
    const ids = { requestId: apiGatewayId(), messageId: apiGatewayId() };
    const reply = (text: string) => sendMessage(ws, Buffer.from(text, 'utf8'));
    if (!route) {
      reply(
        JSON.stringify({ message: 'Forbidden', connectionId: info.connectionId, requestId: ids.requestId }),
      );
      return;
    }
    const event = messageEvent(info, route.routeKey, body, ids);
    const { outcome, log } = await this.invoke(route.routeKey, route.functionId, event, info);
    log();
    if (!outcome.ok) {
      reply(
        JSON.stringify({
          message: 'Internal server error',
          connectionId: info.connectionId,
          requestId: ids.requestId,
        }),
      );
      return;
    }
    const replyBody = (outcome.result as Result)?.body;
    if (route.twoWay && typeof replyBody === 'string' && replyBody.length > 0) reply(replyBody);
  }

  private onClose(live: LiveConnection, code: number, reason: string): void {
    if (live.closed) return;
    live.closed = true;
    clearTimeout(live.idleTimer);
    clearTimeout(live.maxTimer);
    this.live.delete(live.info.connectionId);
    const status = live.closing?.code ?? code;
    const text = live.closing?.reason ?? reason;
    if (faultFires(this.options.faults, this.options.faults.disconnect.lostRate)) {
      this.options.log(
        invocationLines({
          label: '$disconnect',
          functionId: '-',
          connectionId: live.info.connectionId,
          status: 'lost',
          detail: `close ${status}; not delivered (fault switch disconnect.lostRate)`,
        }).join('\n'),
      );
      return;
    }
    const run = () =>
      this.disconnect(live.info, status, text).catch((error: unknown) =>
        this.options.log(
          `gateway error on $disconnect of ${live.info.connectionId}: ${(error as Error).stack}`,
        ),
      );
    live.chain = this.options.frameOrdering === 'serial' ? live.chain.then(run) : run();
    this.track(live.chain);
  }

  private async disconnect(info: ConnectionInfo, statusCode: number, reason: string): Promise<void> {
    const route = this.routes.get('$disconnect');
    if (!route) return;
    const event = disconnectEvent(info, statusCode, reason, apiGatewayId());
    const { log } = await this.invoke('$disconnect', route.functionId, event, info);
    log(`close ${statusCode}${reason ? ` ${reason}` : ''}`);
  }

  private managed(connectionId: string): ManagedConnection | undefined {
    const live = this.live.get(connectionId);
    if (!live || live.closing || live.closed) return undefined;
    return {
      connectedAt: live.info.connectedAt,
      lastActiveAt: live.lastActiveAt,
      sourceIp: live.info.sourceIp,
      ...(live.info.userAgent ? { userAgent: live.info.userAgent } : {}),
      send: (data) => {
        // Traffic either way keeps a connection from idling out.
        live.idleTimer.refresh();
        sendMessage(live.ws, data);
      },
      close: () => this.closeBy(live, 1000, ''),
    };
  }

  /** Closes every connection (1001 Going away) and waits until their $disconnect ran. */
  async closeConnections(): Promise<void> {
    this.stopping = true;
    this.openGate(false);
    const closed = [...this.live.values()].map(
      (live) =>
        new Promise<void>((resolve) =>
          live.ws.readyState === live.ws.CLOSED ? resolve() : live.ws.once('close', () => resolve()),
        ),
    );
    for (const live of this.live.values()) this.closeBy(live, 1001, 'Going away');
    // Handshakes not yet through are refused (one in $connect still gets its $disconnect).
    for (const socket of this.handshakes) refuse(socket, 503, 'Service Unavailable');
    // ws ends a closing handshake the client does not answer after closeTimeout.
    await Promise.all(closed);
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /**
   * Stops the HTTP server at once: every WebSocket and handshake socket still open is dropped
   * (call closeConnections first for a graceful stop; this does not wait for anything).
   */
  async close(): Promise<void> {
    this.stopping = true;
    this.openGate(false);
    for (const socket of this.handshakes) socket.destroy();
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
