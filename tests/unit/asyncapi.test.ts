/**
 * docs/asyncapi.yaml is the protocol's contract for tools: @asyncapi/parser must accept it, and
 * wherever it can drift from the code it is checked against the code. Every action the template
 * routes and protocol.ts validates has a message with the same fields; every ServerEvent type
 * has one with the fields the type declares; the error codes and leave reasons are the code's;
 * the limits are the code's and the gateway's; and the document's JSON Schemas accept and refuse
 * the client frames the zod schemas accept and refuse, except where JSON Schema cannot state a
 * rule (those few gaps are named below and in the document). The end-to-end tests check every
 * event they receive against the same schemas (tests/e2e/support/chat-client.ts).
 */
import { readFileSync } from 'node:fs';
import { Parser } from '@asyncapi/parser';
import fc from 'fast-check';
import { type ErrorCode, MessageTooLongError } from '../../functions/shared/domain/errors';
import type { RoomLogEvent, ServerEvent } from '../../functions/shared/domain/protocol';
import * as protocol from '../../functions/shared/domain/protocol';
import { LEAVE_REASONS } from '../../functions/shared/domain/room-events';
import {
  HISTORY_DEFAULT_LIMIT,
  HISTORY_MAX_LIMIT,
  MAX_EVENT_BYTES,
  MAX_LISTED_MEMBERS,
  MAX_MESSAGE_BYTES,
  MAX_NICKNAME_LENGTH,
  MAX_ROOM_ID_LENGTH,
  NICKNAME_PATTERN,
  nicknameProblem,
  ROOM_ID_PATTERN,
  utf8Bytes,
} from '../../functions/shared/domain/rules';
import { errorReply } from '../../functions/shared/runtime/ws-route-handler';
import { historyFrames, MAX_RESUME_EVENTS } from '../../functions/shared/use-cases/deliver-room-event';
import { FRAME_LIMIT_BYTES, MESSAGE_LIMIT_BYTES } from '../../local/gateway/frame-limits';
import { ASYNCAPI_FILE, type ProtocolSchemas, protocolSchemas } from '../support/asyncapi';
import { loadTemplate } from '../support/cfn-yaml';

const schemas: ProtocolSchemas = protocolSchemas();
const doc = schemas.document;
const schema = (name: string) => {
  const found = doc.components.schemas[name];
  if (!found) throw new Error(`docs/asyncapi.yaml has no components.schemas.${name}`);
  return found as Record<string, unknown> & { properties?: Record<string, Record<string, unknown>> };
};
const payloadOf = (messageKey: string) => {
  const message = doc.components.messages[messageKey];
  if (!message) throw new Error(`docs/asyncapi.yaml has no components.messages.${messageKey}`);
  return schemas.resolve(message.payload) as {
    properties: Record<string, Record<string, unknown>>;
    required?: string[];
  };
};
const sorted = (values: Iterable<string>) => [...values].sort();

// ---------------------------------------------------------------- the code's side, at compile time

/** The fields each ServerEvent type declares; tsc fails (below) when this and the type differ. */
const EVENT_FIELDS = {
  entered: {
    required: ['type', 'id', 'at', 'roomId', 'seq', 'nickname', 'members', 'memberCount'],
    optional: ['resumed'],
  },
  history: { required: ['type', 'id', 'at', 'roomId', 'events', 'more'], optional: [] },
  joined: { required: ['type', 'id', 'at', 'roomId', 'seq', 'nickname'], optional: [] },
  message: { required: ['type', 'id', 'at', 'roomId', 'seq', 'from', 'fromId', 'message'], optional: [] },
  left: { required: ['type', 'id', 'at', 'roomId', 'seq', 'nickname', 'reason'], optional: [] },
  exited: { required: ['type', 'id', 'at', 'roomId', 'seq'], optional: [] },
  broadcast: { required: ['type', 'id', 'at', 'from', 'message'], optional: [] },
  error: { required: ['type', 'id', 'at', 'code', 'message'], optional: ['action'] },
} as const satisfies Record<
  ServerEvent['type'],
  { required: readonly string[]; optional: readonly string[] }
