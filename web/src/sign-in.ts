/**
 * Signing in before connecting, when the chat runs in jwt mode. No DOM: `fetch`, the random
 * source and SubtleCrypto are passed in, so tests drive it without a browser.
 *
 * - `token`: no sign-in; the shared token is typed into the form (token mode).
 * - `local`: the local OIDC issuer of `npm start -- --auth jwt`; a username (and "admin") is
 *   all it asks: POST /token with grant_type=password.
 * - `oidc`: an OIDC provider's authorization code flow with PKCE (RFC 7636), e.g. Amazon
 *   Cognito's hosted UI: redirect to the authorize URL, come back with `?code=&state=`,
 *   exchange the code for tokens; the refresh token renews them before they expire.
 *
 * The access token is sent as `?Auth=`; tokens are kept in memory (the PKCE verifier alone
 * survives the redirect, in sessionStorage).
 */
export type SignInConfig =
  | { kind: 'token' }
  | { kind: 'local'; tokenUrl: string; clientId: string }
  | {
      kind: 'oidc';
      authorizeUrl: string;
      tokenUrl: string;
      clientId: string;
      scope: string;
      /** Where "sign out" goes (Cognito's /logout), if the provider has one. */
      logoutUrl?: string;
    };

export interface SignedIn {
  accessToken: string;
  refreshToken?: string;
  /** When the access token expires (ms since the epoch). */
  expiresAt: number;
  /** The name the token gives the user, to prefill the nickname. */
  displayName: string;
}

