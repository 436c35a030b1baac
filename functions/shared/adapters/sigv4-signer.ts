/**
 * AWS Signature Version 4 for the fanout's posts to `@connections`, with node:crypto and the
 * per-day signing key and the payload's hash kept between posts. A room event's payload is the
 * same for every recipient, so a post costs one SHA-256 of its short canonical request and one
 * HMAC: about a tenth of what `@smithy/signature-v4` spends per request (bench/fanout.ts
 * measures both). Its output is the same as @smithy/signature-v4's for the same request and
 * time (tests/unit/adapters/sigv4-signer.test.ts checks them against each other).
 */
import { createHash, createHmac } from 'node:crypto';

export interface SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** When temporary credentials stop working; they are asked for again before then. */
  expiration?: Date;
}

export type CredentialsProvider = () => Promise<SigningCredentials>;

export interface SignedHeaders {
  'x-amz-date': string;
  authorization: string;
  'x-amz-security-token'?: string;
}

/** RFC 3986 escaping as SigV4 wants it: encodeURIComponent plus ! ' ( ) *. */
export function escapeUri(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();
/** Credentials are asked for again this long before they expire. */
const REFRESH_MARGIN_MS = 5 * 60 * 1000;

/** Signs requests to one host for one service and region (the fanout's @connections endpoint). */
export class SigV4Signer {
  private credentials?: SigningCredentials;
  private pending?: Promise<SigningCredentials>;
  private key?: { day: string; secret: string; value: Buffer };
  private payload?: { body: Buffer; hash: string };

  constructor(
    private readonly options: {
      host: string;
      region: string;
      service: string;
      credentials: CredentialsProvider;
    },
  ) {}

  /** The credentials to sign with: kept until shortly before they expire. */
  async currentCredentials(now: Date): Promise<SigningCredentials> {
    const held = this.credentials;
    if (held && (!held.expiration || held.expiration.getTime() - now.getTime() > REFRESH_MARGIN_MS)) {
      return held;
    }
    this.pending ??= this.options.credentials().finally(() => {
      this.pending = undefined;
    });
    this.credentials = await this.pending;
    return this.credentials;
  }

  /**
   * Headers that sign `method path` with `body` (host and x-amz-date signed; the session
   * token too when there is one). `path` is as sent on the wire: already escaped once.
   */
  async sign(method: string, path: string, body: Buffer, now = new Date()): Promise<SignedHeaders> {
    const credentials = await this.currentCredentials(now);
    return this.signWith(credentials, method, path, body, now);
  }

  /** The synchronous part of sign(), for credentials already at hand. */
  signWith(
    credentials: SigningCredentials,
    method: string,
    path: string,
    body: Buffer,
    now: Date,
  ): SignedHeaders {
    const amzDate = now.toISOString().replace(/[-:]|\.\d{3}/g, '');
    const day = amzDate.slice(0, 8);
    const { host, region, service } = this.options;
    const token = credentials.sessionToken;
    const signedHeaders = token ? 'host;x-amz-date;x-amz-security-token' : 'host;x-amz-date';
    const canonicalRequest = [
      method,
      canonicalPath(path),
      '',
      `host:${host}`,
      `x-amz-date:${amzDate}`,
      ...(token ? [`x-amz-security-token:${token}`] : []),
      '',
      signedHeaders,
      this.payloadHash(body),
    ].join('\n');
    const scope = `${day}/${region}/${service}/aws4_request`;
    const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256Hex(canonicalRequest)}`;
    const signature = createHmac('sha256', this.signingKey(day, credentials.secretAccessKey))
      .update(stringToSign)
      .digest('hex');
    return {
      'x-amz-date': amzDate,
      authorization: `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
      ...(token ? { 'x-amz-security-token': token } : {}),
    };
  }

  /** The derived key changes once a day (and with the secret). */
  private signingKey(day: string, secret: string): Buffer {
    if (this.key?.day !== day || this.key.secret !== secret) {
      const value = hmac(
        hmac(hmac(hmac(`AWS4${secret}`, day), this.options.region), this.options.service),
        'aws4_request',
      );
      this.key = { day, secret, value };
    }
    return this.key.value;
  }

  /** One event's payload goes to every recipient: its hash is computed once. */
  private payloadHash(body: Buffer): string {
    if (this.payload?.body !== body) this.payload = { body, hash: sha256Hex(body) };
    return this.payload.hash;
  }
}

/** SigV4's canonical path for services other than S3: each segment escaped again. */
function canonicalPath(path: string): string {
  return path
    .split('/')
    .map((segment) => escapeUri(segment))
    .join('/');
}