>;

type EventOf<T extends ServerEvent['type']> = Extract<ServerEvent, { type: T }>;
// biome-ignore lint/complexity/noBannedTypes: `{}` extends Pick<T, K> exactly when K is optional
type RequiredKeys<T> = { [K in keyof T]-?: {} extends Pick<T, K> ? never : K }[keyof T];
type OptionalKeys<T> = Exclude<keyof T, RequiredKeys<T>>;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type FieldsMatch = {
  [T in ServerEvent['type']]: [
    Same<(typeof EVENT_FIELDS)[T]['required'][number], RequiredKeys<EventOf<T>>>,
    Same<(typeof EVENT_FIELDS)[T]['optional'][number], OptionalKeys<EventOf<T>>>,
  ];
};
const eventFieldsMatchServerEvent: { [T in ServerEvent['type']]: [true, true] } = {} as FieldsMatch;
void eventFieldsMatchServerEvent;

/** ErrorCode's values (a Record over the union: tsc fails when one is missing or extra). */
const ERROR_CODES = Object.keys({
  bad_request: true,
  unknown_action: true,
  not_in_room: true,
  room_required: true,
  already_in_room: true,
  nickname_taken: true,
  forbidden: true,
  message_too_long: true,
  rate_limited: true,
  internal: true,
} satisfies Record<ErrorCode, true>) as ErrorCode[];

/** The zod schemas of client frames protocol.ts exports (every `*Body` with an `action` literal). */
type ZodLike = {
  safeParse: (value: unknown) => { success: boolean };
  _zod: { def: { shape: Record<string, { _zod: { optin?: string; def: { values?: unknown[] } } }> } };
};
const BODIES = new Map<string, ZodLike>(
  Object.values(protocol).flatMap((value) => {
    const action = (value as Partial<ZodLike>)?._zod?.def?.shape?.action?._zod.def.values?.[0];
    return typeof action === 'string' ? [[action, value as ZodLike] as const] : [];
  }),
);

/** The route keys template.yaml gives API Gateway, less `$connect`/`$disconnect`/`$default`. */
const ROUTED_ACTIONS = Object.values(loadTemplate().Resources)
  .filter((resource) => resource.Type === 'AWS::ApiGatewayV2::Route')
  .map((resource) => resource.Properties?.RouteKey)
  .filter((key): key is string => typeof key === 'string' && !key.startsWith('$'));

// ---------------------------------------------------------------- the document as AsyncAPI

