import { BadRequestError, MessageTooLongError } from '../../../functions/shared/domain/errors';
import {
  BroadcastBody,
  EnterRoomBody,
  ExitRoomBody,
  HistoryBody,
  parseJsonObject,
  resolveNickname,
  SendMessageBody,
  serverEvent,
  validate,
} from '../../../functions/shared/domain/protocol';
import { HISTORY_MAX_LIMIT, MAX_MESSAGE_BYTES } from '../../../functions/shared/domain/rules';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The error `fn` throws (fails the test when it throws nothing). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

const enter = (fields: Record<string, unknown>) =>
  validate(EnterRoomBody, { action: 'enterroom', roomId: '1', nickname: 'Mikki', ...fields });
const send = (fields: Record<string, unknown>) =>
  validate(SendMessageBody, { action: 'sendmessage', roomId: '1', message: 'Hei', ...fields });

describe('parseJsonObject', () => {
  it.each([
    ['an undefined body', undefined],
    ['a null body', null],
    ['an empty body', ''],
  ])('rejects %s as a bad request', (_name, body) => {
    expect(thrown(() => parseJsonObject(body))).toBeInstanceOf(BadRequestError);
  });

  it.each([
    ['text that is not JSON', 'hello'],
    ['truncated JSON', '{"action":"enterroom"'],
    ['a JSON array', '[1,2]'],
    ['a JSON string', '"enterroom"'],
    ['a JSON number', '42'],
    ['JSON null', 'null'],
  ])('rejects %s as a bad request', (_name, body) => {
    const error = thrown(() => parseJsonObject(body));

    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).code).toBe('bad_request');
  });

  it('returns the parsed object of a JSON object frame', () => {
    expect(parseJsonObject('{"action":"exitroom","roomId":"1"}')).toEqual({
      action: 'exitroom',
      roomId: '1',
    });
  });
});

