/**
 * Load on the local stack (loopback only, bounded, stops by itself): LOAD_CONNECTIONS
 * connections (default 1,000) in LOAD_ROOMS rooms (default 50), each sending
 * LOAD_MESSAGES messages (default 20, under the default send limit of 30 per 10 s). Every
 * member gets every message of its room exactly once after dropping repeated ids, all
 * members of a room in one order; once everyone has left, the gateway holds no connection
 * and its heap and open handles are back where they were. Prints the figures.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { chatStateItems, tableInconsistencies } from '../e2e/support/table-invariants';
import { eventually, startTestStack, type TestStack } from '../e2e/support/test-stack';
import { envInt, footprint, LoadClient, pool } from './support';

const CONNECTIONS = envInt('LOAD_CONNECTIONS', 1000);
const ROOMS = envInt('LOAD_ROOMS', 50);
const MESSAGES = envInt('LOAD_MESSAGES', 20);
const DEADLINE_MS = envInt('LOAD_DEADLINE_S', 900) * 1000;
/** Actions at once across all clients; by default every client at once (no pacing). */
const IN_FLIGHT = envInt('LOAD_IN_FLIGHT', CONNECTIONS);

describe(`${CONNECTIONS} connections in ${ROOMS} rooms, ${MESSAGES} messages each`, () => {
  let stack: TestStack;
  let dynamodb: DynamoDBClient;

  beforeAll(async () => {
    stack = await startTestStack({ functionLogs: 'errors' });
    dynamodb = new DynamoDBClient({
      endpoint: stack.chat.dynamoDbEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  }, 120_000);

  afterAll(async () => {
    dynamodb?.destroy();
    await stack?.chat.stop();
  }, 120_000);

  /** Connects, enters, chats and leaves; returns what it measured. */
  async function run(connections: number, rooms: number, messages: number) {
    const started = Date.now();
    const clients = await pool(Array.from({ length: connections }), 50, () =>
      LoadClient.connect(`${stack.chat.wsUrl}?Auth=${stack.chat.chatToken}`),
    );
    const roomOf = (i: number) => `load-${i % rooms}`;
    // Everyone enters at once: the local stack scales each function to its reserved concurrency
    // (else 10 sandboxes), and throttles beyond it as Lambda does.
    await pool(clients, IN_FLIGHT, async (client, i) => {
      client.send({ action: 'enterroom', roomId: roomOf(i), nickname: `u${i}` });
      await client.until(() => client.entered || client.errors.length > 0, 'entered', DEADLINE_MS);
    });
    const enterErrors = clients.flatMap((c) => c.errors);
    if (enterErrors.length > 0) throw new Error(`enterroom answered errors: ${enterErrors.join(', ')}`);
    const connectedMs = Date.now() - started;

    const chatStarted = Date.now();
    // Each sender sends its next message once the room's copy of the previous one is back.
    const senders = clients.map((client, i) => ({ client, i, next: 0 }));
    await pool(
      Array.from({ length: messages }).flatMap(() => senders),
      IN_FLIGHT,
      async (sender) => {
        const text = `${sender.i}/${sender.next++}`;
        sender.client.send({ action: 'sendmessage', roomId: roomOf(sender.i), message: text });
        await sender.client.until(
          () => sender.client.texts.has(text) || sender.client.errors.length > 0,
          `the room's copy of ${text}`,
          DEADLINE_MS,
        );
      },
    );
    const members = (r: number) => clients.filter((_c, i) => i % rooms === r);
    const expected = (r: number) => members(r).length * messages;
    await Promise.all(
      clients.map((c, i) =>
        c.until(() => c.distinctMessages >= expected(i % rooms), 'every message of the room', DEADLINE_MS),
      ),
    );
    const chatMs = Date.now() - chatStarted;

    const deliveries = clients.reduce((sum, c) => sum + c.messageIds.length, 0);
    const duplicates = deliveries - clients.reduce((sum, c) => sum + c.distinctMessages, 0);
    // One order per room: how many different sequences its members hold (1 = all the same).
    const orders = Array.from(
      { length: rooms },
      (_r, r) => new Set(members(r).map((c) => c.order().join(','))).size,
    );
    const errors = clients.flatMap((c) => c.errors);

    await Promise.all(clients.map((c) => c.close()));
    await eventually(() => stack.chat.connectionIds().length === 0, 'every connection closed', 120_000);
    await eventually(
      async () => (await chatStateItems(dynamodb, stack.chat.tableName)).length === 0,
      'every $disconnect to remove its records',
      DEADLINE_MS,
      500,
    );
    return {
      connectedMs,
      chatMs,
      totalMs: Date.now() - started,
      deliveries,
      duplicates,
      errors,
      orders,
      distinct: clients.map((c, i) => c.distinctMessages - expected(i % rooms)),
      inconsistencies: await tableInconsistencies(dynamodb, stack.chat.tableName),
    };
  }

  it('delivers every message of a room to each member exactly once after dedup, in one order, and leaks nothing', async () => {
    // A small round first, so the baseline includes warm sandboxes, SDK clients and caches.
    await run(20, 2, 2);
    // The test harness's own records (every invocation's event, every log line) are not the
    // gateway's memory: drop them before each measurement.
    const forget = () => {
      stack.invocations.length = 0;
      stack.logs.length = 0;
    };
    forget();
    // Lambda keeps as many sandboxes warm as a burst needed, and reclaims them later; the local
    // stack keeps them until told. Both measurements are taken with one warm sandbox per
    // function (the one used last), so the worker threads of sandboxes the full run added are
    // not counted as a leak, while whatever a warm sandbox leaks (sockets, timers) still is.
    await stack.chat.reclaimIdleSandboxes(1);
    const before = await footprint();

    const result = await run(CONNECTIONS, ROOMS, MESSAGES);
    // Idle keep-alive sockets (the functions' pooled @connections and SDK connections) close
    // after the servers' keep-alive timeouts; anything still above the baseline then is a leak.
    forget();
    const settled = async () => {
      await stack.chat.reclaimIdleSandboxes(1);
      const now = await footprint();
      const within = Object.entries(now.resources).every(([type, n]) => n <= (before.resources[type] ?? 0));
      return within ? now : undefined;
    };
    const after = await eventually(settled, 'open handles back to the baseline', 60_000, 1000).catch(() =>
      footprint(),
    );

    const messages = CONNECTIONS * MESSAGES;
    const figures = {
      connections: CONNECTIONS,
      rooms: ROOMS,
      messagesSent: messages,
      expectedDeliveries: Math.round((CONNECTIONS * CONNECTIONS * MESSAGES) / ROOMS),
      deliveries: result.deliveries,
      duplicates: result.duplicates,
      connectAndEnterS: +(result.connectedMs / 1000).toFixed(1),
      chatS: +(result.chatMs / 1000).toFixed(1),
      totalS: +(result.totalMs / 1000).toFixed(1),
      messagesPerS: Math.round(messages / (result.chatMs / 1000)),
      deliveriesPerS: Math.round(result.deliveries / (result.chatMs / 1000)),
      heapBeforeMb: +before.heapUsedMb.toFixed(1),
      heapAfterMb: +after.heapUsedMb.toFixed(1),
      resourcesBefore: before.resources,
      resourcesAfter: after.resources,
    };
    process.stdout.write(`\nLOAD RESULT ${JSON.stringify(figures)}\n`);

    expect(result.errors).toEqual([]);
    expect(result.distinct.every((extra) => extra === 0)).toBe(true);
    expect(result.orders.every((sequences) => sequences === 1)).toBe(true);
    expect(result.inconsistencies).toEqual([]);
    expect(stack.chat.connectionIds()).toEqual([]);
    // Flat: no connection, socket, timer or listener of the run is left.
    for (const [type, count] of Object.entries(after.resources)) {
      expect([type, count]).toEqual([type, Math.min(count, before.resources[type] ?? 0)]);
    }
    expect(after.heapUsedMb - before.heapUsedMb).toBeLessThan(Math.max(16, before.heapUsedMb * 0.2));
  });
});
