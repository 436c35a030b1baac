import { createHash } from 'node:crypto';
import { signInOrigins } from '../../web/build';
import { contentSecurityPolicy } from '../../web/csp';
import {
  authorizeUrl,
  challengeOf,
  cognitoSignIn,
  displayNameOf,
  exchangeCode,
  type FetchLike,
  localSignIn,
  newVerifier,
  parseSignInConfig,
  refreshTokens,
  renewDelay,
} from '../../web/src/sign-in';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const jwt = (claims: Record<string, unknown>) => `${b64({ alg: 'RS256' })}.${b64(claims)}.sig`;
const NOW = Date.UTC(2026, 10, 25, 15);
const local = { kind: 'local' as const, tokenUrl: 'http://127.0.0.1:3002/token', clientId: 'local-chat-web' };
const cognito = cognitoSignIn('https://chat-1.auth.eu-north-1.amazoncognito.com/', 'client-1');
if (cognito.kind !== 'oidc') throw new Error('expected oidc');

/** A token endpoint that records each request and answers `answer`. */
function tokenEndpoint(answer: { status?: number; body: unknown }) {
  const requests: { url: string; form: Record<string, string> }[] = [];
  const fetchFn: FetchLike = async (url, init) => {
    requests.push({ url, form: Object.fromEntries(new URLSearchParams(init.body)) });
    const status = answer.status ?? 200;
    return { ok: status < 300, status, json: async () => answer.body };
  };
  return { fetchFn, requests };
}

describe('sign-in settings', () => {
  it('are token mode when the page was built without any', () => {
    expect(parseSignInConfig('')).toEqual({ kind: 'token' });
  });

  it('derive the hosted UI endpoints from a Cognito domain', () => {
    expect(cognito).toEqual({
      kind: 'oidc',
      authorizeUrl: 'https://chat-1.auth.eu-north-1.amazoncognito.com/oauth2/authorize',
      tokenUrl: 'https://chat-1.auth.eu-north-1.amazoncognito.com/oauth2/token',
      clientId: 'client-1',
      scope: 'openid profile',
      logoutUrl: 'https://chat-1.auth.eu-north-1.amazoncognito.com/logout',
    });
  });

  it.each([
    ['an unknown kind', { kind: 'saml' }],
    ['a local issuer without a client id', { kind: 'local', tokenUrl: 'http://127.0.0.1:1/token' }],
    ['a token URL that is not http(s)', { kind: 'local', tokenUrl: 'javascript:alert(1)', clientId: 'c' }],
  ])('refuse %s', (_name, config) => {
    expect(() => parseSignInConfig(JSON.stringify(config))).toThrow();
  });
});

