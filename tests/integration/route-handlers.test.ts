/**
 * The real route handler modules ($connect with its authorizer, $disconnect, $default,
 * enterroom, exitroom, sendmessage, history, broadcast), loaded as Lambda loads them, end to end
 * against DynamoDB Local and the local SQS server: the state they leave, the events they
 * queue, the error events they answer, and that bad input changes nothing. The reference
 * scenario then runs the queued events through the real fanout to the @connections server.
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import type {
  APIGatewayAuthorizerResult,
  APIGatewayProxyStructuredResultV2,
  APIGatewayProxyWebsocketEventV2,
  APIGatewayRequestAuthorizerEvent,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';
import { DynamoDbConnectionRegistry } from '../../functions/shared/adapters/dynamodb/connection-registry';
import { DynamoDbEntryStore } from '../../functions/shared/adapters/dynamodb/entry-store';
import type { ServerEvent } from '../../functions/shared/domain/protocol';
import { entryEventId, type RoomEvent } from '../../functions/shared/domain/room-events';
import type { Role } from '../../functions/shared/ports';
import { captureStdout } from '../support/capture-logs';
import { createChatTable, uniqueTableName } from '../support/chat-table';
import { type ConnectionsServer, startConnectionsServer } from '../support/connections-server';
import { loadHandler } from '../support/load-handler';
import {
  createFifoQueue,
  drainQueue,
  type LocalAws,
  setHandlerEnvironment,
  startLocalAws,
} from '../support/local-aws';
import { sqsEvent, sqsRecordFromMessage } from '../support/sqs-events';
import {
  authorizerEvent,
  connectEvent,
  connectionIdFor,
  disconnectEvent,
  messageEvent,
} from '../support/ws-events';

type ProxyHandler = (event: APIGatewayProxyWebsocketEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
type Handlers = {
  authorizer: (event: APIGatewayRequestAuthorizerEvent) => Promise<APIGatewayAuthorizerResult>;
  connect: ProxyHandler;
  disconnect: ProxyHandler;
  default: ProxyHandler;
  enterroom: ProxyHandler;
  exitroom: ProxyHandler;
  sendmessage: ProxyHandler;
  history: ProxyHandler;
  broadcast: ProxyHandler;
  fanout: (event: SQSEvent) => Promise<SQSBatchResponse>;
};

const CHAT_TOKEN = 'chat-token-0123456789abcdef';
const ADMIN_TOKEN = 'admin-token-0123456789abcdef';
const SEND_RATE_LIMIT = 5;

let aws: LocalAws;
let server: ConnectionsServer;
let tableName: string;
let queueUrl: string;
let registry: DynamoDbConnectionRegistry;
let entries: DynamoDbEntryStore;
let handlers: Handlers;
let logs: ReturnType<typeof captureStdout>;

beforeAll(async () => {
  [aws, server] = await Promise.all([startLocalAws(), startConnectionsServer({ stage: 'dev' })]);
  tableName = uniqueTableName('routes');
  await createChatTable(aws.ddb, tableName);
  queueUrl = await createFifoQueue(aws.sqs);
  registry = new DynamoDbConnectionRegistry(aws.ddb, tableName);
  entries = new DynamoDbEntryStore(aws.ddb, tableName);
  setHandlerEnvironment({
    tableName,
    queueUrl,
    ddbEndpoint: aws.ddbEndpoint,
    sqsEndpoint: aws.sqsEndpoint,
    connectionsUrl: server.callbackUrl,
    extra: {
      CHAT_AUTH_TOKEN: CHAT_TOKEN,
      ADMIN_AUTH_TOKEN: ADMIN_TOKEN,
      SEND_RATE_LIMIT: String(SEND_RATE_LIMIT),
      CONTROL_RATE_LIMIT: '1000',
      RATE_WINDOW_SECONDS: '3600',
    },
  });
  const load = <T>(name: Parameters<typeof loadHandler>[0]) => loadHandler<{ handler: T }>(name).handler;
  handlers = {
    authorizer: load('authorizer'),
    connect: load('connect'),
    disconnect: load('disconnect'),
    default: load('default'),
    enterroom: load('enter-room'),
    exitroom: load('exit-room'),
    sendmessage: load('send-message'),
    history: load('history'),
    broadcast: load('broadcast'),
    fanout: load('fanout'),
  };
}, 120_000);

afterAll(async () => {
  await Promise.all([aws?.stop(), server?.stop()]);
});

beforeEach(async () => {
  server.reset();
  await drainQueue(aws.sqs, queueUrl);
  logs = captureStdout();
});

afterEach(() => {
  logs.restore();
});

let roomCounter = 0;
const freshRoom = () => `r${++roomCounter}`;

/** Authorizes `token` and runs $connect with the context API Gateway would pass on. */
async function connectWith(token: string, label = 'conn'): Promise<string> {
  const decision = await handlers.authorizer(authorizerEvent(token));
  expect(decision.policyDocument.Statement[0]).toMatchObject({ Effect: 'Allow' });
  const connectionId = connectionIdFor(label);
  const result = await handlers.connect(
    connectEvent({
      connectionId,
      token,
      authorizer: { principalId: decision.principalId, ...(decision.context as { role: string }) },
    }),
  );
  expect(result.statusCode).toBe(200);
  return connectionId;
}

