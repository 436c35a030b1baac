/**
 * `npm start` (local/cli.ts) as a child process, started and stopped as people and supervisors
 * do: a handshake made while the stack is still starting is answered once it is ready (never
 * left hanging); SIGTERM to npm's process and Ctrl-C (SIGINT to the whole process group) stop
 * everything within a few seconds, with an open WebSocket, a client that no longer reads and
 * a half-sent HTTP request still connected, and print the stop line; a signal while starting
 * stops it too. Real `ws` and raw TCP clients.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { REPO_ROOT } from '../../local/repo-root';
import { javaAvailable } from '../../local/services/dynamodb-local';
import { freePort } from '../../local/services/free-port';
import { DEFAULT_CHAT_TOKEN } from '../../local/stack';
import { ChatClient } from './support/chat-client';
import { eventually } from './support/test-stack';

/** Startup on a busy shared machine takes 5–25 s (DynamoDB Local's JVM, the builds). */
const START_TIMEOUT_MS = 90_000;
/** "Within a few seconds": the stop's grace for $disconnects, then everything is cut. */
const STOP_WITHIN_MS = 10_000;

interface Cli {
  child: ChildProcess;
  port: number;
  output: () => string;
  /** Resolves when every process writing to its output has exited (npm, node, …). */
  gone: Promise<void>;
}

function startCli(port: number): Cli {
  const env = { ...process.env };
  for (const name of ['AWS_ENDPOINT_URL_DYNAMODB', 'AWS_ENDPOINT_URL_SQS', 'PORT', 'CHAT_AUTH_TOKEN'])
    delete env[name];
  // Its own process group, like a terminal's foreground job (Ctrl-C signals the whole group).
  const child = spawn('npm', ['start', '--', '--port', String(port), '--no-watch'], {
    cwd: REPO_ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  const gone = new Promise<void>((resolve) => child.stdout?.once('close', () => resolve()));
  return { child, port, output: () => text, gone };
}

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/** A raw TCP client: `send` text, see what came back. */
function rawClient(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  let received = '';
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('latin1');
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, received: () => received, closed };
}

const describeIfJava = javaAvailable() ? describe : describe.skip;

describeIfJava('npm start, started and stopped', () => {
  const running: Cli[] = [];
  const clients: { terminate(): void }[] = [];

  afterAll(async () => {
    for (const client of clients) client.terminate();
    for (const cli of running) {
      if (cli.child.exitCode === null && cli.child.pid) {
        try {
          process.kill(-cli.child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  });

  const launch = async () => {
    const cli = startCli(await freePort());
    running.push(cli);
    return cli;
  };
  const ready = (cli: Cli) =>
    eventually(
      () => cli.output().includes('Local WebSocket chat ready'),
      'the ready banner',
      START_TIMEOUT_MS,
      100,
    );

  it('answers a handshake made while it starts once ready, and stops on SIGTERM with stuck clients connected', async () => {
    const cli = await launch();
    await eventually(() => accepts(cli.port), 'the port to accept connections', START_TIMEOUT_MS, 50);
    // The port is open but the stack is not ready: this handshake used to hang for good.
    expect(cli.output()).not.toContain('ready');
    const early = await ChatClient.connect(`ws://127.0.0.1:${cli.port}`, DEFAULT_CHAT_TOKEN, 'early');
    clients.push(early);
    expect(cli.output()).toContain('Local WebSocket chat ready');
    const ddbPort = Number(/DynamoDB\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(cli.output())?.[1]);

    // A client that completes its handshake and then never reads again (the close frame included).
    const stuck = rawClient(cli.port);
    stuck.socket.write(
      `GET /?Auth=${DEFAULT_CHAT_TOKEN} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n\r\n`,
    );
    await eventually(() => stuck.received().startsWith('HTTP/1.1 101'), 'the stuck client to be upgraded');
    stuck.socket.pause();
    // A request whose headers never end.
    const halfSent = rawClient(cli.port);
    halfSent.socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n');

    const signalledAt = Date.now();
    process.kill(cli.child.pid as number, 'SIGTERM'); // npm's own process, as a supervisor would
    await Promise.race([
      cli.gone,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`not stopped:\n${cli.output()}`)), 30_000),
      ),
    ]);
    const stoppedInMs = Date.now() - signalledAt;
    console.info(`npm start stopped ${stoppedInMs} ms after SIGTERM`);
    expect(stoppedInMs).toBeLessThan(STOP_WITHIN_MS);
    expect(cli.output()).toContain('SIGTERM: closing connections and stopping');
    expect(cli.output()).toMatch(/Stopped \(\d+\.\d s\)\./);
    expect(cli.output()).not.toContain('forcefully');
    expect(await early.waitClosed()).toMatchObject({ code: 1001 });
    // Both were dropped by the stack (the stuck one sees it once it reads again).
    stuck.socket.resume();
    await Promise.all([stuck.closed, halfSent.closed]);
    expect(await accepts(cli.port)).toBe(false);
    expect(await accepts(ddbPort)).toBe(false);
  }, 150_000);

  it('stops on Ctrl-C (SIGINT to the process group) the same way, npm relaying it notwithstanding', async () => {
    const cli = await launch();
    await ready(cli);
    const client = await ChatClient.connect(`ws://127.0.0.1:${cli.port}`, DEFAULT_CHAT_TOKEN, 'open');
    clients.push(client);

    const signalledAt = Date.now();
    process.kill(-(cli.child.pid as number), 'SIGINT');
    await Promise.race([
      cli.gone,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`not stopped:\n${cli.output()}`)), 30_000),
      ),
    ]);
    const stoppedInMs = Date.now() - signalledAt;
    console.info(`npm start stopped ${stoppedInMs} ms after Ctrl-C`);
    expect(stoppedInMs).toBeLessThan(STOP_WITHIN_MS);
    expect(cli.output()).toMatch(/Stopped \(\d+\.\d s\)\./);
    expect(cli.output()).not.toContain('forcefully');
    expect(await client.waitClosed()).toMatchObject({ code: 1001 });
  }, 150_000);

  it('stops on SIGTERM while it is still starting', async () => {
    const cli = await launch();
    await eventually(() => accepts(cli.port), 'the port to accept connections', START_TIMEOUT_MS, 50);
    const signalledAt = Date.now();
    process.kill(cli.child.pid as number, 'SIGTERM');
    await Promise.race([
      cli.gone,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`not stopped:\n${cli.output()}`)), 30_000),
      ),
    ]);
    expect(Date.now() - signalledAt).toBeLessThan(STOP_WITHIN_MS);
    expect(cli.output()).toContain('SIGTERM while starting: stopping.');
    expect(cli.output()).toContain('Stopped.');
    expect(await accepts(cli.port)).toBe(false);
  }, 150_000);
});
