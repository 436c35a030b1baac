/**
 * Hostile input against the real route handlers (their modules, wsRoute edge included) on
 * the in-memory ports, a recording publisher and a scripted notifier: whatever frame arrives
 * (random JSON, wrong types, huge or deeply nested bodies, `__proto__`/`constructor` keys,
 * invalid UTF-8 decoded as API Gateway would, 128 KB frames), a handler answers at most one
 * `error` event, never throws, and a refused frame changes no entry, roster, nickname or log
 * and queues nothing (a rate budget counts every attempt, refused or not). Named cases pin
 * the nickname and room id rules and show message text is queued verbatim.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import fc from 'fast-check';
import { queueBody } from '../../functions/shared/adapters/sqs-room-event-publisher';
import { fromIdOf } from '../../functions/shared/domain/identity';
import { EnterRoomBody, HistoryBody, SendMessageBody } from '../../functions/shared/domain/protocol';
import { parseRoomEvent } from '../../functions/shared/domain/room-events';
import type { WsHandler } from '../../functions/shared/runtime/ws-route-handler';
import { captureStdout } from '../support/capture-logs';
import { budgetOf, enterAs } from '../support/chat-state';
import { type InMemoryChat, inMemoryChat } from '../support/in-memory';
import { RecordingPublisher } from '../support/recording-publisher';
import { ScriptedNotifier } from '../support/scripted-notifier';
import { messageEvent } from '../support/ws-events';

/** What the handlers' deps hand out: swapped per run by `fresh()`. */
const deps: { chat: InMemoryChat; events: RecordingPublisher; notifier: ScriptedNotifier } = {
  chat: inMemoryChat(),
  events: new RecordingPublisher(),
  notifier: new ScriptedNotifier(),
};
/** Forwards to whatever `pick()` is now (handlers keep what their deps were at load). */
function current<T extends object>(pick: () => T): T {
  return new Proxy({} as T, {
    get: (_target, property) => {
      const target = pick() as Record<PropertyKey, unknown>;
      const value = target[property];
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
const tableDeps = () => ({
  registry: current(() => deps.chat.registry),
  entries: current(() => deps.chat.entries),
  budget: budgetOf(current(() => deps.chat.limiter)),
});
jest.mock('../../functions/shared/runtime/room-deps', () => ({
  dynamoDbClient: () => ({}),
  tableDeps,
  roomLog: () => current(() => deps.chat.log),
}));
jest.mock('../../functions/shared/runtime/queue-deps', () => ({
  roomDeps: () => ({ ...tableDeps(), events: current(() => deps.events) }),
}));
jest.mock('../../functions/shared/adapters/api-gateway-notifier', () => ({
  managementApiClient: () => ({}),
  ApiGatewayNotifier: class {
    constructor() {
      // biome-ignore lint/correctness/noConstructorReturn: the handler gets the test's notifier
      return current(() => deps.notifier);
    }
  },
}));
process.env.CONNECTIONS_URL = 'https://abc123defg.execute-api.eu-north-1.amazonaws.com/dev';

const ROUTES = {
  enterroom: 'enter-room',
  exitroom: 'exit-room',
  sendmessage: 'send-message',
  history: 'history',
  broadcast: 'broadcast',
  $default: 'default',
} as const;
type RouteKey = keyof typeof ROUTES;
const ERROR_CODES = [
  'bad_request',
  'unknown_action',
  'not_in_room',
  'room_required',
  'already_in_room',
  'nickname_taken',
  'forbidden',
  'message_too_long',
  'rate_limited',
  'internal',
];

const MEMBER = 'member0000001=';
const ADMIN = 'admin00000001=';
const STRANGER = 'stranger00001=';

async function fresh() {
  deps.chat = inMemoryChat();
  deps.events = new RecordingPublisher();
  deps.notifier = new ScriptedNotifier();
  await deps.chat.registry.putConnection({
    connectionId: MEMBER,
    role: 'user',
    principalId: 'user',
    connectedAt: 1,
  });
  await deps.chat.registry.putConnection({
    connectionId: ADMIN,
    role: 'admin',
    principalId: 'admin',
    connectedAt: 1,
  });
  return enterAs(deps.chat, MEMBER, '1', 'Mikki');
}

/** Every item but the rate windows, which count refused attempts too. */
function stateOf() {
  const snapshot = deps.chat.table.snapshot();
  for (const item of Object.values(snapshot.connections)) item.windows = {};
  return JSON.stringify(snapshot);
}

describe('route handlers under hostile frames', () => {
  let logs: ReturnType<typeof captureStdout>;
  const handlers = {} as Record<RouteKey, WsHandler>;

  beforeAll(() => {
    for (const [route, name] of Object.entries(ROUTES)) {
      // The test's own module registry (not isolateModules): the in-memory ports must throw
      // the same error classes the handlers map.
      handlers[route as RouteKey] = (
        require(`../../functions/${name}/handler`) as { handler: WsHandler }
      ).handler;
    }
  });
  beforeEach(async () => {
    logs = captureStdout();
    await fresh();
  });
  afterEach(() => logs.restore());

  /** Runs one frame; returns the reply and whether the state or the queue changed. */
  async function run(route: RouteKey, body: string, connectionId: string) {
    await fresh();
    const before = stateOf();
    const result = (await handlers[route](messageEvent(route, body, { connectionId }))) as
      | APIGatewayProxyStructuredResultV2
      | undefined;
    const changed = stateOf() !== before || deps.events.calls.length > 0;
    return { result, changed };
  }

  /** The properties every frame must keep. */
  async function expectSafe(route: RouteKey, body: string, connectionId: string) {
    const { result, changed } = await run(route, body, connectionId);
    expect(result).toBeDefined();
    if (result?.body !== undefined) {
      const event = JSON.parse(result.body) as Record<string, unknown>;
      expect(event.type).toBe('error');
      expect(ERROR_CODES).toContain(event.code);
      // Only a connection with no record may hear `internal` (reconnect); nothing else fails.
      if (connectionId !== STRANGER) expect(event.code).not.toBe('internal');
      expect(String(event.message)).not.toMatch(/\n\s+at |Error:|\{/);
      expect(changed).toBe(false);
    } else {
      expect(result?.statusCode).toBe(200);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('roomId');
  }

  const route = fc.constantFrom<RouteKey>(
    'enterroom',
    'exitroom',
    'sendmessage',
    'history',
    'broadcast',
    '$default',
  );
  const connection = fc.constantFrom(MEMBER, ADMIN, STRANGER);
  const anyValue = fc.oneof(
    fc.jsonValue(),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.constantFrom(null, true, 0, -1, 1e308, [], {}, '', ' ', '1', '\u0000', '\u202E1', '__proto__'),
  );
  /** A frame that looks like a request: a known action and fields of any type. */
  const requestLike = fc
    .record(
      {
        action: fc.oneof(
          fc.constantFrom('enterroom', 'exitroom', 'sendmessage', 'history', 'broadcast'),
          anyValue,
        ),
        roomId: fc.oneof(fc.constantFrom('1', '2', 'x'.repeat(65), '../1', '1 '), anyValue),
        nickname: fc.oneof(fc.constantFrom('Mikki', 'mikki', 'Aku', '', '\u041Cikki'), anyValue),
        message: fc.oneof(fc.string({ maxLength: 60 }), anyValue),
        since: fc.oneof(fc.constantFrom(0, 1, 42, -1, 1.5), anyValue),
        before: fc.oneof(fc.constantFrom(1, 2, 0, 1e9), anyValue),
        limit: fc.oneof(fc.constantFrom(1, 50, 100, 101, 0), anyValue),
        from: anyValue,
        fromId: anyValue,
        entryId: anyValue,
      },
      { requiredKeys: [] },
    )
    .map((frame) => JSON.stringify(frame));
  const pollution = fc.constantFrom(
    '{"action":"sendmessage","__proto__":{"roomId":"1","polluted":1},"message":"x"}',
    '{"action":"enterroom","roomId":"2","nickname":"Aku","__proto__":{"nickname":"Admin"}}',
    '{"action":"broadcast","constructor":{"prototype":{"polluted":1}},"message":"x"}',
    '{"action":"exitroom","roomId":{"__proto__":{"polluted":1}}}',
    '{"action":"history","roomId":"1","__proto__":{"limit":1000,"polluted":1}}',
    '{"__proto__":{"action":"broadcast"},"message":"x"}',
  );
  const nested = fc
    .integer({ min: 100, max: 20_000 })
    .chain((depth) =>
      fc.constantFrom(
        `${'['.repeat(depth)}${']'.repeat(depth)}`,
        `{"action":"sendmessage","roomId":"1","message":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`,
      ),
    );
  const invalidUtf8 = fc
    .uint8Array({ minLength: 1, maxLength: 200 })
    .map((bytes) => Buffer.from(bytes).toString('utf8'));
  const huge = fc.constantFrom(
    JSON.stringify({ action: 'sendmessage', roomId: '1', message: 'x'.repeat(128 * 1024 - 50) }),
    JSON.stringify({ action: 'enterroom', roomId: '1', nickname: 'n'.repeat(100_000) }),
    JSON.stringify({ action: 'broadcast', message: '😀'.repeat(20_000) }),
    JSON.stringify({ action: 'history', roomId: '1', limit: 1e308, before: -1e308 }),
    JSON.stringify({ action: 'sendmessage', roomId: '1', message: 'm', pad: Array(20_000).fill(0) }),
  );
  const anyFrame = fc.oneof(
    fc.json(),
    fc.string({ unit: 'binary', maxLength: 200 }),
    requestLike,
    pollution,
    nested,
    invalidUtf8,
    huge,
  );

  it('answers any frame with at most one error event and changes nothing when it refuses', async () => {
    await fc.assert(
      fc.asyncProperty(route, anyFrame, connection, (r, body, id) => expectSafe(r, body, id)),
      { numRuns: 600 },
    );
  }, 120_000);

  it('accepts a frame only when it is a valid request of its route', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<RouteKey>('enterroom', 'sendmessage', 'history'),
        requestLike,
        async (r, body) => {
          const { result } = await run(r, body, MEMBER);
          if (result?.body === undefined) {
            const schema =
              r === 'enterroom' ? EnterRoomBody : r === 'history' ? HistoryBody : SendMessageBody;
            expect(schema.safeParse(JSON.parse(body)).success).toBe(true);
          }
        },
      ),
      { numRuns: 300 },
    );
  }, 60_000);

  it('never lets a frame choose who a message is from', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 30 }), anyValue, async (text, spoof) => {
        const body = JSON.stringify({
          action: 'sendmessage',
          roomId: '1',
          message: `x${text}`,
          from: spoof,
          fromId: spoof,
          entryId: spoof,
          nickname: spoof,
          connectionId: ADMIN,
        });
        const { result } = await run('sendmessage', body, MEMBER);
        expect(result?.body).toBeUndefined();
        const entry = await deps.chat.entries.get(MEMBER, '1');
        expect(deps.events.events).toMatchObject([
          {
            kind: 'message',
            from: 'Mikki',
            fromId: fromIdOf({}, MEMBER),
            entryId: entry?.entryId,
            connectionId: MEMBER,
          },
        ]);
      }),
      { numRuns: 100 },
    );
  });

  describe('nicknames and room ids', () => {
    const enter = (roomId: unknown, nickname: unknown) =>
      run('enterroom', JSON.stringify({ action: 'enterroom', roomId, nickname }), ADMIN);

    it.each([
      ['empty', ''],
      ['33 characters', 'a'.repeat(33)],
      ['a leading space', ' Aku'],
      ['a trailing space', 'Aku '],
      ['two spaces', 'Aku  Ankka'],
      ['a tab', 'Aku\tAnkka'],
      ['a newline', 'Aku\nAnkka'],
      ['NUL', 'Aku\u0000'],
      ['a C1 control', 'Aku\u0085'],
      ['a right-to-left override', '\u202EakknA'],
      ['a left-to-right isolate', 'Aku\u2066'],
      ['a zero-width space', 'A\u200Bku'],
      ['a zero-width joiner', 'A\u200Dku'],
      ['a byte order mark', '\uFEFFAku'],
      ['a soft hyphen', 'A\u00ADku'],
      ['markup', '<b>Aku</b>'],
      ['an emoji', 'Aku 🦆'],
      ['a lone surrogate', 'Aku\uD800'],
      ['a number', 42],
      ['an object', { toString: 'Aku' }],
      ['a Cyrillic М among Latin letters', '\u041Cikki'],
      ['Cyrillic і among Latin letters', 'M\u0456kk\u0456'],
      ['a combining grapheme joiner', 'Mikki\u034F'],
      ['a variation selector', 'Mikki\uFE0F'],
      ['a Hangul filler', 'Mikki\u3164'],
      ['only Hangul fillers', '\u3164\u3164'],
      ['a key that grows past its limit', '\uFDFA'.repeat(32)],
    ])('refuses a nickname with %s, writing nothing', async (_what, nickname) => {
      const { result, changed } = await enter('2', nickname);

      expect(JSON.parse(result?.body ?? '{}')).toMatchObject({ type: 'error', code: 'bad_request' });
      expect(changed).toBe(false);
    });

    it.each([
      ['empty', ''],
      ['65 characters', 'r'.repeat(65)],
      ['a slash', 'a/b'],
      ['dots', '..'],
      ['a space', 'a b'],
      ['a hash (the table key separator)', 'a#b'],
      ['non-ASCII letters', 'hämärä'],
      ['a control character', 'a\u0000'],
      ['a bidi override', '\u202E1'],
      ['a zero-width space', '1\u200B'],
      ['a number', 1],
      ['an array', ['1']],
    ])('refuses a room id with %s, writing nothing', async (_what, roomId) => {
      const { result, changed } = await enter(roomId, 'Aku');

      expect(JSON.parse(result?.body ?? '{}')).toMatchObject({ type: 'error', code: 'bad_request' });
      expect(changed).toBe(false);
    });

    it.each([
      ['32 characters', 'a'.repeat(32), 'r'.repeat(64)],
      ['letters with diacritics and a space', 'Åke Ö', 'A-z_0-9'],
      ['a name in Hebrew', 'אבי', '1'],
      ['an apostrophe, dot and hyphen', "O'Neil-Jr.", '1'],
      ['Cyrillic only', '\u041C\u0456\u043A\u0456', '1'],
      ['Han with Latin', '山田Taro', '1'],
      ['ß', 'Straße', '1'],
      ['an apostrophe', "O'Brien", '1'],
    ])('accepts a nickname of %s', async (_what, nickname, roomId) => {
      const { result, changed } = await enter(roomId, nickname);

      expect(result?.body).toBeUndefined();
      expect(changed).toBe(true);
    });

    it('treats a decomposed nickname as its composed form (one José per room)', async () => {
      await fresh();
      await handlers.enterroom(
        messageEvent(
          'enterroom',
          { action: 'enterroom', roomId: '2', nickname: 'Jos\u00E9' },
          { connectionId: ADMIN },
        ),
      );
      const second = (await handlers.enterroom(
        messageEvent(
          'enterroom',
          { action: 'enterroom', roomId: '2', nickname: 'Jose\u0301' },
          { connectionId: MEMBER },
        ),
      )) as APIGatewayProxyStructuredResultV2;

      expect(JSON.parse(second.body ?? '{}')).toMatchObject({ code: 'nickname_taken' });
    });
  });

  it('answers a valid history frame by sending the room to the caller, writing nothing', async () => {
    const { result, changed } = await run(
      'history',
      JSON.stringify({ action: 'history', roomId: '1', limit: 5 }),
      MEMBER,
    );

    expect(result).toEqual({ statusCode: 200 });
    expect(changed).toBe(false);
    expect(deps.notifier.eventsTo(MEMBER)).toMatchObject([
      { type: 'history', roomId: '1', events: [{ type: 'joined', seq: 1, nickname: 'Mikki' }], more: false },
    ]);
  });

  describe('message text', () => {
    it.each([
      ['markup', '<script>alert("x")</script><img src=x onerror=alert(1)>'],
      ['emoji with modifiers and joiners', '👍🏽 👨‍👩‍👧 🇫🇮'],
      ['right-to-left text with an override', 'שלום \u202Eabc\u202C עולם'],
      ['NUL and control characters', 'a\u0000b\u0007c\u001bd'],
      ['JSON and escapes', '{"action":"broadcast"} \\n \\u0000'],
      ['surrounding whitespace', '  spaced out \n\t'],
      ['exactly 4096 bytes', 'ä'.repeat(2048)],
      ['the noncharacters U+FFFE and U+FFFF', 'a\uFFFEb\uFFFFc'],
      ['a lone surrogate', 'a\uD800b'],
      ['invisible characters nicknames may not have', 'a\u034F\u3164\uFE0Fb'],
    ])('queues %s verbatim', async (_what, message) => {
      const { result } = await run(
        'sendmessage',
        JSON.stringify({ action: 'sendmessage', roomId: '1', message }),
        MEMBER,
      );

      expect(result?.body).toBeUndefined();
      const [queued] = deps.events.events;
      expect(queued).toMatchObject({ kind: 'message', message });
      // What the SQS publisher sends: only characters SQS accepts, and the text back intact.
      const body = queueBody(queued as NonNullable<typeof queued>);
      expect(body).toMatch(/^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u);
      expect(parseRoomEvent(body)).toEqual(queued);
    });

    it('refuses 4097 bytes as message_too_long, queueing nothing', async () => {
      const { result, changed } = await run(
        'sendmessage',
        JSON.stringify({ action: 'sendmessage', roomId: '1', message: `${'ä'.repeat(2048)}x` }),
        MEMBER,
      );

      expect(JSON.parse(result?.body ?? '{}')).toMatchObject({ code: 'message_too_long' });
      expect(changed).toBe(false);
    });
  });
});