const connectAs = (label: string, role: Role = 'user') =>
  connectWith(role === 'admin' ? ADMIN_TOKEN : CHAT_TOKEN, label);

type Route = 'enterroom' | 'exitroom' | 'sendmessage' | 'history' | 'broadcast' | 'default';

/** Sends one frame on a route; returns the status and the error event, if one was answered. */
async function frame(route: Route, connectionId: string, body: string | Record<string, unknown>) {
  const routeKey = route === 'default' ? '$default' : route;
  const result = await handlers[route](messageEvent(routeKey, body, { connectionId }));
  return {
    status: result.statusCode,
    error: result.body === undefined ? undefined : (JSON.parse(result.body) as ServerEvent),
  };
}

async function enter(connectionId: string, roomId: string, nickname: string) {
  const { status, error } = await frame('enterroom', connectionId, { action: 'enterroom', roomId, nickname });
  expect(error).toBeUndefined();
  expect(status).toBe(200);
}

async function queued(): Promise<RoomEvent[]> {
  return (await drainQueue(aws.sqs, queueUrl)).map((m) => JSON.parse(m.Body ?? '') as RoomEvent);
}

/**
 * The chat's state: every item in the table, sorted (a Scan is fine for a test's own table),
 * without the rate windows (a refused action still counts against the connection's budget).
 */
async function tableState() {
  const { Items = [] } = await aws.ddb.send(new ScanCommand({ TableName: tableName, ConsistentRead: true }));
  return Items.map((item) =>
    JSON.stringify(
      Object.fromEntries(Object.entries(item).filter(([name]) => !/(Window|Count)$/.test(name))),
    ),
  ).sort();
}

describe('$connect', () => {
  it('registers a user connection with the role from the authorizer context', async () => {
    const connectionId = await connectAs('mikki');

    await expect(registry.getConnection(connectionId)).resolves.toMatchObject({ connectionId, role: 'user' });
  });

  it('registers an admin connection as admin', async () => {
    const connectionId = await connectAs('roope', 'admin');

    await expect(registry.getConnection(connectionId)).resolves.toMatchObject({
      role: 'admin',
      principalId: 'admin',
    });
  });

  it('treats a connection without an authorizer role as a user', async () => {
    const connectionId = connectionIdFor('norole');

    await handlers.connect(connectEvent({ connectionId, authorizer: {} }));

    await expect(registry.getConnection(connectionId)).resolves.toMatchObject({ role: 'user' });
  });

  it('refuses the handshake (500) when the connection cannot be stored, and logs why', async () => {
    setHandlerEnvironment({
      tableName: 'no-such-table',
      queueUrl,
      ddbEndpoint: aws.ddbEndpoint,
      sqsEndpoint: aws.sqsEndpoint,
    });
    try {
      const broken = loadHandler<{ handler: ProxyHandler }>('connect').handler;

      const result = await broken(connectEvent({ connectionId: connectionIdFor('x') }));

      expect(result.statusCode).toBe(500);
      expect(logs.entries()).toContainEqual(expect.objectContaining({ level: 'ERROR', route: '$connect' }));
    } finally {
      setHandlerEnvironment({
        tableName,
        queueUrl,
        ddbEndpoint: aws.ddbEndpoint,
        sqsEndpoint: aws.sqsEndpoint,
      });
    }
  });

  it('never logs the token', async () => {
    await connectAs('mikki');
    await handlers.authorizer(authorizerEvent('wrong-SECRET-token'));

    expect(logs.lines.length).toBeGreaterThan(0);
    expect(logs.text()).not.toContain(CHAT_TOKEN);
    expect(logs.text()).not.toContain('SECRET');
  });
});

