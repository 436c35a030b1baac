/**
 * functions/authorizer/handler.ts in jwt mode, with its real module and aws-jwt-verify, against
 * a JWKS served on 127.0.0.1 by a test issuer. Every bad token of the issue is refused with a
 * Deny (API Gateway answers 403), its reason is logged, and the token never is.
 */
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { captureStdout } from '../../support/capture-logs';
import { loadHandler, withEnv } from '../../support/load-handler';
import { TEST_CLIENT_ID, TestIssuer } from '../../support/test-issuer';
import { authorizerEvent } from '../../support/ws-events';

type AuthorizerModule = {
  handler: (event: APIGatewayRequestAuthorizerEvent) => Promise<APIGatewayAuthorizerResult>;
};

let issuer: TestIssuer;
let logs: ReturnType<typeof captureStdout>;

beforeAll(async () => {
  issuer = await TestIssuer.start();
});
afterAll(() => issuer.stop());
beforeEach(() => {
  logs = captureStdout();
});
afterEach(() => logs.restore());

/** A fresh cold start (its own JWKS cache), trusting the test issuer. */
function coldStart(extra: Record<string, string> = {}) {
  return withEnv({ CHAT_AUTH_TOKEN: undefined, ADMIN_AUTH_TOKEN: undefined, ...issuer.env(extra) }, () =>
    loadHandler<AuthorizerModule>('authorizer'),
  ).handler;
}

const effectOf = (result: APIGatewayAuthorizerResult) => result.policyDocument.Statement[0]?.Effect;
const lastReason = () => logs.entries().at(-1)?.reason;

