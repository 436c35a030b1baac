import { createLogger, redact } from '../../../functions/shared/runtime/logger';

function logger(base = {}) {
  const lines: string[] = [];
  const log = createLogger('chat-test', base, (line) => lines.push(line));
  return { log, lines, entries: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('createLogger', () => {
  it('writes one JSON object per line with level, time, service, message and fields', () => {
    const { log, lines, entries } = logger({ route: 'sendmessage' });

    log.info('ok', { connectionId: 'c1=', roomId: '1' });

    expect(lines).toHaveLength(1);
    expect(entries()[0]).toEqual({
      level: 'info',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      service: 'chat-test',
      message: 'ok',
      route: 'sendmessage',
      connectionId: 'c1=',
      roomId: '1',
    });
  });

  it('adds a child logger’s fields to every line', () => {
    const { log, entries } = logger({ route: 'r' });

    log.child({ connectionId: 'c1=' }).warn('slow');

    expect(entries()[0]).toMatchObject({ level: 'warn', route: 'r', connectionId: 'c1=' });
  });

  it('drops lines below LOG_LEVEL', () => {
    const previous = process.env.LOG_LEVEL;
    process.env.LOG_LEVEL = 'warn';
    try {
      const { log, entries } = logger();

      log.debug('d');
      log.info('i');
      log.warn('w');
      log.error('e');

      expect(entries().map((e) => e.level)).toEqual(['warn', 'error']);
    } finally {
      process.env.LOG_LEVEL = previous;
    }
  });

  it('never prints a token passed as a field, nested or not', () => {
    const { log, lines } = logger();

    log.info('allow', {
      token: 'tok-1-SECRET',
      queryStringParameters: { Auth: 'tok-2-SECRET' },
      headers: { Authorization: 'Bearer tok-3-SECRET', cookie: 'sid=tok-4-SECRET' },
      tokens: { chatToken: 'tok-5-SECRET', adminToken: 'tok-6-SECRET' },
      list: [{ password: 'tok-7-SECRET' }],
    });

    expect(lines.join('\n')).not.toMatch(/SECRET/);
  });

  it('never prints an ?Auth= query value inside strings, messages or errors', () => {
    const { log, lines } = logger();
    const error = new Error('connect failed for wss://x.example/dev?Auth=tok-8-SECRET');

    log.error('failed wss://x.example/dev?foo=1&Auth=tok-9-SECRET&bar=2', {
      url: 'wss://x.example/dev?Auth=tok-10-SECRET',
      error,
    });

    const text = lines.join('\n');
    expect(text).not.toMatch(/SECRET/);
    expect(text).toContain('Auth=[redacted]');
    expect(text).toContain('bar=2');
  });
});

describe('redact', () => {
  it('keeps values that are not secrets', () => {
    expect(redact({ roomId: '1', n: 2, ok: true, none: null })).toEqual({
      roomId: '1',
      n: 2,
      ok: true,
      none: null,
    });
  });

  it('turns an error into its name, message and stack', () => {
    const error = new TypeError('bad');

    expect(redact(error)).toEqual({
      name: 'TypeError',
      message: 'bad',
      stack: expect.stringContaining('TypeError: bad'),
    });
  });

  it('masks secret-looking keys whatever their case', () => {
    expect(redact({ AUTH: 'a', Secret: 'b', sessionToken: 'c', roomId: '1' })).toEqual({
      AUTH: '[redacted]',
      Secret: '[redacted]',
      sessionToken: '[redacted]',
      roomId: '1',
    });
  });
});
