/**
 * ConnectionNotifier that posts to `@connections` itself: SigV4 with node:crypto (the derived
 * key and the payload's hash kept, sigv4-signer.ts) over undici's keep-alive connection pool,
 * one socket per post in flight. It spends about a tenth of the CPU per post of the SDK's
 * command stack (middleware, serializers, the signer's request cloning; BENCHMARKS.md), and
 * one fanout invocation has one vCPU, so that CPU bounds how fast a large room is reached.
 *
 * It answers exactly as ApiGatewayNotifier does (tests/integration/api-gateway-notifier.test.ts
 * runs one suite against both): 410 → 'gone' after one attempt; 429, 5xx, resets and timeouts
 * retried with the same policy; any other status thrown at once.
 *
 * Only undici's Pool is imported (lib/dispatcher/pool.js): the package's index also loads
 * fetch, WebSocket, caches and proxies, nearly twice the bundle and its load time.
 */
import Pool from 'undici/lib/dispatcher/pool.js';
import type { ConnectionNotifier, DeliveryResult } from '../ports.js';
import { DEFAULT_RETRY, type RetryPolicy } from '../runtime/retry.js';
import { ConnectionsApiError, postWithRetry } from './connections-errors.js';
import { type CredentialsProvider, escapeUri, SigV4Signer } from './sigv4-signer.js';

export interface SignedNotifierOptions {
  /** CONNECTIONS_URL: https://{api}.execute-api.{region}.amazonaws.com/{stage}. */
  endpoint: string;
  region: string;
  credentials: CredentialsProvider;
  /** Keep-alive sockets: at least the posts in flight (FANOUT_CONCURRENCY). */
  connections: number;
  connectTimeoutMs?: number;
  /** A post with no answer in this time fails (and is retried). */
  requestTimeoutMs?: number;
  retry?: RetryPolicy;
}

/** Error bodies are short JSON; more than this is not kept. */
const MAX_ERROR_BODY = 1024;

export class SignedConnectionsNotifier implements ConnectionNotifier {
  private readonly pool: InstanceType<typeof Pool>;
  private readonly signer: SigV4Signer;
  private readonly origin: string;
  private readonly host: string;
  private readonly basePath: string;
  private readonly requestTimeoutMs: number;
  private readonly retry: RetryPolicy;
  /** The last payload's bytes: one event goes to every recipient, encoded once. */
  private last?: { payload: string; body: Buffer };

  constructor(options: SignedNotifierOptions) {
    const url = new URL(options.endpoint);
    this.origin = url.origin;
    this.host = url.host;
    this.basePath = url.pathname.replace(/\/$/, '');
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5000;
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.signer = new SigV4Signer({
      host: this.host,
      region: options.region,
      service: 'execute-api',
      credentials: options.credentials,
    });
    this.pool = new Pool(this.origin, {
      connections: options.connections,
      pipelining: 1,
      connectTimeout: options.connectTimeoutMs ?? 2000,
      headersTimeout: this.requestTimeoutMs,
      bodyTimeout: this.requestTimeoutMs,
    });
  }

  async send(
    connectionId: string,
    payload: string,
    options: { deadline?: number } = {},
  ): Promise<DeliveryResult> {
    const body = this.bodyOf(payload);
    // The SDK's own label encoding (extendedEncodeURIComponent).
    const path = `${this.basePath}/@connections/${escapeUri(connectionId)}`;
    return postWithRetry(() => this.post(path, body), this.retry, options.deadline);
  }

  /** Closes the pool's sockets (tests and the bench; a Lambda sandbox keeps them). */
  async close(): Promise<void> {
    await this.pool.destroy();
  }

  private bodyOf(payload: string): Buffer {
    if (this.last?.payload !== payload) this.last = { payload, body: Buffer.from(payload, 'utf8') };
    return this.last.body;
  }

  private async post(path: string, body: Buffer): Promise<void> {
    const signed = await this.signer.sign('POST', path, body);
    const headers = [
      'host',
      this.host,
      'x-amz-date',
      signed['x-amz-date'],
      'authorization',
      signed.authorization,
      'content-type',
      'application/octet-stream',
    ];
    if (signed['x-amz-security-token']) headers.push('x-amz-security-token', signed['x-amz-security-token']);
    await new Promise<void>((resolve, reject) => {
      let status = 0;
      let errorType: string | undefined;
      let detail = '';
      this.pool.dispatch(
        { origin: this.origin, method: 'POST', path, headers, body },
        {
          // Its presence tells undici this handler speaks the controller API (v7).
          onRequestStart: () => undefined,
          onResponseStart: (_controller, statusCode, responseHeaders) => {
            status = statusCode;
            const type = responseHeaders['x-amzn-errortype'];
            errorType = Array.isArray(type) ? type[0] : type;
          },
          onResponseData: (_controller, chunk) => {
            if (status >= 300 && detail.length < MAX_ERROR_BODY) detail += chunk.toString('utf8');
          },
          onResponseEnd: () => {
            if (status >= 200 && status < 300) resolve();
            else reject(new ConnectionsApiError(status, errorType, detail.slice(0, MAX_ERROR_BODY)));
          },
          onResponseError: (_controller, error) => reject(error),
        },
      );
    });
  }
}