describe('authorizer in jwt mode', () => {
  it('allows a good access token, with its sub as principal and sub, display name and role in the context', async () => {
    const handler = coldStart();
    const token = await issuer.accessToken('Mikki', { preferred_username: 'Mikki Hiiri' });

    const result = await handler(authorizerEvent(token));

    expect(effectOf(result)).toBe('Allow');
    expect(result.principalId).toBe('sub-mikki');
    expect(result.context).toEqual({ role: 'user', sub: 'sub-mikki', name: 'Mikki Hiiri' });
  });

  it('grants the admin role to members of the configured group (cognito:groups chat-admins by default)', async () => {
    const handler = coldStart();
    const admin = await issuer.accessToken('Roope', { 'cognito:groups': ['chat-admins'] });
    const other = await issuer.accessToken('Aku', { 'cognito:groups': ['ducks'] });

    expect((await handler(authorizerEvent(admin))).context).toMatchObject({ role: 'admin' });
    expect((await handler(authorizerEvent(other))).context).toMatchObject({ role: 'user' });
  });

  it('reads the admin role from another provider claim when configured (Keycloak realm_access.roles)', async () => {
    const handler = coldStart({ JWT_ADMIN_CLAIM: 'realm_access.roles', JWT_ADMIN_VALUE: 'chat-admin' });
    const token = await issuer.accessToken('Hessu', { realm_access: { roles: ['chat-admin'] } });

    expect((await handler(authorizerEvent(token))).context).toMatchObject({ role: 'admin' });
  });

  it('accepts an audience in aud as well as client_id', async () => {
    const handler = coldStart({ JWT_AUDIENCE: `api://chat,${TEST_CLIENT_ID}` });
    const token = await issuer.sign({
      ...issuer.accessClaims('Aku'),
      client_id: undefined,
      aud: 'api://chat',
    });

    expect(effectOf(await handler(authorizerEvent(token)))).toBe('Allow');
  });

  it('lets one user hold several connections: each connect with the same token is allowed on its own', async () => {
    const handler = coldStart();
    const token = await issuer.accessToken('Mikki');

    const [tab1, tab2] = await Promise.all([
      handler(authorizerEvent(token)),
      handler(authorizerEvent(token)),
    ]);

    expect([effectOf(tab1), effectOf(tab2)]).toEqual(['Allow', 'Allow']);
    expect(tab1.principalId).toBe(tab2.principalId);
  });

  describe('refuses, with a Deny and the reason logged', () => {
    const now = () => Math.floor(Date.now() / 1000);
    const cases: [string, () => Promise<string> | string, string][] = [
      ['an expired token', () => issuer.accessToken('Mikki', { exp: now() - 60 }), 'expired'],
      ['a token not yet valid', () => issuer.accessToken('Mikki', { nbf: now() + 600 }), 'not_yet_valid'],
      [
        'a token from another issuer',
        () => issuer.accessToken('Mikki', { iss: 'https://evil.example' }),
        'wrong_issuer',
      ],
      [
        'a token for another client',
        () => issuer.accessToken('Mikki', { client_id: 'other-app' }),
        'wrong_audience',
      ],
      [
        'a token for another audience',
        () => issuer.sign({ ...issuer.accessClaims('Mikki'), client_id: undefined, aud: 'other-api' }),
        'wrong_audience',
      ],
      ['alg: none', () => issuer.unsignedToken(issuer.accessClaims('Mikki')), 'malformed'],
      [
        'HS256 signed with the public key as the secret',
        () => issuer.publicKeyHmacToken(issuer.accessClaims('Mikki')),
        'bad_algorithm',
      ],
      [
        'a token signed by a key the issuer never published (unknown kid)',
        async () => issuer.sign(issuer.accessClaims('Mikki'), { key: await TestIssuer.newKey() }),
        'unknown_key',
      ],
      ['a tampered payload', () => issuer.tamperedToken('Aku', { sub: 'sub-roope' }), 'bad_signature'],
      [
        'an ID token where an access token is expected',
        () =>
          issuer.sign({
            ...issuer.accessClaims('Mikki'),
            token_use: 'id',
            client_id: undefined,
            aud: TEST_CLIENT_ID,
          }),
        'wrong_token_use',
      ],
      ['a token without exp', () => issuer.accessToken('Mikki', { exp: undefined }), 'missing_claims'],
      ['a token without sub', () => issuer.accessToken('Mikki', { sub: undefined }), 'missing_claims'],
      ['a token that is not a JWT', () => 'not-a-jwt', 'malformed'],
      ['the shared chat token of token mode', () => 'local-chat-token-change-me', 'malformed'],
    ];

    it.each(cases)('%s', async (_name, mint, reason) => {
      const handler = coldStart();
      const token = await mint();

      const result = await handler(authorizerEvent(token));

      expect(effectOf(result)).toBe('Deny');
      expect(result.context).toBeUndefined();
      expect(result.principalId).toBe('anonymous');
      expect(lastReason()).toBe(reason);
      expect(logs.text()).not.toContain(token);
    });

    it('a 20 KB token, before parsing it or fetching any key', async () => {
      const handler = coldStart();
      const token = await issuer.accessToken('Mikki', { padding: 'x'.repeat(20 * 1024) });
      const fetchesBefore = issuer.jwksRequests;

      const result = await handler(authorizerEvent(token));

      expect(token.length).toBeGreaterThan(20 * 1024);
      expect(effectOf(result)).toBe('Deny');
      expect(lastReason()).toBe('too_long');
      expect(issuer.jwksRequests).toBe(fetchesBefore);
      expect(logs.text()).not.toContain(token.slice(0, 40));
    });
  });

  it('fetches the JWKS once per cold start: later connects with known keys make no network call', async () => {
    const handler = coldStart();
    const tokens = await Promise.all(['Mikki', 'Aku', 'Hessu', 'Roope'].map((u) => issuer.accessToken(u)));
    const fetchesBefore = issuer.jwksRequests;

    for (let round = 0; round < 5; round++) {
      for (const token of tokens) expect(effectOf(await handler(authorizerEvent(token)))).toBe('Allow');
    }

    expect(issuer.jwksRequests - fetchesBefore).toBe(1);
  });

  it('accepts a token signed with a newly published key without a redeploy (key rotation)', async () => {
    const handler = coldStart();
    expect(effectOf(await handler(authorizerEvent(await issuer.accessToken('Mikki'))))).toBe('Allow');
    const fetchesBefore = issuer.jwksRequests;

    await issuer.publishNewKey();
    const rotated = await issuer.accessToken('Mikki');

    expect(effectOf(await handler(authorizerEvent(rotated)))).toBe('Allow');
    expect(issuer.jwksRequests - fetchesBefore).toBe(1);
  });

  it('accepts EC keys (ES256) too', async () => {
    const handler = coldStart();
    await issuer.publishNewKey('ES256');

    expect(effectOf(await handler(authorizerEvent(await issuer.accessToken('Aku'))))).toBe('Allow');
  });

  it('refuses every token, logging an error, while the JWKS cannot be fetched', async () => {
    const handler = coldStart({ JWT_JWKS_URI: `${issuer.url}/no-such-jwks` });

    const result = await handler(authorizerEvent(await issuer.accessToken('Mikki')));

    expect(effectOf(result)).toBe('Deny');
    expect(logs.entries().at(-1)).toMatchObject({ level: 'ERROR', reason: 'keys_unavailable' });
  });

  it('expects ID tokens instead when JWT_TOKEN_USE is id', async () => {
    const handler = coldStart({ JWT_TOKEN_USE: 'id' });
    const idToken = await issuer.sign({
      ...issuer.accessClaims('Mikki'),
      token_use: 'id',
      client_id: undefined,
      aud: TEST_CLIENT_ID,
    });

    expect(effectOf(await handler(authorizerEvent(idToken)))).toBe('Allow');
    expect(effectOf(await handler(authorizerEvent(await issuer.accessToken('Mikki'))))).toBe('Deny');
    expect(lastReason()).toBe('wrong_token_use');
  });
});
