/**
 * Scenario 3 — what a message costs on AWS. The whole chat runs on the local stack (the
 * template's functions, the local gateway and event source), its DynamoDB and SQS behind
 * metering proxies and its posts going to the bench's @connections server (20 ms a post): a
 * room's members send messages, and every AWS request the messages cause is counted (API
 * Gateway messages in and out, Lambda invocations and their billed duration, SQS requests in
 * 64 KB units, DynamoDB read and write request units). Multiplied by the public prices
 * (support/prices.ts), per 1,000 messages, beside the AWS sample's design (one table of
 * connections Scanned for every message, posts one after another from the route's Lambda, no
 * queue) measured the same way, and AppSync Events' price for the same traffic.
 *
 * The room's members are written into the table as if they had entered (a room of 10,000
 * entering one by one would post 50 million joined notices first); the senders are real
 * WebSocket clients. Members stay connected while the room exchanges its messages at one every
 * 10 seconds (the connection minutes assumed).
 */
import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import {
  CreateTableCommand,
  DynamoDBClient,
  paginateScan,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import WebSocket from 'ws';
import { SLICES } from '../functions/shared/adapters/dynamodb/table-layout';
import { type LocalChat, startLocalChat } from '../local/stack';
import { uniqueTableName } from '../tests/support/chat-table';
import { CREDENTIALS, type LocalAws, REGION } from '../tests/support/local-aws';
import { DynamoDbMeter, SqsMeter, startMeteredSqs, startProxy } from './support/metering-proxies';
import { PRICES, type Service } from './support/prices';
import {
  type RemoteConnectionsServer,
  startRemoteConnectionsServer,
} from './support/remote-connections-server';
import { roomItems } from './support/room-seed';
import { batchPut } from './support/seed';
import { round } from './support/stats';

/** Seconds between two messages of the room (how long members stay connected per message). */
const SECONDS_PER_MESSAGE = 10;
const MINUTES_PER_1000 = (1000 * SECONDS_PER_MESSAGE) / 60;

/** Every AWS request the room's messages caused. */
export interface Traffic {
  members: number;
  /** Members of the other rooms already in the table (the per-message cost must not depend on them). */
  otherMembers: number;
  messages: number;
  delivery: 'one hop' | 'slices';
  apiMessagesIn: number;
  apiMessagesOut: number;
  lambda: Record<string, { invocations: number; billedMs: number; memoryMb: number }>;
  /** SQS requests the functions made, as billed (64 KB units). */
  sqsFunctionRequests: number;
  /** The event source's receive and delete, one each per fanout batch (as Lambda's pollers do). */
  sqsEventSourceRequests: number;
  dynamodb: { readUnits: number; writeUnits: number; requests: Record<string, number> };
}

export interface CostRow {
  design: 'this design' | 'AWS sample' | 'AppSync Events';
  members: number;
  /** USD per 1,000 chat messages, by service. */
  services: Partial<Record<Service, number>>;
  total: number;
  /** The part of API Gateway's (or AppSync's) that is connection minutes, USD per 1,000 messages. */
  connectionMinutes: number;
}

export interface RoomUnitsRow {
  members: number;
  otherMembers: number;
  delivery: 'one hop' | 'slices';
  writeUnitsPerMessage: number;
  readUnitsPerMessage: number;
  requestsPerMessage: number;
}

export interface CostResults {
  traffic: Traffic[];
  sample: { members: number; scanReadUnits: number; lambdaMs: number }[];
  rows: CostRow[];
  roomUnits: RoomUnitsRow[];
  assumptions: string[];
}

export interface CostOptions {
  /** Room sizes priced per 1,000 messages (this design, the sample, AppSync Events). */
  sizes: { members: number; messages: number }[];
  /** Rooms whose DynamoDB units per message are reported, delivered both ways. */
  unitSizes: { members: number; messages: number }[];
  senders: number;
  latencyMs: number;
}

const perMillion = (count: number, price: number) => (count * price) / 1_000_000;

function priced(t: Traffic): CostRow {
  const per1000 = 1000 / t.messages;
  const connectionMinutes = perMillion(
    t.members * MINUTES_PER_1000,
    PRICES.apiGateway.perMillionConnectionMinutes,
  );
  const api =
    perMillion((t.apiMessagesIn + t.apiMessagesOut) * per1000, PRICES.apiGateway.perMillionMessages) +
    connectionMinutes;
  let lambda = 0;
  for (const f of Object.values(t.lambda)) {
    lambda += perMillion(f.invocations * per1000, PRICES.lambda.perMillionRequests);
    lambda += (f.billedMs / 1000) * (f.memoryMb / 1024) * per1000 * PRICES.lambda.perGbSecondArm;
  }
  const sqs = perMillion(
    (t.sqsFunctionRequests + t.sqsEventSourceRequests) * per1000,
    PRICES.sqs.perMillionFifoRequests,
  );
  const dynamodb =
    perMillion(t.dynamodb.writeUnits * per1000, PRICES.dynamodb.perMillionWriteUnits) +
    perMillion(t.dynamodb.readUnits * per1000, PRICES.dynamodb.perMillionReadUnits);
  const services = { 'API Gateway': api, Lambda: lambda, SQS: sqs, DynamoDB: dynamodb };
  return {
    design: 'this design',
    members: t.members,
    services: roundAll(services),
    total: round6(api + lambda + sqs + dynamodb),
    connectionMinutes: round6(connectionMinutes),
  };
}

const round6 = (value: number) => Number(value.toPrecision(4));
const roundAll = <T extends Record<string, number>>(values: T): T =>
  Object.fromEntries(Object.entries(values).map(([k, v]) => [k, round6(v)])) as T;

/** The sample: per message one Scan, one Lambda (256 MB, x86) posting to each in turn, N posts. */
function pricedSample(members: number, scanReadUnits: number, lambdaMs: number): CostRow {
  const connectionMinutes = perMillion(
    members * MINUTES_PER_1000,
    PRICES.apiGateway.perMillionConnectionMinutes,
  );
  const api = perMillion((1 + members) * 1000, PRICES.apiGateway.perMillionMessages) + connectionMinutes;
  const lambda =
    perMillion(1000, PRICES.lambda.perMillionRequests) +
    (Math.ceil(lambdaMs) / 1000) * (256 / 1024) * 1000 * PRICES.lambda.perGbSecondX86;
  const dynamodb = perMillion(scanReadUnits * 1000, PRICES.dynamodb.perMillionReadUnits);
  return {
    design: 'AWS sample',
    members,
    services: roundAll({ 'API Gateway': api, Lambda: lambda, DynamoDB: dynamodb }),
    total: round6(api + lambda + dynamodb),
    connectionMinutes: round6(connectionMinutes),
  };
}

/** AppSync Events: a publish and a delivery per subscriber are operations; connection minutes. */
function pricedAppSync(members: number): CostRow {
  const connectionMinutes = perMillion(
    members * MINUTES_PER_1000,
    PRICES.appSyncEvents.perMillionConnectionMinutes,
  );
  const operations = perMillion((1 + members) * 1000, PRICES.appSyncEvents.perMillionOperations);
  return {
    design: 'AppSync Events',
    members,
    services: roundAll({ 'AppSync Events': operations + connectionMinutes }),
    total: round6(operations + connectionMinutes),
    connectionMinutes: round6(connectionMinutes),
  };
}

interface Harness {
  stack: LocalChat;
  /** Members seeded into its table so far, every room together. */
  seeded: number;
  server: RemoteConnectionsServer;
  ddb: DynamoDbMeter;
  sqs: SqsMeter;
  invocations: { functionId: string; durationMs: number }[];
  stop(): Promise<void>;
}

async function startHarness(
  aws: LocalAws,
  server: RemoteConnectionsServer,
  functionEnv: Record<string, string>,
): Promise<Harness> {
  const ddb = new DynamoDbMeter();
  const sqs = new SqsMeter();
  const ddbProxy = await startProxy(aws.ddbEndpoint, ddb.hooks);
  const sqsProxy = await startMeteredSqs(sqs);
  const invocations: Harness['invocations'] = [];
  const stack = await startLocalChat({
    port: 0,
    watch: false,
    stackName: `benchcost${Date.now().toString(36)}`,
    dynamoDbEndpoint: ddbProxy.endpoint,
    sqsEndpoint: sqsProxy.endpoint,
    // Posts go to the bench's @connections server: it counts them and answers after 20 ms.
    functionEnv: { CONNECTIONS_URL: server.callbackUrl, ...functionEnv },
    functionLogs: 'none',
    log: () => undefined,
    onInvoke: (functionId, _event, outcome) =>
      invocations.push({ functionId, durationMs: outcome.durationMs }),
  });
  return {
    stack,
    seeded: 0,
    server,
    ddb,
    sqs,
    invocations,
    stop: async () => {
      await stack.stop();
      await Promise.all([ddbProxy.stop(), sqsProxy.stop()]);
    },
  };
}

async function settled(stack: LocalChat, quietMs = 500): Promise<void> {
  let quietSince = Date.now();
  for (;;) {
    if (stack.invocationsInFlight() > 0) quietSince = Date.now();
    if (Date.now() - quietSince > quietMs) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function connect(stack: LocalChat, count: number): Promise<{ sockets: WebSocket[]; ids: string[] }> {
  const sockets: WebSocket[] = [];
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const before = new Set(stack.connectionIds());
    const socket = new WebSocket(`${stack.wsUrl}?Auth=${encodeURIComponent(stack.chatToken)}`);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    for (let tries = 0; ; tries++) {
      const id = stack.connectionIds().find((c) => !before.has(c));
      if (id) {
        ids.push(id);
        break;
      }
      if (tries > 200) throw new Error('cost: a connection id never appeared');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    sockets.push(socket);
  }
  return { sockets, ids };
}

/** Sends `messages` from the room's real members and counts everything they cause. */
async function measureRoom(
  h: Harness,
  aws: LocalAws,
  members: number,
  messages: number,
  senderCount: number,
  delivery: Traffic['delivery'],
): Promise<Traffic> {
  const otherMembers = h.seeded;
  const roomId = `cost${members}${delivery === 'slices' ? 's' : 'h'}${otherMembers}`;
  const { sockets, ids } = await connect(h.stack, Math.min(senderCount, members));
  try {
    await batchPut(aws.ddb, h.stack.tableName, roomItems(roomId, members, { slices: SLICES, senders: ids }));
    h.seeded += members;
    // One message first, unmeasured: warm sandboxes, and a large room's one-time switch to slices.
    await h.server.reset();
    (sockets[0] as WebSocket).send(JSON.stringify({ action: 'sendmessage', roomId, message: 'warm' }));
    await h.server.waitForPosts(members, 600_000);
    await settled(h.stack);
    await h.server.reset();
    h.ddb.take();
    h.sqs.take();
    h.invocations.length = 0;
    for (let n = 0; n < messages; n++) {
      const socket = sockets[n % sockets.length] as WebSocket;
      socket.send(JSON.stringify({ action: 'sendmessage', roomId, message: `message ${n} of the room` }));
      // Under sendmessage's rate limit (30 per 10 s per connection) with ten senders.
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
    await h.server.waitForPosts(messages * members, 600_000);
    await settled(h.stack);
    const posted = await h.server.stats();
    const lambda: Traffic['lambda'] = {};
    for (const { functionId, durationMs } of h.invocations) {
      const memoryMb = Object.values(h.stack.model.functions).find(
        (f) => f.logicalId === functionId,
      )?.memorySize;
      lambda[functionId] ??= { invocations: 0, billedMs: 0, memoryMb: memoryMb ?? 128 };
      const f = lambda[functionId];
      f.invocations += 1;
      f.billedMs += Math.max(1, Math.ceil(durationMs));
    }
    const sqs = h.sqs.take();
    const functionActions = ['SendMessage', 'SendMessageBatch', 'ChangeMessageVisibility'];
    const ddb = h.ddb.take();
    const traffic: Traffic = {
      members,
      otherMembers,
      messages,
      delivery,
      apiMessagesIn: messages,
      apiMessagesOut: posted.units,
      lambda,
      sqsFunctionRequests: functionActions.reduce((sum, a) => sum + (sqs.billed[a] ?? 0), 0),
      sqsEventSourceRequests: 2 * (lambda.FanoutFunction?.invocations ?? 0),
      dynamodb: {
        readUnits: round(ddb.readUnits, 1),
        writeUnits: round(ddb.writeUnits, 1),
        requests: ddb.requests,
      },
    };
    console.log(
      `  ${members} members (${delivery}): ${messages} messages, ${posted.posts} posts, ` +
        `${round(ddb.writeUnits / messages, 2)} WRU and ${round(ddb.readUnits / messages, 1)} RRU per message`,
    );
    return traffic;
  } finally {
    for (const s of sockets) s.terminate();
  }
}

/** The AWS sample's sendmessage: Scan the connections table, then post to each in turn. */
async function measureSample(
  aws: LocalAws,
  server: RemoteConnectionsServer,
  members: number,
): Promise<{ members: number; scanReadUnits: number; lambdaMs: number }> {
  const meter = new DynamoDbMeter();
  const proxy = await startProxy(aws.ddbEndpoint, meter.hooks);
  const client = new DynamoDBClient({ region: REGION, credentials: CREDENTIALS, endpoint: proxy.endpoint });
  const posts = new ApiGatewayManagementApiClient({
    endpoint: server.callbackUrl,
    region: REGION,
    credentials: CREDENTIALS,
  });
  try {
    const tableName = uniqueTableName('bench-sample');
    await aws.ddb.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'connectionId', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'connectionId', KeyType: 'HASH' }],
      }),
    );
    await waitUntilTableExists({ client: aws.ddb, maxWaitTime: 30 }, { TableName: tableName });
    await batchPut(
      aws.ddb,
      tableName,
      (function* () {
        for (let i = 0; i < members; i++) yield { connectionId: { S: `sample${members}-c${i}=` } };
      })(),
    );
    meter.take();
    const started = performance.now();
    const ids: string[] = [];
    for await (const page of paginateScan(
      { client },
      { TableName: tableName, ProjectionExpression: 'connectionId' },
    )) {
      ids.push(...(page.Items ?? []).map((item) => item.connectionId?.S ?? ''));
    }
    const scanMs = performance.now() - started;
    // Posts one after another: measured over the first 100, the rest at the same pace.
    const measured = Math.min(100, ids.length);
    const postStarted = performance.now();
    for (const id of ids.slice(0, measured)) {
      await posts.send(
        new PostToConnectionCommand({ ConnectionId: id, Data: new TextEncoder().encode('hei') }),
      );
    }
    const perPost = (performance.now() - postStarted) / measured;
    return {
      members,
      scanReadUnits: round(meter.take().readUnits, 1),
      lambdaMs: round(scanMs + perPost * members),
    };
  } finally {
    posts.destroy();
    client.destroy();
    await proxy.stop();
  }
}

