import { reconnectDelay } from '../../web/src/backoff';
import {
  checkMessage,
  checkNickname,
  chooseEndpoint,
  foreignEndpointWarning,
  parseServerEvent,
  socketUrl,
} from '../../web/src/protocol';

describe('parseServerEvent', () => {
  const base = { id: 'e1', at: '2026-11-25T15:00:00.000Z' };

  it('accepts every event type of the protocol', () => {
    const events = [
      { type: 'entered', roomId: '1', seq: 1, nickname: 'Mikki', members: ['Mikki'], memberCount: 1 },
      {
        type: 'entered',
        roomId: '1',
        seq: 9,
        nickname: 'Mikki',
        members: ['Mikki'],
        memberCount: 1,
        resumed: false,
      },
      { type: 'joined', roomId: '1', seq: 2, nickname: 'Aku' },
      { type: 'message', roomId: '1', seq: 3, from: 'Aku', fromId: 'f1', message: 'Moi' },
      { type: 'exited', roomId: '1', seq: 4 },
      { type: 'left', roomId: '1', seq: 4, nickname: 'Aku', reason: 'gone' },
      {
        type: 'history',
        roomId: '1',
        more: true,
        events: [
          { type: 'message', roomId: '1', seq: 3, from: 'Aku', fromId: 'f1', message: 'Moi', ...base },
        ],
      },
      { type: 'history', roomId: '1', more: false, events: [] },
      { type: 'broadcast', from: 'admin', message: 'Huolto' },
      { type: 'error', code: 'bad_request', message: 'Nope' },
      { type: 'error', code: 'forbidden', message: 'Nope', action: 'broadcast' },
    ];
    for (const event of events) {
      expect(parseServerEvent(JSON.stringify({ ...event, ...base }))).toEqual({ ...event, ...base });
    }
  });

  it.each([
    ['not JSON', 'nope'],
    ['an array', '[]'],
    ['an unknown type', JSON.stringify({ type: 'typing', id: 'e', at: 'x' })],
    ['no id', JSON.stringify({ type: 'exited', roomId: '1', seq: 1, at: 'x' })],
    [
      'a room event without its seq',
      JSON.stringify({ type: 'joined', id: 'e', at: 'x', roomId: '1', nickname: 'a' }),
    ],
    [
      'a seq that is not a positive integer',
      JSON.stringify({ type: 'exited', id: 'e', at: 'x', roomId: '1', seq: 1.5 }),
    ],
    [
      'a history page holding something other than room events',
      JSON.stringify({
        type: 'history',
        id: 'e',
        at: 'x',
        roomId: '1',
        more: false,
        events: [{ type: 'broadcast' }],
      }),
    ],
    [
      'a wrong field type',
      JSON.stringify({ type: 'message', id: 'e', at: 'x', roomId: 1, seq: 1, from: 'a', message: 'b' }),
    ],
    [
      'an unknown leave reason',
      JSON.stringify({ type: 'left', id: 'e', at: 'x', roomId: '1', seq: 1, nickname: 'a', reason: 'x' }),
    ],
    [
      'members that are not strings',
      JSON.stringify({ type: 'entered', id: 'e', at: 'x', roomId: '1', seq: 1, nickname: 'a', members: [1] }),
    ],
  ])('ignores %s', (_name, frame) => {
    expect(parseServerEvent(frame)).toBeNull();
  });

  it('ignores binary frames', () => {
    expect(parseServerEvent(new ArrayBuffer(4))).toBeNull();
  });
});

describe('input checks match the server rules', () => {
  it('accepts the nicknames of the reference scenario and refuses markup', () => {
    expect(checkNickname('Mikki')).toBeNull();
    expect(checkNickname('Hessu Hopo')).toBeNull();
    expect(checkNickname('<b>')).not.toBeNull();
    expect(checkNickname('a'.repeat(33))).not.toBeNull();
  });

  it('counts message size in UTF-8 bytes', () => {
    expect(checkMessage('€'.repeat(1365))).toBeNull(); // 4095 bytes
    expect(checkMessage('€'.repeat(1366))).toMatch(/4096 bytes/);
  });
});

describe('socketUrl', () => {
  it('puts the token in the Auth query parameter and keeps the stage path', () => {
    expect(socketUrl('wss://abc.execute-api.eu-north-1.amazonaws.com/dev', 't&k=1')).toBe(
      'wss://abc.execute-api.eu-north-1.amazonaws.com/dev?Auth=t%26k%3D1',
    );
  });

  it('refuses anything but ws:// and wss://', () => {
    expect(() => socketUrl('https://example.test', 't')).toThrow(/ws:\/\/ or wss:\/\//);
    expect(() => socketUrl('not a url', 't')).toThrow(/endpoint must be a URL/);
  });
});

describe('chooseEndpoint', () => {
  const page = { protocol: 'http:', host: '127.0.0.1:3001', search: '' };
  const query = (endpoint: string) => `?endpoint=${encodeURIComponent(endpoint)}`;

  it('takes the built-in endpoint whatever ?endpoint= says', () => {
    expect(chooseEndpoint({ ...page, search: query('wss://evil.example/steal') }, 'wss://built/dev')).toEqual(
      {
        endpoint: 'wss://built/dev',
        source: 'built',
      },
    );
  });

  it('uses ?endpoint= when none is built in, flagging a host other than the page’s', () => {
    expect(chooseEndpoint({ ...page, search: query('wss://evil.example/dev') }, '')).toEqual({
      endpoint: 'wss://evil.example/dev',
      source: 'query',
      foreignHost: 'evil.example',
    });
    expect(chooseEndpoint({ ...page, search: query('ws://127.0.0.1:3001') }, '')).toEqual({
      endpoint: 'ws://127.0.0.1:3001',
      source: 'query',
    });
    expect(chooseEndpoint({ ...page, search: query('not a url') }, '').foreignHost).toBe('not a url');
  });

  it('else derives the endpoint from the page’s host, or has none for a file', () => {
    expect(chooseEndpoint(page, '')).toEqual({ endpoint: 'ws://127.0.0.1:3001', source: 'page' });
    expect(chooseEndpoint({ ...page, protocol: 'https:' }, '').endpoint).toBe('wss://127.0.0.1:3001');
    expect(chooseEndpoint({ protocol: 'file:', host: '', search: '' }, '')).toEqual({
      endpoint: '',
      source: 'none',
    });
  });

  it('words the warning with both hosts', () => {
    expect(foreignEndpointWarning('evil.example', '127.0.0.1:3001')).toMatch(
      /evil\.example.*127\.0\.0\.1:3001.*token/,
    );
  });
});

describe('reconnectDelay', () => {
  it('doubles the ceiling per attempt with half of it random, up to the cap', () => {
    const policy = { baseMs: 1000, capMs: 8000, maxAttempts: 10 };
    expect([0, 1, 2, 3, 4, 9].map((a) => reconnectDelay(a, 0, policy))).toEqual([
      500, 1000, 2000, 4000, 4000, 4000,
    ]);
    expect([0, 1, 2, 3, 4].map((a) => reconnectDelay(a, 0.999999, policy))).toEqual([
      1000, 2000, 4000, 8000, 8000,
    ]);
  });
});
