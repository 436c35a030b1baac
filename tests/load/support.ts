/**
 * A lean WebSocket client for load runs: keeps only what the checks need (ids of the room's
 * messages in arrival order, its own `entered`, errors), so a run with hundreds of thousands
 * of deliveries does not measure the test's own memory.
 */
import WebSocket from 'ws';

export class LoadClient {
  /** Ids of `message` events of the client's room, in arrival order (duplicates included). */
  readonly messageIds: string[] = [];
  readonly errors: string[] = [];
  entered = false;
  private readonly distinct = new Set<string>();
  private wake: (() => void) | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const event = JSON.parse(data.toString('utf8')) as {
        message?: string;
        type: string;
        id: string;
        code?: string;
        action?: string;
      };
      if (event.type === 'message') {
        this.messageIds.push(event.id);
        this.distinct.add(event.id);
        if (event.message !== undefined) this.texts.add(event.message);
      } else if (event.type === 'entered') this.entered = true;
      else if (event.type === 'error') this.errors.push(`${event.code}:${event.action}`);
      this.wake?.();
    });
    ws.on('error', () => undefined);
  }

  static connect(url: string): Promise<LoadClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const client = new LoadClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) =>
        reject(new Error(`handshake refused: ${res.statusCode}`)),
      );
      ws.once('error', reject);
    });
  }

  /** Texts of the room's messages received (for a sender to wait for its own copy). */
  readonly texts = new Set<string>();

  get distinctMessages(): number {
    return this.distinct.size;
  }

  /** First copy of each id, in arrival order: the order the client shows. */
  order(): string[] {
    const seen = new Set<string>();
    return this.messageIds.filter((id) => !seen.has(id) && seen.add(id));
  }

  send(frame: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(frame));
  }

  /** Resolves when `check` holds (re-checked on every frame and every 200 ms); bounded. */
  until(check: () => boolean, description: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        clearInterval(poll);
        this.wake = undefined;
        reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${description}`));
      }, timeoutMs);
      const done = () => {
        if (!check()) return;
        clearTimeout(timer);
        clearInterval(poll);
        this.wake = undefined;
        resolve();
      };
      const poll = setInterval(done, 200);
      this.wake = done;
      done();
    });
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close(1000);
    });
  }
}

/** Runs `task` over `items` with at most `limit` at once. */
export async function pool<T, R>(
  items: T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await task(items[index] as T, index);
      }
    }),
  );
  return results;
}

export function envInt(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}

/** Heap after a full GC (when node runs with --expose-gc) and the open resources by type. */
export async function footprint(): Promise<{ heapUsedMb: number; resources: Record<string, number> }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const resources: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) resources[type] = (resources[type] ?? 0) + 1;
  return { heapUsedMb: process.memoryUsage().heapUsed / 2 ** 20, resources };
}