describe('PKCE (RFC 7636)', () => {
  it('makes a 43-character base64url verifier from 32 random bytes', () => {
    const verifier = newVerifier((bytes) => bytes.fill(0xfb));

    expect(verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('computes the S256 challenge: base64url of the SHA-256 of the verifier, unpadded (as node:crypto does)', async () => {
    for (const verifier of ['dBjftJeZ4CVP-mJ92IfnXVYk2R0sbBF4mMhL-VNPuL0', newVerifier((b) => b.fill(7))]) {
      const challenge = await challengeOf(verifier, crypto.subtle);

      expect(challenge).toBe(createHash('sha256').update(verifier).digest('base64url'));
      expect(challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    }
  });

  it('asks for a code with the S256 challenge, the state and the page as redirect URI', () => {
    const url = new URL(
      authorizeUrl(cognito, { redirectUri: 'https://chat.example/', state: 's1', challenge: 'c1' }),
    );

    expect(url.origin + url.pathname).toBe(cognito.authorizeUrl);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      response_type: 'code',
      client_id: 'client-1',
      redirect_uri: 'https://chat.example/',
      scope: 'openid profile',
      state: 's1',
      code_challenge: 'c1',
      code_challenge_method: 'S256',
    });
  });

  it('exchanges the code with the verifier and reads expiry and display name from the access token', async () => {
    const accessToken = jwt({ exp: NOW / 1000 + 3600, username: 'mikki' });
    const { fetchFn, requests } = tokenEndpoint({ body: { access_token: accessToken, refresh_token: 'r1' } });

    const signedIn = await exchangeCode(
      fetchFn,
      cognito,
      { code: 'code-1', verifier: 'v1', redirectUri: 'https://chat.example/' },
      NOW,
    );

    expect(requests).toEqual([
      {
        url: cognito.tokenUrl,
        form: {
          grant_type: 'authorization_code',
          client_id: 'client-1',
          code: 'code-1',
          redirect_uri: 'https://chat.example/',
          code_verifier: 'v1',
        },
      },
    ]);
    expect(signedIn).toEqual({
      accessToken,
      refreshToken: 'r1',
      expiresAt: NOW + 3_600_000,
      displayName: 'mikki',
    });
  });

  it('renews with the refresh token, keeping it when the provider sends no new one (Cognito)', async () => {
    const { fetchFn, requests } = tokenEndpoint({ body: { access_token: jwt({ exp: NOW / 1000 + 60 }) } });

    const renewed = await refreshTokens(fetchFn, cognito, 'r1', NOW);

    expect(requests[0]?.form).toEqual({
      grant_type: 'refresh_token',
      client_id: 'client-1',
      refresh_token: 'r1',
    });
    expect(renewed.refreshToken).toBe('r1');
  });

  it('says what the provider answered when the exchange fails', async () => {
    const { fetchFn } = tokenEndpoint({ status: 400, body: { error: 'invalid_grant' } });

    await expect(
      exchangeCode(
        fetchFn,
        cognito,
        { code: 'old', verifier: 'v', redirectUri: 'https://chat.example/' },
        NOW,
      ),
    ).rejects.toThrow('400 (invalid_grant)');
  });
});

describe('the local issuer', () => {
  it('signs in with just a username (and admin when asked), by the password grant', async () => {
    const { fetchFn, requests } = tokenEndpoint({
      body: { access_token: jwt({ exp: NOW / 1000 + 3600, preferred_username: 'Roope' }) },
    });

    const signedIn = await localSignIn(fetchFn, local, { username: 'Roope', admin: true }, NOW);

    expect(requests[0]).toEqual({
      url: local.tokenUrl,
      form: {
        grant_type: 'password',
        client_id: 'local-chat-web',
        username: 'Roope',
        password: 'local',
        admin: 'true',
      },
    });
    expect(signedIn.displayName).toBe('Roope');
  });
});

describe('token helpers', () => {
  it('name the user by the claims the authorizer uses, in its order', () => {
    expect(displayNameOf(jwt({ preferred_username: 'Mikki', name: 'Mikki Hiiri' }))).toBe('Mikki');
    expect(displayNameOf(jwt({ 'cognito:username': 'aku' }))).toBe('aku');
    expect(displayNameOf('not a token')).toBe('');
  });

  it('renew a minute before expiry, or at once', () => {
    expect(renewDelay({ accessToken: 'x', expiresAt: NOW + 600_000, displayName: '' }, NOW)).toBe(540_000);
    expect(renewDelay({ accessToken: 'x', expiresAt: NOW + 10_000, displayName: '' }, NOW)).toBe(0);
  });
});

describe("the page's Content-Security-Policy", () => {
  it('allows nothing more in token mode', () => {
    expect(contentSecurityPolicy('', signInOrigins({ kind: 'token' }))).toBe(contentSecurityPolicy());
  });

  it("allows the sign-in service's origin in connect-src, and nothing else changes", () => {
    const policy = contentSecurityPolicy('', signInOrigins(cognito));

    expect(policy).toContain("connect-src 'self' ws: wss: https://chat-1.auth.eu-north-1.amazoncognito.com;");
    expect(policy.replace(' https://chat-1.auth.eu-north-1.amazoncognito.com', '')).toBe(
      contentSecurityPolicy(),
    );
  });
});