describe('enterroom', () => {
  it('records a new entry (its joined queued) and queues one joined event naming it', async () => {
    const roomId = freshRoom();
    const mikki = await connectAs('mikki');

    await enter(mikki, roomId, 'Mikki');

    const entry = await entries.get(mikki, roomId);
    expect(entry).toMatchObject({ connectionId: mikki, roomId, nickname: 'Mikki', state: 'queued' });
    expect(await queued()).toEqual([
      expect.objectContaining({
        kind: 'joined',
        roomId,
        connectionId: mikki,
        entryId: entry?.entryId,
        id: entryEventId('joined', entry?.entryId ?? ''),
        nickname: 'Mikki',
        fromId: entry?.fromId,
      }),
    ]);
  });

  it('carries `since` to the fanout for a resume', async () => {
    const roomId = freshRoom();
    const mikki = await connectAs('mikki');

    await frame('enterroom', mikki, { action: 'enterroom', roomId, nickname: 'Mikki', since: 41 });

    expect(await queued()).toEqual([expect.objectContaining({ kind: 'joined', since: 41 })]);
  });

  it('answers nickname_taken, case-insensitively, and changes nothing', async () => {
    const roomId = freshRoom();
    await enter(await connectAs('mikki'), roomId, 'Mikki');
    await queued();
    const other = await connectAs('other');
    const before = await tableState();

    const { status, error } = await frame('enterroom', other, {
      action: 'enterroom',
      roomId,
      nickname: 'MIKKI',
    });

    expect(status).toBe(400);
    expect(error).toMatchObject({ type: 'error', code: 'nickname_taken', action: 'enterroom' });
    expect(await tableState()).toEqual(before);
    expect(await queued()).toEqual([]);
  });

  it('answers already_in_room for a second entry', async () => {
    const roomId = freshRoom();
    const mikki = await connectAs('mikki');
    await enter(mikki, roomId, 'Mikki');

    const { error } = await frame('enterroom', mikki, { action: 'enterroom', roomId, nickname: 'Mikki2' });

    expect(error).toMatchObject({ code: 'already_in_room' });
  });

  it('answers a connection that is no longer registered with internal and a hint to reconnect', async () => {
    const { status, error } = await frame('enterroom', connectionIdFor('ghost'), {
      action: 'enterroom',
      roomId: freshRoom(),
      nickname: 'Ghost',
    });

    expect(status).toBe(500);
    expect(error).toMatchObject({ code: 'internal', message: expect.stringMatching(/reconnect/) });
  });
});

