/**
 * Scenario 4 — end to end on the local gateway: real WebSocket clients in rooms, each sending
 * messages at a steady rate. Latency is measured from just before a client sends a frame to the
 * moment each member of the room (the sender included) receives the room's copy, on one
 * monotonic clock (all clients live in this process).
 */
import WebSocket from 'ws';
import { startLocalChat } from '../local/stack';
import type { E2eRow } from './e2e-types';
import { measureDynamoDbCeiling } from './support/dynamodb-ceiling';
import { percentile, round } from './support/stats';

export type { E2eRow };

export interface E2eOptions {
  clients: number;
  rooms: number;
  messagesPerClient: number;
  ratePerSecond: number;
  /** Messages of the unloaded single-sender pass that follows the scenario. */
  singleSenderMessages: number;
}

interface Client {
  socket: WebSocket;
  roomId: string;
  seen: Set<string>;
  entered: Promise<void>;
}

interface Payload {
  s: number;
  n: number;
  t: number;
}

const deadline = (ms: number) => Date.now() + ms;

async function until(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = deadline(timeoutMs);
  while (!predicate()) {
    if (Date.now() > end) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}

/** Messages one client sends in the single-sender pass: under sendmessage's rate limit (30 per 10 s). */
const SINGLE_SENDER_PER_CLIENT = 25;

/**
 * The latency floor of the same stack without load: one client alone in a room sends a message,
 * waits for the room's copy, then sends the next (after the scenario, so everything is warm).
 * Clients take turns, each alone in its own room, so none reaches the rate limit.
 */
async function measureSingleSender(
  wsUrl: string,
  token: string,
  messages: number,
): Promise<NonNullable<E2eRow['singleSender']>> {
  const times: number[] = [];
  for (let c = 0; times.length < messages; c++) {
    const socket = new WebSocket(`${wsUrl}?Auth=${encodeURIComponent(token)}`);
    const next = (type: string) =>
      new Promise<void>((resolve, reject) => {
        const onMessage = (data: WebSocket.RawData) => {
          const event = JSON.parse(String(data)) as { type: string; code?: string };
          if (event.type === 'error') reject(new Error(`e2e single sender: error ${event.code}`));
          if (event.type !== type) return;
          socket.off('message', onMessage);
          resolve();
        };
        socket.on('message', onMessage);
      });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('open', () => resolve());
        socket.once('error', reject);
      });
      const entered = next('entered');
      socket.send(JSON.stringify({ action: 'enterroom', roomId: `bench-alone${c}`, nickname: 'alone' }));
      await entered;
      for (let n = 0; n < SINGLE_SENDER_PER_CLIENT && times.length < messages; n++) {
        const received = next('message');
        const started = performance.now();
        socket.send(JSON.stringify({ action: 'sendmessage', message: `alone ${n}` }));
        await received;
        times.push(performance.now() - started);
      }
    } finally {
      socket.terminate();
    }
  }
  const sorted = times.sort((a, b) => a - b);
  return {
    messages,
    p50Ms: round(percentile(sorted, 50)),
    p99Ms: round(percentile(sorted, 99)),
    maxMs: round(sorted[sorted.length - 1] ?? Number.NaN),
  };
}

