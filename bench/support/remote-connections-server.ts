import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';

export interface RemoteConnectionsServer {
  callbackUrl: string;
  /** POSTs answered 200 since the last reset. */
  posts(): Promise<number>;
  reset(): Promise<void>;
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
  return {
    callbackUrl: ready.callbackUrl,
    posts: async () => (await request<{ posts: number }>(child, 'stats')).posts,
    reset: async () => {
      await request(child, 'reset');
    },
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.send('stop');
      }),
  };
}
