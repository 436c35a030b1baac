/**
 * A real `ws` client for end-to-end tests: records every frame the gateway sends, and waits
 * (event-driven, always bounded) for the one a test expects. Every protocol event it receives
 * is checked against docs/asyncapi.yaml: one that breaks it fails the client's waits and the
 * test it arrived in (afterEach below).
 */
import WebSocket from 'ws';
import { isProtocolEvent, protocolSchemas } from '../../support/asyncapi';

export type ChatEvent = Record<string, unknown> & { type?: string; id?: string };

export interface CloseInfo {
  code: number;
  reason: string;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** Received events that break docs/asyncapi.yaml, since the last test ended. */
const violations: string[] = [];

/**
 * Checks a received frame when it is a protocol event (a JSON object with `type`); API
 * Gateway's own frames and frames a test posts through @connections have no `type`.
 */
function checkAgainstDocument(client: string, event: unknown, text: string): void {
  if (!isProtocolEvent(event)) return;
  const { ok, problems } = protocolSchemas().checkServerEvent(event);
  if (ok) return;
  violations.push(
    `${client} received an event that breaks docs/asyncapi.yaml: ${problems.join('; ')}\n  ${text.slice(0, 400)}`,
  );
}

function violationError(): Error | undefined {
  return violations.length > 0 ? new Error(violations.join('\n')) : undefined;
}

// Jest's hooks (this module is also imported where there are none).
if (typeof beforeAll === 'function' && typeof afterEach === 'function' && typeof afterAll === 'function') {
  const reportViolations = () => {
    const error = violationError();
    violations.length = 0;
    if (error) throw error;
  };
  // Compiled once per test file, before its tests: a broken document fails here, plainly.
  beforeAll(() => {
    protocolSchemas();
  });
  afterEach(reportViolations);
  afterAll(reportViolations);
}

export class ChatClient {
  /** Every text frame received, parsed (frames that are not JSON appear as { raw }). */
  readonly events: ChatEvent[] = [];
  readonly closed: Promise<CloseInfo>;
  private readonly waiters = new Set<() => void>();

  private constructor(
    readonly ws: WebSocket,
    readonly name: string,
  ) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const text = data.toString('utf8');
      let event: ChatEvent;
      try {
        event = JSON.parse(text) as ChatEvent;
      } catch {
        event = { raw: text, binary: isBinary };
      }
      checkAgainstDocument(this.name, event, text);
      this.events.push(event);
      for (const wake of this.waiters) wake();
    });
    this.closed = new Promise((resolve) => {
      ws.once('close', (code: number, reason: Buffer) => {
        resolve({ code, reason: reason.toString('utf8') });
        for (const wake of this.waiters) wake();
      });
    });
    ws.on('error', () => undefined);
  }

  /** Opens a connection (`?Auth=<token>` when a token is given); rejects when refused. */
  static async connect(url: string, token?: string, name = 'client'): Promise<ChatClient> {
    const target = token === undefined ? url : `${url}?Auth=${encodeURIComponent(token)}`;
    const ws = new WebSocket(target);
    const client = new ChatClient(ws, name);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) =>
        reject(new Error(`handshake refused: ${res.statusCode}`)),
      );
      ws.once('error', reject);
    });
    return client;
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /**
   * Resolves with the first recorded event (past or future) that matches; bounded. Rejects as
   * soon as any client has received an event that breaks docs/asyncapi.yaml.
   */
  waitFor(
    predicate: (event: ChatEvent) => boolean,
    description = 'an event',
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<ChatEvent> {
    return this.waitUntil(() => this.events.find(predicate), `${this.name}: ${description}`, timeoutMs);
  }

  /** Resolves once `count` events match (returns them in arrival order); bounded. */
  waitForCount(
    predicate: (event: ChatEvent) => boolean,
    count: number,
    description = 'events',
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<ChatEvent[]> {
    return this.waitUntil(
      () => {
        const found = this.events.filter(predicate);
        return found.length >= count ? found : undefined;
      },
      `${this.name}: ${count} × ${description}`,
      timeoutMs,
    );
  }

  private waitUntil<T>(check: () => T | undefined, description: string, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const wake = () => {
        const violation = violationError();
        if (violation) {
          cleanup();
          reject(violation);
          return;
        }
        const found = check();
        if (found !== undefined) {
          cleanup();
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        const seen = this.events.map((e) => e.type ?? JSON.stringify(e).slice(0, 60)).join(', ');
        reject(
          new Error(
            `Timed out after ${timeoutMs} ms waiting for ${description} (seen: ${seen || 'nothing'})`,
          ),
        );
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
      };
      this.waiters.add(wake);
      wake();
    });
  }

  /** Resolves when the connection has closed; bounded. */
  async waitClosed(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<CloseInfo> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${this.name}: not closed within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Enters a room and waits for the `entered` confirmation. */
  async enter(roomId: string, nickname: string): Promise<ChatEvent> {
    this.send({ action: 'enterroom', roomId, nickname });
    return this.waitFor((e) => e.type === 'entered' && e.roomId === roomId, `entered ${roomId}`);
  }

  /** Closes politely and waits for the close to complete. */
  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close(1000, 'bye');
    await this.waitClosed();
  }

  /** Drops the TCP connection without a close frame (an abrupt network loss). */
  terminate(): void {
    this.ws.terminate();
  }
}

/** Attempts a handshake and reports the HTTP status it was refused with (or 101). */
export function handshakeStatus(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => {
      ws.terminate();
      resolve({ status: 101, body: '' });
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once('error', (error) => {
      if (!/Unexpected server response/.test(String(error))) reject(error);
    });
  });
}