describe('docs/asyncapi.yaml', () => {
  it('is a valid AsyncAPI 3 document: @asyncapi/parser reports no error or warning', async () => {
    const { document, diagnostics } = await new Parser().parse(readFileSync(ASYNCAPI_FILE, 'utf8'));
    // 0 error, 1 warning; information (2) is only "3.1.0 exists", and 3.0.0 is what tools support.
    const problems = diagnostics
      .filter((d) => d.severity <= 1)
      .map((d) => `${d.code} at ${d.path.join('.')}: ${d.message}`);
    expect(problems).toEqual([]);
    expect(document?.version()).toMatch(/^3\./);

    // What the parser resolved agrees with what the tests compile from the YAML.
    const operations = document?.operations().all() ?? [];
    expect(sorted(operations.map((o) => o.id() ?? ''))).toEqual(sorted(Object.keys(doc.operations)));
    const received = operations
      .filter((o) => o.action() === 'receive')
      .flatMap((o) => o.messages().all())
      .map((m) => m.payload()?.properties()?.action?.const());
    expect(sorted(received as string[])).toEqual(sorted(schemas.actions));
    const sent = operations
      .filter((o) => o.action() === 'send')
      .flatMap((o) => o.messages().all())
      .map((m) => m.payload()?.properties()?.type?.const())
      .filter((type) => type !== undefined);
    expect(sorted(sent as string[])).toEqual(sorted(schemas.eventTypes));
  });

  it('has a client message for every action the template routes and protocol.ts validates, and no other', () => {
    expect(sorted(ROUTED_ACTIONS)).toEqual(sorted(BODIES.keys()));
    expect(sorted(schemas.actions)).toEqual(sorted(BODIES.keys()));
  });

  it.each([...BODIES.entries()])(
    'gives %s the fields its zod schema has, required as the code requires',
    (action, body) => {
      const key = Object.keys(doc.components.messages).find(
        (k) => payloadOf(k).properties.action?.const === action,
      ) as string;
      const payload = payloadOf(key);
      const shape = body._zod.def.shape;
      expect(sorted(Object.keys(payload.properties))).toEqual(sorted(Object.keys(shape)));
      const required = Object.keys(shape).filter((field) => shape[field]?._zod.optin !== 'optional');
      expect(sorted(payload.required ?? [])).toEqual(sorted(required));
    },
  );

  it.each(Object.entries(EVENT_FIELDS))(
    'describes %s with exactly the fields ServerEvent declares',
    (type, fields) => {
      const key = Object.keys(doc.components.messages).find(
        (k) => payloadOf(k).properties.type?.const === type,
      );
      expect(key).toBeDefined();
      const payload = payloadOf(key as string);
      expect(sorted(Object.keys(payload.properties))).toEqual(
        sorted([...fields.required, ...fields.optional]),
      );
      expect(sorted(payload.required ?? [])).toEqual(sorted(fields.required));
      expect((payload as { additionalProperties?: unknown }).additionalProperties).toBe(false);
    },
  );

  it('describes no server event type the code does not send', () => {
    expect(sorted(schemas.eventTypes)).toEqual(sorted(Object.keys(EVENT_FIELDS)));
  });

  it('lists exactly the error codes of ErrorCode and the leave reasons of the room events', () => {
    expect(sorted(schema('ErrorCode').enum as string[])).toEqual(sorted(ERROR_CODES));
    expect(sorted(schema('LeaveReason').enum as string[])).toEqual(sorted(LEAVE_REASONS));
  });

  it('answers every action with the events the code replies with, from operations on the one channel', () => {
    const channelRef = '#/channels/chat';
    const messageKey = (ref: string) => ref.replace(`${channelRef}/messages/`, '');
    const eventKeys = new Set(
      Object.keys(doc.components.messages).filter(
        (k) => typeof payloadOf(k).properties.type?.const === 'string',
      ),
    );
    for (const [id, operation] of Object.entries(doc.operations)) {
      expect([id, operation.channel.$ref]).toEqual([id, channelRef]);
      const keys = operation.messages.map((m) => messageKey(m.$ref));
      for (const key of keys) expect(doc.channels.chat?.messages[key]).toBeDefined();
      if (operation.action === 'receive') {
        expect(keys.every((k) => payloadOf(k).properties.action !== undefined)).toBe(true);
        // Every route is two-way: a refused frame is answered with `error`.
        const replies = (operation.reply?.messages ?? []).map((m) => messageKey(m.$ref));
        expect([id, replies.every((k) => eventKeys.has(k)), replies.includes('error')]).toEqual([
          id,
          true,
          true,
        ]);
      }
    }
  });

  it("states the limits the code enforces and API Gateway's (as the local gateway emulates them)", () => {
    expect(doc['x-api-gateway-limits']).toMatchObject({
      frameBytes: FRAME_LIMIT_BYTES,
      messageBytes: MESSAGE_LIMIT_BYTES,
    });
    expect(MAX_EVENT_BYTES).toBeLessThan(FRAME_LIMIT_BYTES);
    expect(schema('RoomId')).toMatchObject({
      pattern: ROOM_ID_PATTERN.source,
      maxLength: MAX_ROOM_ID_LENGTH,
    });
    expect(schema('Nickname')).toMatchObject({
      pattern: NICKNAME_PATTERN.source,
      maxLength: MAX_NICKNAME_LENGTH,
    });
    expect(schema('MessageText')).toMatchObject({ maxLength: MAX_MESSAGE_BYTES });
    expect(payloadOf('historyRequest').properties.limit).toMatchObject({
      minimum: 1,
      maximum: HISTORY_MAX_LIMIT,
      default: HISTORY_DEFAULT_LIMIT,
    });
    expect(payloadOf('entered').properties.members).toMatchObject({ maxItems: MAX_LISTED_MEMBERS });
    expect(payloadOf('enterroom').properties.since?.description).toContain(`at most ${MAX_RESUME_EVENTS}`);
  });

  it('has examples that its own schemas accept', () => {
    const examples = Object.entries(doc.components.messages).flatMap(([key, message]) =>
      (message.examples ?? []).map((example) => [key, example.payload] as const),
    );
    expect(examples.length).toBeGreaterThan(5);
    for (const [key, payload] of examples)
      expect([key, schemas.checkMessage(key, payload)]).toEqual([key, { ok: true, problems: [] }]);
  });
});

