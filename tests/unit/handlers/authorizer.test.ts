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

  it('grants no admin role when ADMIN_AUTH_TOKEN is empty', async () => {
    const { handler } = load({ CHAT_AUTH_TOKEN: CHAT, ADMIN_AUTH_TOKEN: '' });

    const result = await handler(authorizerEvent(''));

    expect(result.policyDocument.Statement[0]).toMatchObject({ Effect: 'Deny' });
  });

  it('never logs the presented token', async () => {
    const { handler } = load({ CHAT_AUTH_TOKEN: CHAT, ADMIN_AUTH_TOKEN: ADMIN });

    await handler(authorizerEvent(CHAT));
    await handler(authorizerEvent('guess-SECRET-guess'));

    expect(logs.entries().map((e) => e.message)).toEqual(['allow', 'deny']);
    expect(logs.text()).not.toContain(CHAT);
    expect(logs.text()).not.toContain('SECRET');
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
