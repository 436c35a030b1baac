import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';

export interface ConnectionsStats {
  /** POSTs answered 200 since the last reset. */
  posts: number;
  /** The API Gateway messages they are billed as (one per 32 KB of each). */
  units: number;
  maxInFlight: number;
  /** The server process's CPU time so far (ms). */
  cpuMs: number;
}

export interface RemoteConnectionsServer {
  callbackUrl: string;
  /** POSTs answered 200 since the last reset. */
  posts(): Promise<number>;
  stats(): Promise<ConnectionsStats>;
  reset(): Promise<void>;
  /** Resolves once `count` posts have been answered since the last reset (polled every 10 ms). */
  waitForPosts(count: number, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

function request<T>(child: ChildProcess, message: string): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (reply) => resolve(reply as T));
    child.send(message);
  });
}

/** Starts the @connections server (fixed latency per post) in a child process. */
export async function startRemoteConnectionsServer(latencyMs: number): Promise<RemoteConnectionsServer> {
  const child = fork(path.join(__dirname, 'connections-server-child.ts'), [String(latencyMs)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ready = await new Promise<{ callbackUrl: string }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { callbackUrl: string }));
    child.once('exit', (code) => reject(new Error(`connections server exited (${code})`)));
  });
  const stats = () => request<ConnectionsStats>(child, 'stats');
  return {
    callbackUrl: ready.callbackUrl,
    posts: async () => (await stats()).posts,
    stats,
    reset: async () => {
      await request(child, 'reset');
    },
    async waitForPosts(count, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { posts } = await stats();
        if (posts >= count) return;
        if (Date.now() > deadline) throw new Error(`only ${posts} of ${count} posts within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.send('stop');
      }),
  };
}
