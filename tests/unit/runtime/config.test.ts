import {
  authConfig,
  ConfigError,
  fanoutConfig,
  historyConfig,
  historyConnectionsConfig,
  integer,
  queueConfig,
  rateRulesConfig,
  requiredString,
  tableConfig,
  url,
} from '../../../functions/shared/runtime/config';

const CHAT = 'chat-token-0123456789';
const ADMIN = 'admin-token-0123456789';

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

describe('requiredString', () => {
  it('returns the trimmed value', () => {
    expect(requiredString('TABLE_NAME', { TABLE_NAME: ' chat ' })).toBe('chat');
  });

  it.each([
    ['missing', {}],
    ['empty', { TABLE_NAME: '' }],
    ['blank', { TABLE_NAME: '   ' }],
  ])('throws a ConfigError naming the variable when it is %s', (_name, env) => {
    const error = thrown(() => requiredString('TABLE_NAME', env));

    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('TABLE_NAME');
  });
});

describe('integer', () => {
  it('falls back to the default when unset', () => {
    expect(integer('N', 7, 1, 10, {})).toBe(7);
  });

  it('parses a value in range', () => {
    expect(integer('N', 7, 1, 10, { N: ' 10 ' })).toBe(10);
  });

  it.each([['abc'], ['1.5'], ['0'], ['11'], ['-3']])(
    'rejects %p with a ConfigError naming the variable',
    (raw) => {
      const error = thrown(() => integer('FANOUT_CONCURRENCY', 7, 1, 10, { FANOUT_CONCURRENCY: raw }));

      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toContain('FANOUT_CONCURRENCY');
      expect(error.message).toContain(raw);
    },
  );
});

describe('url', () => {
  it('returns the URL without a trailing slash', () => {
    expect(
      url('CONNECTIONS_URL', { CONNECTIONS_URL: 'https://abc.execute-api.eu-north-1.amazonaws.com/dev/' }),
    ).toBe('https://abc.execute-api.eu-north-1.amazonaws.com/dev');
  });

  it('rejects a value that is not a URL with a ConfigError naming the variable', () => {
    const error = thrown(() => url('QUEUE_URL', { QUEUE_URL: 'not a url' }));

    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('QUEUE_URL');
  });
});