// ---------------------------------------------------------------- client frames: zod and JSON Schema agree

type Outcome = 'accepted' | 'refused';

/** What the server's validation says (zod schema, then the byte limit), with why when refused. */
function serverVerdict(frame: Record<string, unknown>): { outcome: Outcome; error?: unknown } {
  const body = BODIES.get(frame.action as string);
  if (!body) throw new Error(`no zod schema for ${String(frame.action)}`);
  try {
    protocol.validate(body as never, frame);
    return { outcome: 'accepted' };
  } catch (error) {
    return { outcome: 'refused', error };
  }
}

const documentVerdict = (frame: unknown): Outcome =>
  schemas.checkClientFrame(frame).ok ? 'accepted' : 'refused';

/** The refusals of rules JSON Schema cannot state (nicknameProblem's words for them). */
const SCRIPT_PROBLEM = nicknameProblem('Мikki'); // a Cyrillic М
const KEY_PROBLEM = nicknameProblem('ﷺ'.repeat(4)); // NFKC makes each one 18 letters

/**
 * Where the document accepts what the server refuses, the reason must be one JSON Schema cannot
 * state: a message over 4,096 bytes of UTF-8 in at most 4,096 characters; a nickname mixing
 * scripts; a nickname whose uniqueness key is over 128 bytes; or a nickname that is not NFC (the
 * server checks its NFC form, which may be longer or different).
 */
function onlyServerCanSay(frame: Record<string, unknown>, error: unknown): boolean {
  if (error instanceof MessageTooLongError) {
    return [...String(frame.message)].length <= MAX_MESSAGE_BYTES; // more bytes than characters
  }
  const nickname = frame.nickname;
  if (typeof nickname !== 'string') return false;
  if (nickname.normalize('NFC') !== nickname) return true;
  const problem = (error as Error).message;
  return problem === SCRIPT_PROBLEM || problem === KEY_PROBLEM;
}

/** The document may refuse what the server accepts only for a nickname that is not NFC. */
const documentStricterBecauseNotNfc = (frame: Record<string, unknown>) =>
  typeof frame.nickname === 'string' && frame.nickname.normalize('NFC') !== frame.nickname;