describe('bad input', () => {
  let connectionId: string;
  let roomId: string;

  beforeEach(async () => {
    roomId = freshRoom();
    connectionId = await connectAs('mikki');
    await enter(connectionId, roomId, 'Mikki');
    await queued();
  });

  it.each<[string, Route, string | Record<string, unknown>, string]>([
    ['a frame that is not JSON', 'enterroom', '{"action":"enterroom",', 'bad_request'],
    ['a missing nickname', 'enterroom', { action: 'enterroom', roomId: 'x' }, 'bad_request'],
    [
      'a nickname mixing scripts',
      'enterroom',
      { action: 'enterroom', roomId: 'x', nickname: '\u041Cikki' },
      'bad_request',
    ],
    [
      'a nickname that renders blank',
      'enterroom',
      { action: 'enterroom', roomId: 'x', nickname: '\u3164\u3164' },
      'bad_request',
    ],
    [
      'a nickname whose key grows past its cap',
      'enterroom',
      { action: 'enterroom', roomId: 'x', nickname: '\uFDFA'.repeat(32) },
      'bad_request',
    ],
    [
      'a since that is not a number',
      'enterroom',
      { action: 'enterroom', roomId: 'x', nickname: 'M', since: '4' },
      'bad_request',
    ],
    [
      'a negative since',
      'enterroom',
      { action: 'enterroom', roomId: 'x', nickname: 'M', since: -1 },
      'bad_request',
    ],
    ['a history limit of 0', 'history', { action: 'history', roomId: 'x', limit: 0 }, 'bad_request'],
    ['a history limit over 100', 'history', { action: 'history', roomId: 'x', limit: 101 }, 'bad_request'],
    ['a history before of 1.5', 'history', { action: 'history', roomId: 'x', before: 1.5 }, 'bad_request'],
    ['history of a room not entered', 'history', { action: 'history', roomId: 'elsewhere' }, 'not_in_room'],
    [
      'a nickname with a right-to-left override',
      'enterroom',
      { action: 'enterroom', roomId: 'x', nickname: 'a\u202Eb' },
      'bad_request',
    ],
    [
      'a nickname with a zero-width space',
      'enterroom',
      { action: 'enterroom', roomId: 'x', nickname: 'a\u200Bb' },
      'bad_request',
    ],
    ['a numeric room id', 'enterroom', { action: 'enterroom', roomId: 1, nickname: 'M' }, 'bad_request'],
    [
      'a room id with a colon',
      'enterroom',
      { action: 'enterroom', roomId: 'a:b', nickname: 'M' },
      'bad_request',
    ],
    [
      'fields behind __proto__',
      'enterroom',
      '{"action":"enterroom","__proto__":{"roomId":"x","nickname":"M"}}',
      'bad_request',
    ],
    ['exiting an unknown room', 'exitroom', { action: 'exitroom', roomId: 'nowhere' }, 'not_in_room'],
    ['an empty message', 'sendmessage', { action: 'sendmessage', message: '' }, 'bad_request'],
    ['a whitespace message', 'sendmessage', { action: 'sendmessage', message: '   ' }, 'bad_request'],
    [
      'a message that is not a string',
      'sendmessage',
      { action: 'sendmessage', message: { text: 'x' } },
      'bad_request',
    ],
    [
      'a message over 4096 bytes',
      'sendmessage',
      { action: 'sendmessage', message: 'ä'.repeat(2049) },
      'message_too_long',
    ],
    [
      'sending to a room not entered',
      'sendmessage',
      { action: 'sendmessage', roomId: 'other', message: 'x' },
      'not_in_room',
    ],
    ['a broadcast from a user', 'broadcast', { action: 'broadcast', message: 'x' }, 'forbidden'],
    ['an unknown action', 'default', { action: 'dance' }, 'unknown_action'],
    ['text on $default', 'default', 'hello', 'bad_request'],
  ])(
    'answers %s with one error event, changes no state and queues nothing',
    async (_name, route, body, code) => {
      const before = await tableState();

      const { error } = await frame(route, connectionId, body);

      expect(error).toMatchObject({ type: 'error', code, id: expect.any(String), at: expect.any(String) });
      expect(await tableState()).toEqual(before);
      expect(await queued()).toEqual([]);
    },
  );
});

describe('exitroom', () => {
  it('marks the entry exited and queues its left with reason exit', async () => {
    const roomId = freshRoom();
    const hessu = await connectAs('hessu');
    await enter(hessu, roomId, 'Hessu');
    await queued();
    const { entryId = '' } = (await entries.get(hessu, roomId)) ?? {};

    const { status } = await frame('exitroom', hessu, { action: 'exitroom', roomId });

    expect(status).toBe(200);
    await expect(entries.get(hessu, roomId)).resolves.toMatchObject({ entryId, state: 'exited' });
    expect(await queued()).toEqual([
      expect.objectContaining({
        kind: 'left',
        reason: 'exit',
        roomId,
        connectionId: hessu,
        entryId,
        // Its own id: an exit taken back and tried again must not be dropped as a repeat.
        id: expect.any(String),
        nickname: 'Hessu',
      }),
    ]);
  });

  it('answers not_in_room to a second exit, queueing nothing more', async () => {
    const roomId = freshRoom();
    const hessu = await connectAs('hessu');
    await enter(hessu, roomId, 'Hessu');
    await frame('exitroom', hessu, { action: 'exitroom', roomId });
    await queued();

    const { error } = await frame('exitroom', hessu, { action: 'exitroom', roomId });

    expect(error).toMatchObject({ code: 'not_in_room' });
    expect(await queued()).toEqual([]);
  });

  it('leaves the only room when roomId is left out', async () => {
    const roomId = freshRoom();
    const hessu = await connectAs('hessu');
    await enter(hessu, roomId, 'Hessu');

    await frame('exitroom', hessu, { action: 'exitroom' });

    expect((await entries.list(hessu)).map((e) => e.state)).toEqual(['exited']);
  });

  it('answers room_required when roomId is left out in two rooms, changing nothing', async () => {
    const hessu = await connectAs('hessu');
    await enter(hessu, freshRoom(), 'Hessu');
    await enter(hessu, freshRoom(), 'Hessu');
    const before = await tableState();

    const { error } = await frame('exitroom', hessu, { action: 'exitroom' });

    expect(error).toMatchObject({ code: 'room_required', action: 'exitroom' });
    expect(await tableState()).toEqual(before);
  });

  it('answers not_in_room when roomId is left out in no room', async () => {
    const { error } = await frame('exitroom', await connectAs('lonely'), { action: 'exitroom' });

    expect(error).toMatchObject({ code: 'not_in_room' });
  });
});

