/**
 * A JWT issuer for tests: RSA keys generated with jose at start (never stored), a JWKS served
 * over HTTP on 127.0.0.1 (counting its requests, so tests can tell when a verifier fetched
 * it), and helpers that mint good tokens and the bad ones an attacker would try.
 */
import { createHmac, createPublicKey, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

export const TEST_CLIENT_ID = 'chat-test-client';

interface SigningKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

export class TestIssuer {
  /** JWKS requests served so far. */
  jwksRequests = 0;
  private published: SigningKey[] = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<TestIssuer> {
    let issuer: TestIssuer | undefined;
    const server = createServer((req, res) => {
      if (req.url === '/.well-known/jwks.json' && issuer) {
        issuer.jwksRequests += 1;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ keys: issuer.published.map((k) => k.publicJwk) }));
        return;
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    issuer = new TestIssuer(server, `http://127.0.0.1:${port}`);
    await issuer.publishNewKey();
    return issuer;
  }

  get jwksUri(): string {
    return `${this.url}/.well-known/jwks.json`;
  }

  /** The settings an authorizer needs to trust this issuer (JWT_* variables). */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      AUTH_MODE: 'jwt',
      JWT_ISSUER: this.url,
      JWT_AUDIENCE: TEST_CLIENT_ID,
      JWT_JWKS_URI: this.jwksUri,
      ...extra,
    };
  }

  /** Generates a key and adds it to the JWKS (key rotation); later tokens are signed with it. */
  async publishNewKey(alg: 'RS256' | 'ES256' = 'RS256'): Promise<string> {
    const key = await TestIssuer.newKey(alg);
    this.published.push(key);
    return key.kid;
  }

  static async newKey(alg: 'RS256' | 'ES256' = 'RS256'): Promise<SigningKey> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const kid = randomUUID();
    return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
  }

  private get currentKey(): SigningKey {
    const key = this.published.at(-1);
    if (!key) throw new Error('no key published');
    return key;
  }

  /** Claims of a good Cognito-style access token for `username` (sub derived from it). */
  accessClaims(username: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    const now = Math.floor(Date.now() / 1000);
    return {
      sub: `sub-${username.toLowerCase()}`,
      iss: this.url,
      client_id: TEST_CLIENT_ID,
      token_use: 'access',
      scope: 'openid profile',
      username,
      iat: now,
      exp: now + 3600,
      jti: randomUUID(),
      ...extra,
    };
  }

  /** Signs `claims` with the newest published key (or `key`), headers overridable. */
  async sign(
    claims: Record<string, unknown>,
    options: { key?: SigningKey; header?: Record<string, unknown> } = {},
  ): Promise<string> {
    const key = options.key ?? this.currentKey;
    return new SignJWT(claims)
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...options.header })
      .sign(key.privateKey);
  }

  accessToken(username: string, extra: Record<string, unknown> = {}): Promise<string> {
    return this.sign(this.accessClaims(username, extra));
  }

  /** `alg: none`: no signature at all. */
  unsignedToken(claims: Record<string, unknown>): string {
    return `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`;
  }

  /** HS256 with the issuer's public key (PEM) as the HMAC secret: the classic algorithm confusion. */
  publicKeyHmacToken(claims: Record<string, unknown>): string {
    const key = this.currentKey;
    const pem = createPublicKey({ key: { ...key.publicJwk }, format: 'jwk' })
      .export({ type: 'spki', format: 'pem' })
      .toString();
    const input = `${b64url({ alg: 'HS256', kid: key.kid, typ: 'JWT' })}.${b64url(claims)}`;
    return `${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`;
  }

  /** A good token whose payload was replaced afterwards (signature kept). */
  async tamperedToken(username: string, changes: Record<string, unknown>): Promise<string> {
    const [header, , signature] = (await this.accessToken(username)).split('.');
    return `${header}.${b64url({ ...this.accessClaims(username), ...changes })}.${signature}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