describe('validating enterroom', () => {
  it('accepts a room id and nickname', () => {
    expect(enter({})).toEqual({ action: 'enterroom', roomId: '1', nickname: 'Mikki' });
  });

  it('accepts a frame without a nickname (the sign-in name may stand in)', () => {
    expect(validate(EnterRoomBody, { action: 'enterroom', roomId: '1' })).toEqual({
      action: 'enterroom',
      roomId: '1',
    });
  });

  it.each([0, 1, 42, Number.MAX_SAFE_INTEGER])('accepts since %p, the last seq the client saw', (since) => {
    expect(enter({ since }).since).toBe(since);
  });

  it.each([
    ['negative', -1, 'since must be at least 0'],
    ['fractional', 1.5, 'since must be an integer'],
    ['a string', '3', 'since must be an integer'],
    ['null', null, 'since must be an integer'],
    ['beyond the safe integers', 2 ** 53, 'since must be an integer'],
  ])('rejects a since that is %s as bad_request, saying why', (_what, since, message) => {
    const error = thrown(() => enter({ since }));

    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as Error).message).toBe(message);
  });

  it.each([
    ['a Cyrillic М among Latin letters', '\u041Cikki', 'nickname must not mix letters of different scripts'],
    ['a combining grapheme joiner', 'Mikki\u034F', 'nickname must not contain invisible characters'],
    ['a key that grows past its limit', '\uFDFA'.repeat(32), 'nickname is too long'],
  ])('rejects a nickname with %s, naming the rule', (_what, nickname, message) => {
    expect((thrown(() => enter({ nickname })) as Error).message).toBe(message);
  });

  it('names a missing field as required', () => {
    const error = thrown(() => validate(EnterRoomBody, { action: 'enterroom', nickname: 'Mikki' }));

    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as Error).message).toBe('roomId is required');
  });

  it.each([
    ['roomId', 1],
    ['roomId', null],
    ['nickname', ['Mikki']],
    ['nickname', { name: 'Mikki' }],
  ])('rejects a %s of the wrong type (%p)', (field, value) => {
    const error = thrown(() => enter({ [field]: value }));

    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as Error).message).toContain(field);
  });

  it.each([
    ['plain', 'Mikki'],
    ['with single spaces', 'Hessu Hopo'],
    ['with an apostrophe, dot, dash and underscore', "O'Neil-Jr._2"],
    ['Finnish letters', 'Åke Ärjä'],
    ['non-Latin letters', 'Микки'],
    ['32 characters, some two bytes long', 'ä'.repeat(32)],
  ])('accepts a nickname that is %s', (_name, nickname) => {
    expect(enter({ nickname }).nickname).toBe(nickname);
  });

  it('normalizes a decomposed nickname to NFC', () => {
    expect(enter({ nickname: 'Re\u0301mi' }).nickname).toBe('R\u00e9mi');
  });

  it.each([
    ['empty', ''],
    ['33 characters long', 'a'.repeat(33)],
    ['only a space', ' '],
    ['leading a space', ' Mikki'],
    ['trailing a space', 'Mikki '],
    ['containing two spaces in a row', 'Mikki  Hiiri'],
    ['containing a tab', 'Mikki\tHiiri'],
    ['containing a newline', 'Mikki\nHiiri'],
    ['containing a NUL', 'Mikki\u0000'],
    ['containing a BEL control character', 'Mik\u0007ki'],
    ['containing a right-to-left override (U+202E)', 'Mikki\u202Eikkim'],
    ['containing a left-to-right embedding (U+202A)', '\u202AMikki'],
    ['containing a zero-width space (U+200B)', 'Mik\u200Bki'],
    ['containing a zero-width joiner (U+200D)', 'Mik\u200Dki'],
    ['containing a byte-order mark (U+FEFF)', '\uFEFFMikki'],
    ['containing an emoji', 'Mikki 🐭'],
    ['containing markup', '<b>Mikki</b>'],
  ])('rejects a nickname %s', (_name, nickname) => {
    const error = thrown(() => enter({ nickname }));

    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as Error).message).toMatch(/nickname/);
  });

  it.each([
    ['one character', '1'],
    ['64 characters', 'a'.repeat(64)],
    ['letters, digits, dash and underscore', 'Ankka-lampi_42'],
  ])('accepts a room id of %s', (_name, roomId) => {
    expect(enter({ roomId }).roomId).toBe(roomId);
  });

  it.each([
    ['empty', ''],
    ['65 characters long', 'a'.repeat(65)],
    ['containing a colon (the FIFO group separator)', 'room:1'],
    ['containing a space', 'room 1'],
    ['containing a slash', 'a/b'],
    ['containing non-ASCII letters', 'höyry'],
    ['containing a zero-width space', '1\u200B'],
  ])('rejects a room id %s', (_name, roomId) => {
    const error = thrown(() => enter({ roomId }));

    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as Error).message).toMatch(/roomId/);
  });

  it('rejects a frame whose action is another route', () => {
    expect(
      thrown(() => validate(EnterRoomBody, { action: 'exitroom', roomId: '1', nickname: 'M' })),
    ).toBeInstanceOf(BadRequestError);
  });

  it('does not read fields hidden behind a __proto__ key', () => {
    const frame = parseJsonObject('{"action":"enterroom","__proto__":{"roomId":"1","nickname":"Mikki"}}');

    const error = thrown(() => validate(EnterRoomBody, frame));

    expect((error as Error).message).toBe('roomId is required');
  });

  it('drops a __proto__ key without touching any prototype', () => {
    const frame = parseJsonObject(
      '{"action":"enterroom","roomId":"1","nickname":"Mikki","__proto__":{"polluted":true}}',
    );

    const request = validate(EnterRoomBody, frame);

    expect(Object.keys(request).sort()).toEqual(['action', 'nickname', 'roomId']);
    expect(Object.getPrototypeOf(request)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('validating exitroom', () => {
  it('accepts a frame without roomId', () => {
    expect(validate(ExitRoomBody, { action: 'exitroom' })).toEqual({ action: 'exitroom' });
  });

  it('rejects an invalid roomId when one is given', () => {
    expect(thrown(() => validate(ExitRoomBody, { action: 'exitroom', roomId: 'a b' }))).toBeInstanceOf(
      BadRequestError,
    );
  });
});

describe('validating sendmessage', () => {
  it('keeps the message verbatim, surrounding whitespace included', () => {
    expect(send({ message: '  Hei kaikki!\n' }).message).toBe('  Hei kaikki!\n');
  });

  it('accepts a frame without roomId', () => {
    expect(validate(SendMessageBody, { action: 'sendmessage', message: 'Hei' })).toEqual({
      action: 'sendmessage',
      message: 'Hei',
    });
  });

  it('drops a client-supplied `from` so the sender cannot be spoofed', () => {
    expect(send({ from: 'Roope' })).not.toHaveProperty('from');
  });

  it.each([
    ['empty', ''],
    ['only whitespace', ' \t\n '],
  ])('rejects a message that is %s', (_name, message) => {
    const error = thrown(() => send({ message }));

    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as Error).message).toBe('message must not be empty');
  });

  it('names a missing message as required', () => {
    expect((thrown(() => validate(SendMessageBody, { action: 'sendmessage' })) as Error).message).toBe(
      'message is required',
    );
  });

  it.each([
    ['a number', 42],
    ['an object', { text: 'Hei' }],
    ['null', null],
  ])('rejects a message that is %s', (_name, message) => {
    expect(thrown(() => send({ message }))).toBeInstanceOf(BadRequestError);
  });

  it(`accepts a message of exactly ${MAX_MESSAGE_BYTES} bytes`, () => {
    expect(send({ message: 'a'.repeat(MAX_MESSAGE_BYTES) }).message).toHaveLength(MAX_MESSAGE_BYTES);
  });

  it(`rejects a message of ${MAX_MESSAGE_BYTES + 1} bytes as message_too_long`, () => {
    const error = thrown(() => send({ message: 'a'.repeat(MAX_MESSAGE_BYTES + 1) }));

    expect(error).toBeInstanceOf(MessageTooLongError);
    expect((error as MessageTooLongError).code).toBe('message_too_long');
  });

  it('measures the limit in UTF-8 bytes, not characters', () => {
    const message = '€'.repeat(Math.floor(MAX_MESSAGE_BYTES / 3) + 1);

    expect(message.length).toBeLessThan(MAX_MESSAGE_BYTES);
    expect(thrown(() => send({ message }))).toBeInstanceOf(MessageTooLongError);
  });
});

describe('validating broadcast', () => {
  it('accepts a message', () => {
    expect(validate(BroadcastBody, { action: 'broadcast', message: 'Huoltokatko klo 18' })).toEqual({
      action: 'broadcast',
      message: 'Huoltokatko klo 18',
    });
  });

  it('applies the same size limit as room messages', () => {
    expect(
      thrown(() =>
        validate(BroadcastBody, { action: 'broadcast', message: 'x'.repeat(MAX_MESSAGE_BYTES + 1) }),
      ),
    ).toBeInstanceOf(MessageTooLongError);
  });
});

describe('validating history', () => {
  const history = (fields: Record<string, unknown>) =>
    validate(HistoryBody, { action: 'history', roomId: '1', ...fields });

  it('accepts a room id alone (the newest page)', () => {
    expect(history({})).toEqual({ action: 'history', roomId: '1' });
  });

  it(`accepts before from 1 and a limit of 1-${HISTORY_MAX_LIMIT}`, () => {
    expect(history({ before: 1, limit: 1 })).toMatchObject({ before: 1, limit: 1 });
    expect(history({ before: 120, limit: HISTORY_MAX_LIMIT })).toMatchObject({ limit: HISTORY_MAX_LIMIT });
  });

  it('names a missing room id as required', () => {
    expect((thrown(() => validate(HistoryBody, { action: 'history' })) as Error).message).toBe(
      'roomId is required',
    );
  });

  it.each([
    ['before 0', { before: 0 }, 'before must be at least 1'],
    ['a negative before', { before: -5 }, 'before must be at least 1'],
    ['a fractional before', { before: 2.5 }, 'before must be an integer'],
    ['a string before', { before: '10' }, 'before must be an integer'],
    ['limit 0', { limit: 0 }, `limit must be 1-${HISTORY_MAX_LIMIT}`],
    [
      `limit ${HISTORY_MAX_LIMIT + 1}`,
      { limit: HISTORY_MAX_LIMIT + 1 },
      `limit must be 1-${HISTORY_MAX_LIMIT}`,
    ],
    ['a fractional limit', { limit: 2.5 }, 'limit must be an integer'],
    ['a string limit', { limit: '5' }, 'limit must be an integer'],
    ['an invalid room id', { roomId: 'a b' }, expect.stringMatching(/^roomId must be/)],
  ])('rejects %s as bad_request, saying why', (_what, fields, message) => {
    const error = thrown(() => history(fields));

    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as Error).message).toEqual(message);
  });
});