describe('sendmessage', () => {
  it('queues the message with `from` and `fromId` taken from the entry, not from the frame', async () => {
    const roomId = freshRoom();
    const mikki = await connectAs('mikki');
    await enter(mikki, roomId, 'Mikki');
    await queued();

    const entry = await entries.get(mikki, roomId);

    await frame('sendmessage', mikki, {
      action: 'sendmessage',
      roomId,
      message: 'Hei kaikki!',
      from: 'Roope',
      fromId: 'someone-else',
    });

    expect(await queued()).toEqual([
      expect.objectContaining({
        kind: 'message',
        roomId,
        connectionId: mikki,
        entryId: entry?.entryId,
        from: 'Mikki',
        fromId: entry?.fromId,
        message: 'Hei kaikki!',
      }),
    ]);
  });

  it('answers room_required when roomId is left out in two rooms', async () => {
    const mikki = await connectAs('mikki');
    await enter(mikki, freshRoom(), 'Mikki');
    await enter(mikki, freshRoom(), 'Mikki');

    const { error } = await frame('sendmessage', mikki, { action: 'sendmessage', message: 'x' });

    expect(error).toMatchObject({ code: 'room_required' });
  });

  it(`answers rate_limited after ${SEND_RATE_LIMIT} messages in the window`, async () => {
    const roomId = freshRoom();
    const mikki = await connectAs('mikki');
    await enter(mikki, roomId, 'Mikki');
    for (let i = 0; i < SEND_RATE_LIMIT; i++) {
      expect(
        (await frame('sendmessage', mikki, { action: 'sendmessage', message: `m${i}` })).error,
      ).toBeUndefined();
    }
    await queued();

    const { status, error } = await frame('sendmessage', mikki, {
      action: 'sendmessage',
      message: 'too many',
    });

    expect(status).toBe(429);
    expect(error).toMatchObject({ code: 'rate_limited' });
    expect(await queued()).toEqual([]);
  });
});

describe('broadcast', () => {
  it('queues a broadcast from an admin', async () => {
    const admin = await connectAs('roope', 'admin');

    const { status } = await frame('broadcast', admin, {
      action: 'broadcast',
      message: 'Huoltokatko klo 18',
    });

    expect(status).toBe(200);
    const events = await queued();
    expect(events).toEqual([
      expect.objectContaining({ kind: 'broadcast', from: 'admin', message: 'Huoltokatko klo 18' }),
    ]);
    expect(events[0]).not.toHaveProperty('shard');
  });

  it('answers forbidden (403) to a user', async () => {
    const { status, error } = await frame('broadcast', await connectAs('mikki'), {
      action: 'broadcast',
      message: 'x',
    });

    expect(status).toBe(403);
    expect(error).toMatchObject({ code: 'forbidden', action: 'broadcast' });
  });
});

describe('$disconnect', () => {
  it('removes the connection and queues the left (reason disconnect) of each of its entries', async () => {
    const [roomA, roomB] = [freshRoom(), freshRoom()];
    const aku = await connectAs('aku');
    await enter(aku, roomA, 'Aku');
    await enter(aku, roomB, 'Aku');
    await queued();
    const ids = Object.fromEntries((await entries.list(aku)).map((e) => [e.roomId, e.entryId]));

    const result = await handlers.disconnect(disconnectEvent({ connectionId: aku }));

    expect(result.statusCode).toBe(200);
    await expect(registry.getConnection(aku)).resolves.toBeUndefined();
    expect((await entries.list(aku)).map((e) => e.state)).toEqual(['exited', 'exited']);
    const events = await queued();
    expect(events.map((e) => (e.kind === 'left' ? [e.roomId, e.reason, e.id] : [])).sort()).toEqual(
      [
        [roomA, 'disconnect', entryEventId('left', ids[roomA] ?? '')],
        [roomB, 'disconnect', entryEventId('left', ids[roomB] ?? '')],
      ].sort(),
    );
  });

  it('takes back an entry whose joined is not queued yet, freeing its nickname', async () => {
    const roomId = freshRoom();
    const aku = await connectAs('aku');
    const entry = { connectionId: aku, roomId, entryId: 'e-reserved', nickname: 'Aku', fromId: 'f' };
    await entries.reserve(entry);

    await handlers.disconnect(disconnectEvent({ connectionId: aku }));

    await expect(entries.get(aku, roomId)).resolves.toBeUndefined();
    await expect(entries.wasCancelled(aku, 'e-reserved')).resolves.toBe(true);
    expect(await queued()).toEqual([]);
    const other = await connectAs('other');
    await enter(other, roomId, 'Aku');
  });

  it('succeeds quietly for a connection that is already gone', async () => {
    const result = await handlers.disconnect(disconnectEvent({ connectionId: connectionIdFor('gone') }));

    expect(result.statusCode).toBe(200);
    expect(await queued()).toEqual([]);
  });
});