describe('function configurations', () => {
  it('requires TABLE_NAME for the table', () => {
    expect(thrown(() => tableConfig({})).message).toContain('TABLE_NAME');
  });

  it('requires a QUEUE_URL URL for the queue', () => {
    expect(thrown(() => queueConfig({ QUEUE_URL: 'chat.fifo' })).message).toContain('QUEUE_URL');
    expect(queueConfig({ QUEUE_URL: 'https://sqs.eu-north-1.amazonaws.com/1/q.fifo' })).toEqual({
      queueUrl: 'https://sqs.eu-north-1.amazonaws.com/1/q.fifo',
    });
  });

  const DLQ = 'https://sqs.eu-north-1.amazonaws.com/1/q-dlq.fifo';

  it('requires CONNECTIONS_URL, DEAD_LETTER_QUEUE_URL and AWS_REGION for the fanout and defaults the rest', () => {
    const region = { AWS_REGION: 'eu-north-1' };
    expect(thrown(() => fanoutConfig({ ...region, DEAD_LETTER_QUEUE_URL: DLQ })).message).toContain(
      'CONNECTIONS_URL',
    );
    expect(
      thrown(() => fanoutConfig({ ...region, CONNECTIONS_URL: 'https://x.example/dev' })).message,
    ).toContain('DEAD_LETTER_QUEUE_URL');
    expect(
      thrown(() => fanoutConfig({ CONNECTIONS_URL: 'https://x.example/dev', DEAD_LETTER_QUEUE_URL: DLQ }))
        .message,
    ).toContain('AWS_REGION');
    expect(
      fanoutConfig({ ...region, CONNECTIONS_URL: 'https://x.example/dev', DEAD_LETTER_QUEUE_URL: DLQ }),
    ).toEqual({
      connectionsUrl: 'https://x.example/dev',
      concurrency: 64,
      deadLetterQueueUrl: DLQ,
      maxAttempts: 3,
      notifier: 'signed',
      region: 'eu-north-1',
      sliceSize: 1000,
      slices: 100,
    });
  });

  it('posts with the SDK client when FANOUT_NOTIFIER is sdk (no region needed), and takes the slicing settings', () => {
    const base = { CONNECTIONS_URL: 'https://x.example/dev', DEAD_LETTER_QUEUE_URL: DLQ };

    expect(fanoutConfig({ ...base, FANOUT_NOTIFIER: 'sdk' })).toMatchObject({ notifier: 'sdk', region: '' });
    expect(
      fanoutConfig({ ...base, AWS_REGION: 'eu-north-1', FANOUT_SLICE_SIZE: '2', FANOUT_SLICES: '3' }),
    ).toMatchObject({ sliceSize: 2, slices: 3 });
  });

  it('takes the failed attempts before parking from MAX_ATTEMPTS', () => {
    const base = {
      CONNECTIONS_URL: 'https://x.example/dev',
      DEAD_LETTER_QUEUE_URL: DLQ,
      AWS_REGION: 'eu-north-1',
    };

    expect(fanoutConfig({ ...base, MAX_ATTEMPTS: '5' }).maxAttempts).toBe(5);
  });

  it.each([
    ['FANOUT_CONCURRENCY', 'many'],
    ['FANOUT_CONCURRENCY', '0'],
    ['MAX_ATTEMPTS', '0'],
    ['MAX_ATTEMPTS', '101'],
    ['FANOUT_NOTIFIER', 'fetch'],
    ['FANOUT_SLICE_SIZE', '0'],
    ['FANOUT_SLICES', '0'],
  ])('rejects %s=%p naming the variable', (name, raw) => {
    const base = {
      CONNECTIONS_URL: 'https://x.example/dev',
      DEAD_LETTER_QUEUE_URL: DLQ,
      AWS_REGION: 'eu-north-1',
    };

    const error = thrown(() => fanoutConfig({ ...base, [name]: raw }));

    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(name);
  });

  it('defaults the rate rules: 30 messages and 20 room actions per 10 s', () => {
    expect(rateRulesConfig({})).toEqual({
      send: { limit: 30, windowSeconds: 10 },
      control: { limit: 20, windowSeconds: 10 },
    });
  });

  it('reads both limits and their shared window from the environment', () => {
    expect(
      rateRulesConfig({ SEND_RATE_LIMIT: '5', CONTROL_RATE_LIMIT: '2', RATE_WINDOW_SECONDS: '60' }),
    ).toEqual({ send: { limit: 5, windowSeconds: 60 }, control: { limit: 2, windowSeconds: 60 } });
  });

  it.each([
    ['SEND_RATE_LIMIT', '0'],
    ['CONTROL_RATE_LIMIT', 'lots'],
    ['RATE_WINDOW_SECONDS', '3601'],
  ])('rejects %s=%p naming the variable', (name, raw) => {
    const error = thrown(() => rateRulesConfig({ [name]: raw }));

    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(name);
  });

  it('keeps history 7 days by default, 1-365 days when HISTORY_RETENTION_DAYS says', () => {
    expect(historyConfig({})).toEqual({ retentionDays: 7 });
    expect(historyConfig({ HISTORY_RETENTION_DAYS: '30' })).toEqual({ retentionDays: 30 });
    expect(thrown(() => historyConfig({ HISTORY_RETENTION_DAYS: '0' })).message).toContain(
      'HISTORY_RETENTION_DAYS',
    );
    expect(thrown(() => historyConfig({ HISTORY_RETENTION_DAYS: '366' })).message).toContain(
      'HISTORY_RETENTION_DAYS',
    );
  });

  it('requires CONNECTIONS_URL for the history route', () => {
    expect(thrown(() => historyConnectionsConfig({})).message).toContain('CONNECTIONS_URL');
    expect(historyConnectionsConfig({ CONNECTIONS_URL: 'https://x.example/dev/' })).toEqual({
      connectionsUrl: 'https://x.example/dev',
    });
  });

  it('requires CHAT_AUTH_TOKEN in token mode and allows no admin token', () => {
    expect(thrown(() => authConfig({})).message).toContain('CHAT_AUTH_TOKEN');
    expect(authConfig({ CHAT_AUTH_TOKEN: CHAT })).toEqual({
      mode: 'token',
      tokens: { kind: 'environment', chatToken: CHAT, adminToken: '' },
    });
  });

  it('refuses an admin token equal to the chat token, without echoing it', () => {
    const error = thrown(() => authConfig({ CHAT_AUTH_TOKEN: CHAT, ADMIN_AUTH_TOKEN: ` ${CHAT} ` }));

    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('ADMIN_AUTH_TOKEN');
    expect(error.message).not.toContain(CHAT);
  });
});