/** The promise's value, or undefined if it has not settled within `ms`. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function runE2eBench(options: E2eOptions): Promise<E2eRow> {
  // The stack's log is kept (last lines only) to explain a scenario that does not finish.
  const logTail: string[] = [];
  const stack = await startLocalChat({
    port: 0,
    log: (line) => {
      logTail.push(line);
      if (logTail.length > 40) logTail.shift();
    },
    functionEnv: { LOG_LEVEL: 'warn' },
  });
  const stuck = (what: string) =>
    new Error(`e2e: ${what}; the stack's last log lines:\n${logTail.join('\n') || '(none)'}`);
  const latencies: number[] = [];
  let delivered = 0;
  let duplicated = 0;
  let errors = 0;
  /** Messages answered with an error (refused: never accepted, so never delivered), by code. */
  const refused: Record<string, number> = {};
  let lastReceipt = 0;
  const clients: Client[] = [];
  try {
    for (let i = 0; i < options.clients; i++) {
      const roomId = `bench${i % options.rooms}`;
      const socket = new WebSocket(`${stack.wsUrl}?Auth=${encodeURIComponent(stack.chatToken)}`);
      const seen = new Set<string>();
      let markEntered: () => void = () => undefined;
      const entered = new Promise<void>((resolve) => {
        markEntered = resolve;
      });
      socket.on('message', (data) => {
        const event = JSON.parse(String(data)) as {
          type: string;
          id: string;
          message?: string;
          code?: string;
          action?: string;
        };
        if (event.type === 'entered') markEntered();
        if (event.type === 'error') {
          errors += 1;
          if (event.action === 'sendmessage')
            refused[event.code ?? '?'] = (refused[event.code ?? '?'] ?? 0) + 1;
        }
        if (event.type !== 'message' || !event.message) return;
        if (seen.has(event.id)) {
          duplicated += 1;
          return;
        }
        seen.add(event.id);
        const payload = JSON.parse(event.message) as Payload;
        const now = performance.now();
        latencies.push(now - payload.t);
        delivered += 1;
        lastReceipt = now;
      });
      await new Promise<void>((resolve, reject) => {
        socket.once('open', () => resolve());
        socket.once('error', reject);
      });
      socket.send(JSON.stringify({ action: 'enterroom', roomId, nickname: `user${i}` }));
      clients.push({ socket, roomId, seen, entered });
    }
    let enteredCount = 0;
    const allEntered = Promise.all(clients.map((c) => c.entered.then(() => enteredCount++)));
    if (!(await within(allEntered, 60_000))) {
      throw stuck(`only ${enteredCount} of ${clients.length} clients entered their room within 60 s`);
    }
    // Let the joined notices settle before the clock starts.
    await new Promise((resolve) => setTimeout(resolve, 500));

    const intervalMs = 1000 / options.ratePerSecond;
    const firstSend = performance.now();
    await Promise.all(
      clients.map(async (client, s) => {
        await new Promise((resolve) => setTimeout(resolve, Math.random() * intervalMs));
        for (let n = 0; n < options.messagesPerClient; n++) {
          const payload: Payload = { s, n, t: performance.now() };
          client.socket.send(JSON.stringify({ action: 'sendmessage', message: JSON.stringify(payload) }));
          await new Promise((resolve) => setTimeout(resolve, intervalMs));
        }
      }),
    );
    const roomSize = options.clients / options.rooms;
    const messages = options.clients * options.messagesPerClient;
    const expectedDeliveries = messages * roomSize;
    // Every accepted message reaches its room, however long the backlog takes to drain.
    const refusedCount = () => Object.values(refused).reduce((a, b) => a + b, 0);
    await until(() => delivered >= (messages - refusedCount()) * roomSize, 180_000);
    const sorted = [...latencies].sort((a, b) => a - b);
    const singleSender = await measureSingleSender(
      stack.wsUrl,
      stack.chatToken,
      options.singleSenderMessages,
    );
    // What the stack's DynamoDB Local answers at most on this machine, asked by nothing else.
    const dynamoDbCeiling = await measureDynamoDbCeiling(stack.dynamoDbEndpoint, {
      concurrency: 32,
      seconds: 5,
    });
    return {
      clients: options.clients,
      rooms: options.rooms,
      messages,
      expectedDeliveries,
      delivered,
      lost: (messages - refusedCount()) * roomSize - delivered,
      duplicated,
      errors,
      refused,
      p50Ms: round(percentile(sorted, 50)),
      p95Ms: round(percentile(sorted, 95)),
      p99Ms: round(percentile(sorted, 99)),
      maxMs: round(sorted[sorted.length - 1] ?? Number.NaN),
      deliveriesPerSecond: Math.round((delivered / (lastReceipt - firstSend)) * 1000),
      singleSender,
      percentiles: Array.from({ length: 101 }, (_, p) => round(percentile(sorted, p))),
      offeredMessagesPerSecond: options.clients * options.ratePerSecond,
      dynamoDbCeiling,
    };
  } finally {
    for (const c of clients) c.socket.terminate();
    await stack.stop();
  }
}