describe('the reference scenario, through the fanout', () => {
  /** Runs everything queued so far through the fanout, as the event source mapping would. */
  async function deliverQueued() {
    for (;;) {
      const messages = await drainQueue(aws.sqs, queueUrl);
      if (messages.length === 0) return;
      const response = await handlers.fanout(sqsEvent(messages.map(sqsRecordFromMessage)));
      expect(response.batchItemFailures).toEqual([]);
    }
  }

  const inbox = (connectionId: string) =>
    server.delivered(connectionId).map((b) => JSON.parse(b) as ServerEvent);
  const describeEvent = (e: ServerEvent) =>
    e.type === 'message'
      ? `${e.from}: ${e.message}`
      : e.type === 'left'
        ? `left ${e.nickname} (${e.reason})`
        : e.type;

  it('delivers every message to all four in one order, and tells Mikki and Roope that Hessu and Aku left', async () => {
    const roomId = freshRoom();
    const names = ['Mikki', 'Aku', 'Hessu', 'Roope'] as const;
    const ids: Record<string, string> = {};
    for (const name of names) {
      ids[name] = await connectAs(name);
      await enter(ids[name] ?? '', roomId, name);
    }
    await deliverQueued();
    server.reset();

    for (const name of names) {
      await frame('sendmessage', ids[name] ?? '', {
        action: 'sendmessage',
        roomId,
        message: `Hei, täällä ${name}`,
      });
    }
    // The fanout resolves recipients when it runs, as it does promptly in AWS: deliver before anyone leaves.
    await deliverQueued();
    await frame('exitroom', ids.Hessu ?? '', { action: 'exitroom', roomId });
    await deliverQueued();
    await frame('exitroom', ids.Aku ?? '', { action: 'exitroom', roomId });
    await deliverQueued();

    const messages = names.map((n) => `${n}: Hei, täällä ${n}`);
    for (const name of ['Mikki', 'Roope']) {
      expect(inbox(ids[name] ?? '').map(describeEvent)).toEqual([
        ...messages,
        'left Hessu (exit)',
        'left Aku (exit)',
      ]);
    }
    expect(inbox(ids.Hessu ?? '').map(describeEvent)).toEqual([...messages, 'exited']);
    expect(inbox(ids.Aku ?? '').map(describeEvent)).toEqual([...messages, 'left Hessu (exit)', 'exited']);
    // One order for everyone: the same seq for the same event, 5 (after four joins) onwards.
    const seqs = (id: string) => inbox(id).map((e) => ('seq' in e ? e.seq : undefined));
    expect(seqs(ids.Mikki ?? '')).toEqual([5, 6, 7, 8, 9, 10]);
    expect(seqs(ids.Roope ?? '')).toEqual([5, 6, 7, 8, 9, 10]);
    expect(seqs(ids.Hessu ?? '')).toEqual([5, 6, 7, 8, 9]);

    // The room's history, for a member: every event as it was delivered, oldest first.
    server.reset();
    await frame('history', ids.Mikki ?? '', { action: 'history', roomId, limit: 3 });
    const [page] = inbox(ids.Mikki ?? '');
    expect(page).toMatchObject({ type: 'history', roomId, more: true });
    expect(page?.type === 'history' && page.events.map((e) => e.seq)).toEqual([8, 9, 10]);
    expect(page?.type === 'history' && page.events.map((e) => e.type)).toEqual(['message', 'left', 'left']);
  });
});