export async function runCostBench(aws: LocalAws, options: CostOptions): Promise<CostResults> {
  const server = await startRemoteConnectionsServer(options.latencyMs);
  const traffic: Traffic[] = [];
  const roomUnits: RoomUnitsRow[] = [];
  const unitsOf = (t: Traffic): RoomUnitsRow => ({
    members: t.members,
    otherMembers: t.otherMembers,
    delivery: t.delivery,
    writeUnitsPerMessage: round(t.dynamodb.writeUnits / t.messages, 2),
    readUnitsPerMessage: round(t.dynamodb.readUnits / t.messages, 1),
    requestsPerMessage: round(Object.values(t.dynamodb.requests).reduce((a, b) => a + b, 0) / t.messages, 1),
  });
  try {
    // The template's settings: rooms over 1,000 members are delivered in slices.
    const sliced = await startHarness(aws, server, {});
    try {
      for (const { members, messages } of [...options.sizes, ...options.unitSizes]) {
        if (traffic.some((t) => t.members === members)) continue;
        traffic.push(
          await measureRoom(
            sliced,
            aws,
            members,
            messages,
            options.senders,
            members > 1000 ? 'slices' : 'one hop',
          ),
        );
      }
      // The small rooms again, now that the table holds every larger room too.
      for (const { members, messages } of options.unitSizes.filter((s) => s.members <= 1000)) {
        roomUnits.push(
          unitsOf(await measureRoom(sliced, aws, members, messages, options.senders, 'one hop')),
        );
      }
    } finally {
      await sliced.stop();
    }
    // As before slices: every room in one hop (only the large ones differ).
    const large = options.unitSizes.filter((s) => s.members > 1000);
    if (large.length > 0) {
      const oneHop = await startHarness(aws, server, { FANOUT_SLICE_SIZE: '1000000' });
      try {
        for (const { members, messages } of large) {
          roomUnits.push(
            unitsOf(await measureRoom(oneHop, aws, members, messages, options.senders, 'one hop')),
          );
        }
      } finally {
        await oneHop.stop();
      }
    }
    for (const { members } of options.unitSizes) {
      const t = traffic.find((x) => x.members === members);
      if (t) roomUnits.push(unitsOf(t));
    }
    const sample = [];
    for (const { members } of options.sizes) sample.push(await measureSample(aws, server, members));
    const rows: CostRow[] = [];
    for (const { members } of options.sizes) {
      const t = traffic.find((x) => x.members === members) as Traffic;
      const s = sample.find((x) => x.members === members) as (typeof sample)[number];
      rows.push(priced(t), pricedSample(members, s.scanReadUnits, s.lambdaMs), pricedAppSync(members));
    }
    roomUnits.sort(
      (a, b) =>
        a.members - b.members || a.delivery.localeCompare(b.delivery) || a.otherMembers - b.otherMembers,
    );
    return {
      traffic,
      sample,
      rows,
      roomUnits,
      assumptions: [
        `members stay connected while the room sends its messages, one every ${SECONDS_PER_MESSAGE} s (${round(MINUTES_PER_1000)} connection minutes per member per 1,000 messages)`,
        `Lambda durations as measured on this machine, each invocation rounded up to 1 ms, at the template's memory (arm64); the sample's route Lambda at 256 MB on x86_64`,
        'the event source mapping: one ReceiveMessage and one DeleteMessageBatch per fanout batch (its idle long polls are not per message)',
        'posts answered after 20 ms (as in the fanout scenario); API Gateway messages are counted in 32 KB units, SQS requests in 64 KB units',
        "AppSync Events: a publish and one delivery per subscriber, each an Event API operation (payloads under 5 KB); it keeps no room log, order or history, which this design's DynamoDB and SQS pay for",
      ],
    };
  } finally {
    await server.stop();
  }
}