describe('shared tokens (token mode)', () => {
  const tokensOf = (env: Record<string, string>) => {
    const config = authConfig(env);
    if (config.mode !== 'token' || config.tokens.kind !== 'environment') throw new Error('not token mode');
    return { chatToken: config.tokens.chatToken, adminToken: config.tokens.adminToken };
  };

  it('trims both tokens', () => {
    expect(tokensOf({ CHAT_AUTH_TOKEN: ` ${CHAT}\n`, ADMIN_AUTH_TOKEN: `\t${ADMIN} ` })).toEqual({
      chatToken: CHAT,
      adminToken: ADMIN,
    });
  });

  it.each([
    ['"none"', 'none'],
    ['empty', ''],
    ['a space (sam deploy --guided takes no empty secret)', ' '],
    ['spaces', '   '],
  ])('reads an ADMIN_AUTH_TOKEN that is %s as "no admins"', (_name, value) => {
    expect(tokensOf({ CHAT_AUTH_TOKEN: CHAT, ADMIN_AUTH_TOKEN: value }).adminToken).toBe('');
  });

  it.each([
    ['shorter than 16 characters', 'short-token'],
    ['15 characters and spaces around', '  0123456789abcde  '],
    ['with a space inside', 'chat token 0123456789'],
  ])('refuses a token %s, naming the variable but not the value', (_name, value) => {
    for (const env of [{ CHAT_AUTH_TOKEN: value }, { CHAT_AUTH_TOKEN: CHAT, ADMIN_AUTH_TOKEN: value }]) {
      const error = thrown(() => authConfig(env));
      const name = env.ADMIN_AUTH_TOKEN ? 'ADMIN_AUTH_TOKEN' : 'CHAT_AUTH_TOKEN';

      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toContain(name);
      expect(error.message).not.toContain(value.trim());
    }
  });

  it('refuses a chat token of "none" in token mode', () => {
    expect(thrown(() => authConfig({ CHAT_AUTH_TOKEN: 'none' })).message).toContain('CHAT_AUTH_TOKEN');
  });

  it('reads the tokens from Secrets Manager or SSM when TOKEN_SOURCE says so', () => {
    expect(authConfig({ TOKEN_SOURCE: 'secretsmanager', TOKEN_SOURCE_NAME: 'chat/tokens' })).toEqual({
      mode: 'token',
      tokens: { kind: 'secretsmanager', secretId: 'chat/tokens' },
    });
    expect(authConfig({ TOKEN_SOURCE: 'ssm', TOKEN_SOURCE_NAME: '/chat/prod/' })).toEqual({
      mode: 'token',
      tokens: { kind: 'ssm', parameterPath: '/chat/prod' },
    });
  });

  it('refuses an unknown TOKEN_SOURCE, a missing TOKEN_SOURCE_NAME and an SSM path without a leading slash', () => {
    expect(thrown(() => authConfig({ TOKEN_SOURCE: 'vault' })).message).toContain('TOKEN_SOURCE');
    expect(thrown(() => authConfig({ TOKEN_SOURCE: 'ssm' })).message).toContain('TOKEN_SOURCE_NAME');
    expect(thrown(() => authConfig({ TOKEN_SOURCE: 'ssm', TOKEN_SOURCE_NAME: 'chat' })).message).toContain(
      'TOKEN_SOURCE_NAME',
    );
  });
});

describe('jwt settings', () => {
  const ISSUER = 'https://cognito-idp.eu-north-1.amazonaws.com/eu-north-1_abc123';
  const base = { AUTH_MODE: 'jwt', JWT_ISSUER: ISSUER, JWT_AUDIENCE: 'client-1' };

  it('needs no shared token, and defaults the JWKS URI, token use and admin group (Cognito)', () => {
    expect(authConfig(base)).toEqual({
      mode: 'jwt',
      jwt: {
        issuer: ISSUER,
        audience: ['client-1'],
        jwksUri: `${ISSUER}/.well-known/jwks.json`,
        tokenUse: 'access',
        adminClaim: 'cognito:groups',
        adminValue: 'chat-admins',
      },
    });
  });

  it('takes a list of audiences, a JWKS URI, a token use and an admin claim', () => {
    const config = authConfig({
      ...base,
      JWT_AUDIENCE: ' api://chat , client-1 ',
      JWT_JWKS_URI: 'https://login.example/keys',
      JWT_TOKEN_USE: 'id',
      JWT_ADMIN_CLAIM: 'roles',
      JWT_ADMIN_VALUE: 'admin',
    });

    expect(config).toMatchObject({
      jwt: {
        audience: ['api://chat', 'client-1'],
        jwksUri: 'https://login.example/keys',
        tokenUse: 'id',
        adminClaim: 'roles',
        adminValue: 'admin',
      },
    });
  });

  it('makes nobody an admin when JWT_ADMIN_VALUE is none', () => {
    expect(authConfig({ ...base, JWT_ADMIN_VALUE: 'none' })).toMatchObject({
      jwt: { adminClaim: '', adminValue: '' },
    });
  });

  it.each([
    ['JWT_ISSUER', { JWT_ISSUER: undefined }],
    ['JWT_AUDIENCE', { JWT_AUDIENCE: ' , ' }],
    ['JWT_ISSUER', { JWT_ISSUER: 'not a url' }],
    ['JWT_JWKS_URI', { JWT_JWKS_URI: 'http://keys.example/jwks.json' }],
    ['JWT_TOKEN_USE', { JWT_TOKEN_USE: 'refresh' }],
    ['AUTH_MODE', { AUTH_MODE: 'oauth' }],
  ])('fails naming %s when it is missing or wrong', (name, change) => {
    const error = thrown(() => authConfig({ ...base, ...change }));

    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(name);
  });

  it('allows plain http only for a JWKS on loopback (the local issuer)', () => {
    expect(
      authConfig({
        ...base,
        JWT_ISSUER: 'http://127.0.0.1:3002',
        JWT_JWKS_URI: 'http://127.0.0.1:3002/jwks',
      }),
    ).toMatchObject({ jwt: { jwksUri: 'http://127.0.0.1:3002/jwks' } });
  });
});