export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string },
) => Promise<{ ok: boolean; status: number; json(): Promise<unknown> }>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function httpUrl(value: unknown, what: string): string {
  if (typeof value !== 'string' || !/^https?:\/\//.test(value))
    throw new Error(`${what} must be an http(s) URL`);
  return value;
}

/** The sign-in settings the page was built with (build.ts defines them as JSON). */
export function parseSignInConfig(raw: string): SignInConfig {
  if (!raw) return { kind: 'token' };
  const value: unknown = JSON.parse(raw);
  if (!isRecord(value)) throw new Error('sign-in settings must be an object');
  const clientId = () => {
    if (typeof value.clientId !== 'string' || !value.clientId) throw new Error('sign-in needs a clientId');
    return value.clientId;
  };
  switch (value.kind) {
    case 'token':
      return { kind: 'token' };
    case 'local':
      return { kind: 'local', tokenUrl: httpUrl(value.tokenUrl, 'tokenUrl'), clientId: clientId() };
    case 'oidc':
      return {
        kind: 'oidc',
        authorizeUrl: httpUrl(value.authorizeUrl, 'authorizeUrl'),
        tokenUrl: httpUrl(value.tokenUrl, 'tokenUrl'),
        clientId: clientId(),
        scope: typeof value.scope === 'string' && value.scope ? value.scope : 'openid profile',
        ...(value.logoutUrl ? { logoutUrl: httpUrl(value.logoutUrl, 'logoutUrl') } : {}),
      };
    default:
      throw new Error(`unknown sign-in kind ${String(value.kind)}`);
  }
}

/** The endpoints of an Amazon Cognito hosted UI domain (https://<prefix>.auth.<region>.amazoncognito.com). */
export function cognitoSignIn(domain: string, clientId: string, scope = 'openid profile'): SignInConfig {
  const base = httpUrl(domain, 'the Cognito domain').replace(/\/+$/, '');
  return {
    kind: 'oidc',
    authorizeUrl: `${base}/oauth2/authorize`,
    tokenUrl: `${base}/oauth2/token`,
    clientId,
    scope,
    logoutUrl: `${base}/logout`,
  };
}

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** A token's claims, read without checking it (the server checks it; this only names the user). */
export function unverifiedClaims(token: string): Record<string, unknown> {
  const part = token.split('.')[1];
  if (!part) return {};
  try {
    const binary = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    const claims: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return isRecord(claims) ? claims : {};
  } catch {
    return {};
  }
}

/** The same claims, in the same order, that the authorizer takes the display name from. */
export function displayNameOf(token: string): string {
  const claims = unverifiedClaims(token);
  for (const claim of ['preferred_username', 'name', 'nickname', 'username', 'cognito:username']) {
    const value = claims[claim];
    if (typeof value === 'string' && value.trim()) return value.trim();
  }
  return '';
}

/** RFC 7636: a code verifier of 32 random bytes (43 characters) and its S256 challenge. */
export function newVerifier(random: (bytes: Uint8Array) => Uint8Array): string {
  return base64url(random(new Uint8Array(32)));
}

export async function challengeOf(verifier: string, subtle: SubtleCrypto): Promise<string> {
  const digest = await subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/** Where to send the browser to sign in (the authorization request with PKCE). */
export function authorizeUrl(
  config: Extract<SignInConfig, { kind: 'oidc' }>,
  request: { redirectUri: string; state: string; challenge: string },
): string {
  const url = new URL(config.authorizeUrl);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', config.clientId);
  url.searchParams.set('redirect_uri', request.redirectUri);
  url.searchParams.set('scope', config.scope);
  url.searchParams.set('state', request.state);
  url.searchParams.set('code_challenge', request.challenge);
  url.searchParams.set('code_challenge_method', 'S256');
  return url.toString();
}

async function tokenRequest(
  fetchFn: FetchLike,
  tokenUrl: string,
  form: Record<string, string>,
  now: number,
): Promise<SignedIn> {
  const response = await fetchFn(tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok || !isRecord(body) || typeof body.access_token !== 'string') {
    const reason = isRecord(body) && typeof body.error === 'string' ? ` (${body.error})` : '';
    throw new Error(`Signing in failed: the sign-in service answered ${response.status}${reason}.`);
  }
  const accessToken = body.access_token;
  const exp = unverifiedClaims(accessToken).exp;
  const expiresIn = typeof body.expires_in === 'number' ? body.expires_in : 3600;
  return {
    accessToken,
    ...(typeof body.refresh_token === 'string' ? { refreshToken: body.refresh_token } : {}),
    expiresAt: typeof exp === 'number' ? exp * 1000 : now + expiresIn * 1000,
    displayName:
      displayNameOf(accessToken) || displayNameOf(typeof body.id_token === 'string' ? body.id_token : ''),
  };
}

/** The local issuer: anyone may be anyone (it exists to try the chat in jwt mode). */
export function localSignIn(
  fetchFn: FetchLike,
  config: Extract<SignInConfig, { kind: 'local' }>,
  user: { username: string; admin: boolean },
  now: number,
): Promise<SignedIn> {
  return tokenRequest(
    fetchFn,
    config.tokenUrl,
    {
      grant_type: 'password',
      client_id: config.clientId,
      username: user.username,
      password: 'local',
      ...(user.admin ? { admin: 'true' } : {}),
    },
    now,
  );
}

export function exchangeCode(
  fetchFn: FetchLike,
  config: Extract<SignInConfig, { kind: 'oidc' }>,
  request: { code: string; verifier: string; redirectUri: string },
  now: number,
): Promise<SignedIn> {
  return tokenRequest(
    fetchFn,
    config.tokenUrl,
    {
      grant_type: 'authorization_code',
      client_id: config.clientId,
      code: request.code,
      redirect_uri: request.redirectUri,
      code_verifier: request.verifier,
    },
    now,
  );
}

export async function refreshTokens(
  fetchFn: FetchLike,
  config: Extract<SignInConfig, { kind: 'oidc' }>,
  refreshToken: string,
  now: number,
): Promise<SignedIn> {
  const renewed = await tokenRequest(
    fetchFn,
    config.tokenUrl,
    { grant_type: 'refresh_token', client_id: config.clientId, refresh_token: refreshToken },
    now,
  );
  // Cognito does not send a new refresh token; the old one stays good.
  return { refreshToken, ...renewed };
}

/** When to renew: a minute before expiry (at once if that has passed). */
export function renewDelay(signedIn: SignedIn, now: number): number {
  return Math.max(0, signedIn.expiresAt - now - 60_000);
}