describe('client frames: the document refuses what the zod schemas refuse, and accepts what they accept', () => {
  const nfdE = 'e\u0301'; // é as e + combining acute: two code points, one after NFC
  const cases: [string, Outcome, Outcome, Record<string, unknown>][] = [
    // name, server, document, frame
    ['a plain enterroom', 'accepted', 'accepted', { action: 'enterroom', roomId: '1', nickname: 'Mikki' }],
    [
      'enterroom without nickname (jwt mode)',
      'accepted',
      'accepted',
      { action: 'enterroom', roomId: 'lobby' },
    ],
    [
      'enterroom with since 0',
      'accepted',
      'accepted',
      { action: 'enterroom', roomId: '1', nickname: 'Aku Ankka', since: 0 },
    ],
    [
      'extra fields',
      'accepted',
      'accepted',
      { action: 'enterroom', roomId: '1', nickname: 'Mikki', from: 'x', seq: 9 },
    ],
    ['a Cyrillic nickname', 'accepted', 'accepted', { action: 'enterroom', roomId: '1', nickname: 'Мікі' }],
    [
      'a 64-character room id',
      'accepted',
      'accepted',
      { action: 'enterroom', roomId: 'r'.repeat(64), nickname: 'M' },
    ],
    [
      'a 65-character room id',
      'refused',
      'refused',
      { action: 'enterroom', roomId: 'r'.repeat(65), nickname: 'M' },
    ],
    ['a room id with a dot', 'refused', 'refused', { action: 'enterroom', roomId: 'a.b', nickname: 'M' }],
    ['a numeric room id', 'refused', 'refused', { action: 'enterroom', roomId: 1, nickname: 'M' }],
    ['no room id', 'refused', 'refused', { action: 'enterroom', nickname: 'M' }],
    [
      'a 32-character nickname',
      'accepted',
      'accepted',
      { action: 'enterroom', roomId: '1', nickname: 'n'.repeat(32) },
    ],
    [
      'a 33-character nickname',
      'refused',
      'refused',
      { action: 'enterroom', roomId: '1', nickname: 'n'.repeat(33) },
    ],
    ['an empty nickname', 'refused', 'refused', { action: 'enterroom', roomId: '1', nickname: '' }],
    [
      'two spaces in a nickname',
      'refused',
      'refused',
      { action: 'enterroom', roomId: '1', nickname: 'Aku  Ankka' },
    ],
    [
      'a zero-width space',
      'refused',
      'refused',
      { action: 'enterroom', roomId: '1', nickname: 'Mik\u200bki' },
    ],
    [
      'a combining grapheme joiner',
      'refused',
      'refused',
      { action: 'enterroom', roomId: '1', nickname: 'Mik\u034fki' },
    ],
    ['a Hangul filler', 'refused', 'refused', { action: 'enterroom', roomId: '1', nickname: '\u3164' }],
    ['a bidi override', 'refused', 'refused', { action: 'enterroom', roomId: '1', nickname: 'Mik\u202eki' }],
    ['since -1', 'refused', 'refused', { action: 'enterroom', roomId: '1', nickname: 'M', since: -1 }],
    ['since 2^53', 'refused', 'refused', { action: 'enterroom', roomId: '1', nickname: 'M', since: 2 ** 53 }],
    ['since 1.5', 'refused', 'refused', { action: 'enterroom', roomId: '1', nickname: 'M', since: 1.5 }],
    ['since null', 'refused', 'refused', { action: 'enterroom', roomId: '1', nickname: 'M', since: null }],
    // The gaps JSON Schema cannot close (documented in the Nickname and MessageText schemas):
    [
      'mixed scripts (Cyrillic М)',
      'refused',
      'accepted',
      { action: 'enterroom', roomId: '1', nickname: 'Мikki' },
    ],
    [
      'a nickname whose key is over 128 bytes',
      'refused',
      'accepted',
      { action: 'enterroom', roomId: '1', nickname: 'ﷺ'.repeat(4) },
    ],
    [
      '32 é, sent as NFD',
      'accepted',
      'refused',
      { action: 'enterroom', roomId: '1', nickname: nfdE.repeat(32) },
    ],
    ['exitroom without room', 'accepted', 'accepted', { action: 'exitroom' }],
    ['exitroom with room null', 'refused', 'refused', { action: 'exitroom', roomId: null }],
    ['sendmessage without room', 'accepted', 'accepted', { action: 'sendmessage', message: 'Hei!' }],
    ['a whitespace-only message', 'refused', 'refused', { action: 'sendmessage', message: ' \n\t\u3000' }],
    ['an empty message', 'refused', 'refused', { action: 'sendmessage', message: '' }],
    ['a lone surrogate message', 'accepted', 'accepted', { action: 'sendmessage', message: '\ud800' }],
    ['4,096 bytes (2,048 × ä)', 'accepted', 'accepted', { action: 'sendmessage', message: 'ä'.repeat(2048) }],
    [
      '4,098 bytes in 2,049 characters',
      'refused',
      'accepted',
      { action: 'sendmessage', message: 'ä'.repeat(2049) },
    ],
    ['4,097 characters', 'refused', 'refused', { action: 'sendmessage', message: 'a'.repeat(4097) }],
    ['no message', 'refused', 'refused', { action: 'sendmessage', roomId: '1' }],
    [
      'history with limits',
      'accepted',
      'accepted',
      { action: 'history', roomId: '1', before: 42, limit: 100 },
    ],
    ['history limit 0', 'refused', 'refused', { action: 'history', roomId: '1', limit: 0 }],
    ['history limit 101', 'refused', 'refused', { action: 'history', roomId: '1', limit: 101 }],
    ['history limit "10"', 'refused', 'refused', { action: 'history', roomId: '1', limit: '10' }],
    ['history before 0', 'refused', 'refused', { action: 'history', roomId: '1', before: 0 }],
    ['history without room', 'refused', 'refused', { action: 'history' }],
    ['broadcast', 'accepted', 'accepted', { action: 'broadcast', message: 'Huoltokatko klo 18' }],
    ['broadcast of a number', 'refused', 'refused', { action: 'broadcast', message: 18 }],
  ];

  it.each(cases)('%s: server %s, document %s', (_name, server, document, frame) => {
    expect(serverVerdict(frame).outcome).toBe(server);
    expect(documentVerdict(frame)).toBe(document);
  });

  /** Nicknames near the rules: letters of one script, with now and then one hostile character. */
  const scripts = [[...'aZäÅßé'], [...'ЖМікДя'], [...'αΣςΩ'], [...'中かカ'], [...'한글'], [...'ﷺبت']];
  const hostile = [
    'e\u0301',
    '\u0958',
    'ﬀ',
    'М',
    '\u200b',
    '\u034f',
    '\u3164',
    '\ufe0f',
    '\t',
    '!',
    '  ',
    ' ',
  ];
  const word = (letters: string[]) =>
    fc
      .array(fc.constantFrom(...letters, ...letters, '1', '_', '.', "'", '-'), {
        minLength: 1,
        maxLength: 12,
      })
      .map((chars) => chars.join(''));
  const nearValid = fc
    .tuple(
      fc
        .constantFrom(...scripts)
        .chain((letters) => fc.array(word(letters), { minLength: 1, maxLength: 5 }))
        .map((words) => words.join(' ')),
      fc.option(fc.tuple(fc.constantFrom(...hostile), fc.nat())),
    )
    .map(([text, inserted]) => {
      const chars = [...text];
      if (inserted) chars.splice(inserted[1] % (chars.length + 1), 0, inserted[0]);
      return chars.join('');
    });
  const nickname = fc.oneof(
    nearValid,
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.constantFrom(null, 7, ['Mikki']),
  );
  const roomId = fc.oneof(
    fc.stringMatching(ROOM_ID_PATTERN),
    fc.string({ maxLength: 70 }),
    fc.constantFrom('r'.repeat(64), 'r'.repeat(65), null, 1),
  );
  const message = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 50 }),
    fc.constantFrom(' ', '\u00a0\ufeff', '\u2028'),
    fc
      .tuple(fc.constantFrom('a', 'ä', '€', '😀'), fc.integer({ min: 1020, max: 4100 }))
      .map(([char, count]) => char.repeat(count)),
    fc.constantFrom(null, 42, { text: 'x' }),
  );
  const integer = fc.oneof(
    fc.integer({ min: -3, max: 120 }),
    fc.constantFrom(Number.MAX_SAFE_INTEGER, 2 ** 53, 1.5, -0, '5', null, true),
  );
  const extra = fc.dictionary(fc.constantFrom('from', 'fromId', 'seq', 'type', 'x'), fc.jsonValue(), {
    maxKeys: 2,
  });
  const withExtra = (frame: fc.Arbitrary<Record<string, unknown>>) =>
    fc.tuple(frame, extra).map(([f, e]) => ({ ...e, ...f }));
  const frames = fc.oneof(
    withExtra(
      fc.record(
        { action: fc.constant('enterroom'), roomId, nickname, since: integer },
        { requiredKeys: ['action'] },
      ),
    ),
    withExtra(fc.record({ action: fc.constant('exitroom'), roomId }, { requiredKeys: ['action'] })),
    withExtra(
      fc.record({ action: fc.constant('sendmessage'), roomId, message }, { requiredKeys: ['action'] }),
    ),
    withExtra(
      fc.record(
        { action: fc.constant('history'), roomId, before: integer, limit: integer },
        { requiredKeys: ['action'] },
      ),
    ),
    withExtra(fc.record({ action: fc.constant('broadcast'), message }, { requiredKeys: ['action'] })),
  );

  it('name the gaps by the problems the server reports for them', () => {
    expect([SCRIPT_PROBLEM, KEY_PROBLEM]).toEqual([
      expect.stringMatching(/scripts/),
      expect.stringMatching(/too long/),
    ]);
  });

  it('agree on generated frames, but for the gaps JSON Schema cannot close', () => {
    const seen = { accepted: 0, refused: 0, gaps: 0 };
    fc.assert(
      fc.property(frames, (frame) => {
        const server = serverVerdict(frame);
        const document = documentVerdict(frame);
        seen[server.outcome] += 1;
        if (server.outcome === 'accepted' && document === 'refused') {
          seen.gaps += 1;
          return documentStricterBecauseNotNfc(frame);
        }
        if (server.outcome === 'refused' && document === 'accepted') {
          seen.gaps += 1;
          return onlyServerCanSay(frame, server.error);
        }
        return true;
      }),
      { numRuns: 3000 },
    );
    // The generators reach both sides of the rules.
    expect(seen.accepted).toBeGreaterThan(300);
    expect(seen.refused).toBeGreaterThan(300);
  });
});

