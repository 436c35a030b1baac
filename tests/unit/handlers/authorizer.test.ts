/** functions/authorizer/handler.ts: needs no AWS service, so it is tested here with its real module. */
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { ConfigError } from '../../../functions/shared/runtime/config';
import { captureStdout } from '../../support/capture-logs';
import { loadHandler, withEnv } from '../../support/load-handler';
import { authorizerEvent } from '../../support/ws-events';

type AuthorizerModule = {
  handler: (event: APIGatewayRequestAuthorizerEvent) => Promise<APIGatewayAuthorizerResult>;
};

const CHAT = 'chat-token-0123456789abcdef';
const ADMIN = 'admin-token-0123456789abcdef';

function load(env: Record<string, string | undefined>) {
  return withEnv(env, () => loadHandler<AuthorizerModule>('authorizer'));
}

describe('authorizer handler', () => {
  let logs: ReturnType<typeof captureStdout>;

  beforeEach(() => {
    logs = captureStdout();
  });

  afterEach(() => {
    logs.restore();
  });

  it('allows the chat token with the user role in the context', async () => {
    const { handler } = load({ CHAT_AUTH_TOKEN: CHAT, ADMIN_AUTH_TOKEN: ADMIN });
    const event = authorizerEvent(CHAT);

    const result = await handler(event);

    expect(result).toEqual({
      principalId: 'user',
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn }],
      },
      context: { role: 'user' },
    });
  });

  it('allows the admin token with the admin role in the context', async () => {
    const { handler } = load({ CHAT_AUTH_TOKEN: CHAT, ADMIN_AUTH_TOKEN: ADMIN });

    const result = await handler(authorizerEvent(ADMIN));

    expect(result.policyDocument.Statement[0]).toMatchObject({ Effect: 'Allow' });
    expect(result.context).toEqual({ role: 'admin' });
    expect(result.principalId).toBe('admin');
  });

  it.each([
    ['a wrong token', 'wrong-token'],
    ['an empty token', ''],
    ['no Auth parameter', undefined],
  ])('denies %s, with no role in the context', async (_name, token) => {
    const { handler } = load({ CHAT_AUTH_TOKEN: CHAT, ADMIN_AUTH_TOKEN: ADMIN });

    const result = await handler(authorizerEvent(token));

    expect(result.policyDocument.Statement[0]).toMatchObject({ Effect: 'Deny' });
    expect(result.context).toBeUndefined();
  });

  it.each([
    ['empty', ''],
    ['"none"', 'none'],
    ['a space (what `sam deploy --guided` used to accept for "no admins")', ' '],
  ])('grants no admin role when ADMIN_AUTH_TOKEN is %s, not even to ?Auth=%%20', async (_name, value) => {
    const { handler } = load({ CHAT_AUTH_TOKEN: CHAT, ADMIN_AUTH_TOKEN: value });

    for (const presented of ['', ' ', 'none']) {
      const result = await handler(authorizerEvent(presented));

      expect(result.policyDocument.Statement[0]).toMatchObject({ Effect: 'Deny' });
    }
    expect((await handler(authorizerEvent(CHAT))).context).toEqual({ role: 'user' });
  });

  it('accepts the tokens with the whitespace a pasted parameter may carry trimmed off', async () => {
    const { handler } = load({ CHAT_AUTH_TOKEN: ` ${CHAT}\n`, ADMIN_AUTH_TOKEN: `${ADMIN} ` });

    expect((await handler(authorizerEvent(ADMIN))).context).toEqual({ role: 'admin' });
  });

  it('logs why it denied, never the token', async () => {
    const { handler } = load({ CHAT_AUTH_TOKEN: CHAT, ADMIN_AUTH_TOKEN: ADMIN });

    await handler(authorizerEvent('guess-SECRET-guess'));

    expect(logs.entries().at(-1)).toMatchObject({ message: 'deny', mode: 'token', reason: 'wrong_token' });
  });

  it('never logs the presented token', async () => {
    const { handler } = load({ CHAT_AUTH_TOKEN: CHAT, ADMIN_AUTH_TOKEN: ADMIN });

    await handler(authorizerEvent(CHAT));
    await handler(authorizerEvent('guess-SECRET-guess'));

    expect(logs.entries().map((e) => e.message)).toEqual(['allow', 'deny']);
    expect(logs.text()).not.toContain(CHAT);
    expect(logs.text()).not.toContain('SECRET');
  });

  it('fails its cold start with a ConfigError naming ADMIN_AUTH_TOKEN when it is too short', () => {
    expect(() => load({ CHAT_AUTH_TOKEN: CHAT, ADMIN_AUTH_TOKEN: 'short' })).toThrow(/ADMIN_AUTH_TOKEN/);
  });

  it('fails the connect (500) and logs why when the tokens cannot be read from SSM, then tries again', async () => {
    // The SDK reads these when the client is made (after the cold start), so they stay set throughout.
    const sdkEnv = {
      // Nothing listens there: every request fails at once.
      AWS_ENDPOINT_URL_SSM: 'http://127.0.0.1:9',
      AWS_REGION: 'eu-north-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_MAX_ATTEMPTS: '1',
    };
    const previous = Object.fromEntries(Object.keys(sdkEnv).map((k) => [k, process.env[k]]));
    Object.assign(process.env, sdkEnv);
    try {
      const { handler } = load({
        CHAT_AUTH_TOKEN: undefined,
        ADMIN_AUTH_TOKEN: undefined,
        TOKEN_SOURCE: 'ssm',
        TOKEN_SOURCE_NAME: '/chat',
      });

      await expect(handler(authorizerEvent(CHAT))).rejects.toThrow(/ECONNREFUSED|connect/i);
      await expect(handler(authorizerEvent(CHAT))).rejects.toThrow(/ECONNREFUSED|connect/i);

      const failures = logs.entries().filter((e) => e.message === 'authenticator unavailable');
      expect(failures).toHaveLength(2);
      expect(failures[0]).toMatchObject({ level: 'ERROR', route: '$connect' });
    } finally {
      for (const [k, v] of Object.entries(previous)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('fails its cold start with a ConfigError naming CHAT_AUTH_TOKEN when it is missing', () => {
    let error: unknown;
    try {
      load({ CHAT_AUTH_TOKEN: undefined, ADMIN_AUTH_TOKEN: ADMIN });
    } catch (e) {
      error = e;
    }

    // The module loaded in its own registry, so compare by name rather than class identity.
    expect(error).toMatchObject({
      name: ConfigError.name,
      message: expect.stringContaining('CHAT_AUTH_TOKEN'),
    });
  });
});
