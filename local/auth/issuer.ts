/**
 * The local OIDC issuer behind `npm start -- --auth jwt`: oauth2-mock-server on loopback, with
 * an RSA key generated at start (kept in memory, never written), serving discovery, the JWKS,
 * /token and /authorize. Its tokens look like Amazon Cognito's, so the authorizer checks them
 * exactly as it checks a deployed user pool's:
 *
 * - access token: sub, client_id, token_use "access", scope, username, preferred_username,
 *   cognito:groups ["chat-admins"] for admins;
 * - ID token: sub, aud (the client id), token_use "id", cognito:username, preferred_username.
 *
 * Anyone may sign in as anyone: POST /token with grant_type=password, username=<name> (any
 * password), admin=true for an admin, expires_in=<seconds>. The web page's local login form and
 * `npm run token` do exactly that. The authorization code flow (PKCE) works too, with the user
 * named by `login_hint` on /authorize.
 */
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { OAuth2Server } from 'oauth2-mock-server';

export const LOCAL_CLIENT_ID = 'local-chat-web';
export const LOCAL_ADMIN_GROUP = 'chat-admins';
/** Tokens last an hour unless asked otherwise (as Cognito's do by default). */
export const LOCAL_TOKEN_SECONDS = 3600;
const MAX_EXPIRES_IN = 24 * 3600;

export interface MintOptions {
  username: string;
  admin?: boolean;
  /** Seconds until `exp` (negative: already expired). Default LOCAL_TOKEN_SECONDS. */
  expiresInSeconds?: number;
  /** Default 'access'. */
  tokenUse?: 'access' | 'id';
}

export interface LocalIssuer {
  /** The issuer (`iss`), http://127.0.0.1:<port>. */
  url: string;
  jwksUri: string;
  tokenUrl: string;
  authorizeUrl: string;
  clientId: string;
  /** A token signed by the issuer's current key, made in-process. */
  mint(options: MintOptions): Promise<string>;
  /**
   * Publishes a new signing key (the old ones stay published). `mint` signs with the newest key;
   * /token takes the published keys in turn (oauth2-mock-server's key rotation).
   */
  rotateKey(): Promise<string>;
  stop(): Promise<void>;
}

/** A stable, UUID-shaped `sub` for a username (case-insensitive), the same in every run. */
export function localSub(username: string): string {
  const hex = createHash('sha256').update(`local-chat-user:${username.trim().toLowerCase()}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

type Claims = Record<string, unknown>;

function identityClaims(kind: 'access' | 'id', options: MintOptions): Claims {
  const username = options.username.trim();
  const common = {
    sub: localSub(username),
    preferred_username: username,
    token_use: kind,
    auth_time: Math.floor(Date.now() / 1000),
    ...(options.admin ? { 'cognito:groups': [LOCAL_ADMIN_GROUP] } : {}),
  };
  return kind === 'access'
    ? { ...common, client_id: LOCAL_CLIENT_ID, scope: 'openid profile', username }
    : { ...common, aud: LOCAL_CLIENT_ID, 'cognito:username': username };
}

function expiresIn(raw: unknown): number {
  const value = raw === undefined || raw === '' ? LOCAL_TOKEN_SECONDS : Number(raw);
  if (!Number.isInteger(value) || Math.abs(value) > MAX_EXPIRES_IN) {
    throw new Error(`expires_in must be a whole number of seconds within ±${MAX_EXPIRES_IN}`);
  }
  return value;
}

function applyClaims(payload: Claims, kind: 'access' | 'id', options: MintOptions): void {
  const claims = identityClaims(kind, options);
  // The mock's own defaults (sub "johndoe", amr, a scope of its own) give way to ours.
  for (const key of ['sub', 'amr', 'scope', 'aud']) delete payload[key];
  Object.assign(payload, claims);
  payload.exp = Number(payload.iat) + (options.expiresInSeconds ?? LOCAL_TOKEN_SECONDS);
}

export async function startLocalIssuer(options: { host?: string; port?: number } = {}): Promise<LocalIssuer> {
  const host = options.host ?? '127.0.0.1';
  const server = new OAuth2Server();
  // A fresh RSA key, in memory only. Made with node:crypto and handed to the mock as a JWK (its
  // own generator's keys are refused under Jest's module sandbox), with a short key id.
  const newKey = async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const kid = `local-${randomBytes(4).toString('hex')}`;
    await server.issuer.keys.add({ ...privateKey.export({ format: 'jwk' }), alg: 'RS256', use: 'sig', kid });
    return kid;
  };
  let newestKid = await newKey();
  await server.start(options.port ?? 0, host);
  const origin = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${server.address().port}`;
  // The mock names itself http://localhost:<port>; the authorizer reaches it on the address it listens on.
  server.issuer.url = origin;

  // Authorization code flow: the user is the one /authorize was asked for (login_hint).
  const usersByCode = new Map<string, string>();
  server.service.on('beforeAuthorizeRedirect', (redirect: { url: URL }, req: IncomingMessage) => {
    const hint = new URL(req.url ?? '/', origin).searchParams.get('login_hint');
    const code = redirect.url.searchParams.get('code');
    if (code) usersByCode.set(code, hint?.trim() || 'local-user');
  });

  server.service.on(
    'beforeTokenSigning',
    (
      token: { header: Claims; payload: Claims },
      req: IncomingMessage & { body?: Record<string, unknown> },
    ) => {
      const body = req.body ?? {};
      const username =
        body.grant_type === 'authorization_code'
          ? (usersByCode.get(String(body.code)) ?? 'local-user')
          : String(body.username ?? '').trim();
      // The mock signs the ID token with `aud` set; the access token has none.
      const kind = 'aud' in token.payload ? 'id' : 'access';
      applyClaims(token.payload, kind, {
        username: username || 'local-user',
        admin: body.admin === 'true' || body.admin === true,
        expiresInSeconds: expiresIn(body.expires_in),
      });
    },
  );

  return {
    url: origin,
    jwksUri: `${origin}/jwks`,
    tokenUrl: `${origin}/token`,
    authorizeUrl: `${origin}/authorize`,
    clientId: LOCAL_CLIENT_ID,
    async mint(mint) {
      if (!mint.username.trim()) throw new Error('A token needs a username.');
      const kind = mint.tokenUse ?? 'access';
      return server.issuer.buildToken({
        kid: newestKid,
        scopesOrTransform: (_header, payload) => applyClaims(payload, kind, mint),
      });
    },
    async rotateKey() {
      newestKid = await newKey();
      return newestKid;
    },
    stop: () => server.stop(),
  };
}