// ---------------------------------------------------------------- server events built by the code

describe('server events built by the code match the document', () => {
  it.each(ERROR_CODES)('error %s', (code) => {
    expect(schemas.checkServerEvent(errorReply(code, 'Something happened.', 'sendmessage'))).toEqual({
      ok: true,
      problems: [],
    });
    expect(schemas.checkServerEvent(errorReply(code, 'Something happened.')).ok).toBe(true);
  });

  it('history pages of any room log, split to fit a frame', () => {
    const at = '2026-11-25T15:20:01.000Z';
    const events: RoomLogEvent[] = [];
    for (let seq = 1; seq <= 120; seq += 1) {
      const base = { id: `e${seq}`, at, roomId: 'lobby', seq };
      if (seq % 40 === 1) events.push({ ...base, type: 'joined', nickname: `Aku${seq}` });
      else if (seq % 40 === 0) events.push({ ...base, type: 'left', nickname: 'Aku1', reason: 'gone' });
      else
        events.push({
          ...base,
          type: 'message',
          from: 'Aku1',
          fromId: 'sa9ZsdT2RLLu1tcFNRySgW',
          message: 'ä'.repeat(2048),
        });
    }
    const frames = historyFrames('lobby', events, true, 'e121');
    expect(frames.length).toBeGreaterThan(1);
    for (const frame of frames) {
      expect(utf8Bytes(frame)).toBeLessThanOrEqual(FRAME_LIMIT_BYTES);
      expect(schemas.checkServerEvent(JSON.parse(frame))).toEqual({ ok: true, problems: [] });
    }
  });
});
