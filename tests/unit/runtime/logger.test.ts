import {
  createLogger,
  isColdStart,
  logThreshold,
  redact,
  redactText,
} from '../../../functions/shared/runtime/logger';

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
      level: 'INFO',
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

    expect(entries()[0]).toMatchObject({ level: 'WARN', route: 'r', connectionId: 'c1=' });
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

      expect(entries().map((e) => e.level)).toEqual(['WARN', 'ERROR']);
    } finally {
      process.env.LOG_LEVEL = previous;
    }
  });

  it('keeps the standard keys when a field has the same name', () => {
    const { log, entries } = logger();

    log.info('real', { level: 'DEBUG', message: 'fake', service: 'other', timestamp: 'never' });

    expect(entries()[0]).toMatchObject({ level: 'INFO', message: 'real', service: 'chat-test' });
    expect(Date.parse(String(entries()[0]?.timestamp))).not.toBeNaN();
  });

  it('adds the Lambda context to every later line of the logger and of its children', () => {
    const { log, entries } = logger();
    const child = log.child({ route: 'r' });

    log.addContext({
      functionName: 'chat-Fanout-1',
      memoryLimitInMB: '1769',
      invokedFunctionArn: 'arn:aws:lambda:eu-north-1:123456789012:function:chat-Fanout-1',
      awsRequestId: 'req-a',
    });
    child.info('one');

    expect(entries()[0]).toMatchObject({
      route: 'r',
      cold_start: expect.any(Boolean),
      function_name: 'chat-Fanout-1',
      function_memory_size: 1769,
      function_arn: 'arn:aws:lambda:eu-north-1:123456789012:function:chat-Fanout-1',
      function_request_id: 'req-a',
    });
  });

  it('logs the X-Ray trace id of the invocation when Lambda sets one', () => {
    const { log, entries } = logger();
    process.env._X_AMZN_TRACE_ID =
      'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';
    try {
      log.info('traced');
    } finally {
      delete process.env._X_AMZN_TRACE_ID;
    }
    log.info('untraced');

    expect(entries()[0]).toMatchObject({ xray_trace_id: '1-5759e988-bd862e3fe1be46a994272793' });
    expect(entries()[1]).not.toHaveProperty('xray_trace_id');
  });

  it('never prints a token nested far below the top level', () => {
    const { log, lines } = logger();
    let deep: Record<string, unknown> = {
      url: 'wss://x.example/dev?Auth=tok-11-SECRET',
      token: 'tok-12-SECRET',
      list: ['Bearer tok-13-SECRET'],
    };
    for (let i = 0; i < 20; i++) deep = { [`level${i}`]: deep };

    log.info('deep', { deep });

    expect(lines.join('\n')).not.toMatch(/SECRET/);
    expect(lines.join('\n')).toContain('Auth=[redacted]');
  });

  it('never prints a token under a key named token, Token or tokens', () => {
    const { log, lines } = logger();

    log.info('keys', { token: 'tok-14-SECRET', Token: 'tok-15-SECRET', tokens: ['tok-16-SECRET'] });

    expect(lines.join('\n')).not.toMatch(/SECRET/);
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

describe('logThreshold', () => {
  it('takes the level Lambda sets from LoggingConfig before LOG_LEVEL', () => {
    expect(logThreshold({ AWS_LAMBDA_LOG_LEVEL: 'ERROR', LOG_LEVEL: 'debug' })).toBe(
      logThreshold({ LOG_LEVEL: 'error' }),
    );
  });

  it('falls back to LOG_LEVEL, then INFO, and reads TRACE and FATAL as Lambda names them', () => {
    expect(logThreshold({ LOG_LEVEL: 'warn' })).toBe(logThreshold({ AWS_LAMBDA_LOG_LEVEL: 'WARN' }));
    expect(logThreshold({})).toBe(logThreshold({ LOG_LEVEL: 'INFO' }));
    expect(logThreshold({ LOG_LEVEL: 'nonsense' })).toBe(logThreshold({}));
    expect(logThreshold({ AWS_LAMBDA_LOG_LEVEL: 'TRACE' })).toBeLessThan(
      logThreshold({ LOG_LEVEL: 'DEBUG' }),
    );
    expect(logThreshold({ AWS_LAMBDA_LOG_LEVEL: 'FATAL' })).toBeGreaterThan(
      logThreshold({ LOG_LEVEL: 'ERROR' }),
    );
  });
});

describe('isColdStart', () => {
  it('is true for the sandbox’s first request only, however often that request asks', () => {
    jest.isolateModules(() => {
      const { isColdStart: fresh } = jest.requireActual<
        typeof import('../../../functions/shared/runtime/logger')
      >('../../../functions/shared/runtime/logger');
      expect([fresh('a'), fresh('a'), fresh('b'), fresh('a')]).toEqual([true, true, false, true]);
    });
    expect(typeof isColdStart('x')).toBe('boolean');
  });
});

describe('redactText', () => {
  it.each([
    ['wss://x/dev?Auth=abc&x=1', 'wss://x/dev?Auth=[redacted]&x=1'],
    ['https://x/cb?token=abc', 'https://x/cb?token=[redacted]'],
    ['https://x/cb#a?id_token=abc', 'https://x/cb#a?id_token=[redacted]'],
    ['Authorization: Bearer abc.def', 'Authorization: Bearer [redacted]'],
    ['got eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-nature here', 'got [redacted-jwt] here'],
    ['nothing secret', 'nothing secret'],
  ])('redacts %s', (text, expected) => {
    expect(redactText(text)).toBe(expected);
  });
});

describe('redact', () => {
  it('walks cycles without hanging and prints them as [circular]', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;

    expect(redact(a)).toEqual({ name: 'a', self: '[circular]' });
  });

  it('prints dates as their ISO string and an error’s cause', () => {
    const error = new Error('outer', { cause: new Error('inner ?Auth=tok-17-SECRET') });

    expect(redact({ at: new Date(0) })).toEqual({ at: '1970-01-01T00:00:00.000Z' });
    expect(JSON.stringify(redact(error))).toContain('inner ?Auth=[redacted]');
  });

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