describe('resolveNickname', () => {
  it('uses the nickname the frame gives, over the sign-in name', () => {
    expect(resolveNickname('Mikki', 'Michael Mouse')).toBe('Mikki');
  });

  it('uses the sign-in name, normalised to NFC, when the frame gives none', () => {
    expect(resolveNickname(undefined, 'Re\u0301mi')).toBe('R\u00e9mi');
  });

  it('answers nickname is required when there is neither', () => {
    const error = thrown(() => resolveNickname(undefined, undefined));

    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as Error).message).toBe('nickname is required');
  });

  it('answers why a sign-in name breaks the rules, asking for a nickname', () => {
    const error = thrown(() => resolveNickname(undefined, 'Mikki 🐭'));

    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as Error).message).toBe(
      "nickname is required: your sign-in name cannot be used (nickname may contain letters, digits, single spaces and _ . ' - only)",
    );
  });
});

describe('serverEvent', () => {
  it('gives every event a unique UUID id and an ISO-8601 time', () => {
    const a = serverEvent({ type: 'exited', roomId: '1', seq: 3 });
    const b = serverEvent({ type: 'exited', roomId: '1', seq: 3 });

    expect(a.id).toMatch(UUID);
    expect(a.id).not.toBe(b.id);
    expect(new Date(a.at).toISOString()).toBe(a.at);
  });

  it('keeps an id and time it is given', () => {
    expect(
      serverEvent({ type: 'exited', roomId: '1', seq: 3 }, { id: 'e1', at: '2030-01-01T00:00:00.000Z' }),
    ).toEqual({
      type: 'exited',
      roomId: '1',
      seq: 3,
      id: 'e1',
      at: '2030-01-01T00:00:00.000Z',
    });
  });
});
