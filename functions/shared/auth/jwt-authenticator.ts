/**
 * jwt mode: verifies `?Auth=<JWT>` with aws-jwt-verify against the issuer's JWKS (signature,
 * algorithm, issuer, expiry and not-before), then the chat's own rules on the claims
 * (jwt-claims.ts). The JWKS is fetched once per cold start and cached: a token whose `kid` is
 * known costs no network call. An unknown `kid` fetches the JWKS again (a newly published key
 * works without a redeploy); a `kid` the fresh JWKS does not have either blocks further fetches
 * for a while (aws-jwt-verify's penalty box), so made-up key ids cannot flood the issuer.
 */
import { JwtVerifier } from 'aws-jwt-verify';
import {
  FetchError,
  JwksValidationError,
  JwkValidationError,
  JwtExpiredError,
  JwtInvalidAudienceError,
  JwtInvalidIssuerError,
  JwtInvalidSignatureAlgorithmError,
  JwtInvalidSignatureError,
  JwtNotBeforeError,
  JwtWithoutValidKidError,
  KidNotFoundInJwksError,
  WaitPeriodNotYetEndedJwkError,
} from 'aws-jwt-verify/error';
import type { Fetcher } from 'aws-jwt-verify/https';
import { SimpleJwksCache } from 'aws-jwt-verify/jwk';
import type { JwtPayload } from 'aws-jwt-verify/jwt-model';
import type { JwtSettings } from '../runtime/config.js';
import type { Authenticator, AuthResult, Refusal } from '../use-cases/authorize.js';
import { identityFromClaims } from './jwt-claims.js';

/**
 * Longest token looked at. API Gateway refuses WebSocket URLs over 4,096 characters before
 * any authorizer runs, so nothing longer is a real token; it is refused before it is parsed.
 */
export const MAX_JWT_LENGTH = 4096;
/** Three base64url parts; anything else (e.g. `alg: none` with an empty signature) is refused unparsed. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const JWKS_TIMEOUT_MS = 3000;

/** For http:// JWKS URIs on loopback (the local issuer); aws-jwt-verify's own fetcher speaks https only. */
const loopbackFetcher: Fetcher = {
  async fetch(uri) {
    let response: Response;
    try {
      response = await fetch(uri, { signal: AbortSignal.timeout(JWKS_TIMEOUT_MS) });
    } catch (error) {
      throw new FetchError(uri, (error as Error).message);
    }
    if (response.status !== 200) throw new FetchError(uri, `Status code is ${response.status}, expected 200`);
    return response.arrayBuffer();
  },
};

function refusalOf(error: unknown): Refusal {
  if (error instanceof JwtExpiredError) return 'expired';
  if (error instanceof JwtNotBeforeError) return 'not_yet_valid';
  if (error instanceof JwtInvalidIssuerError) return 'wrong_issuer';
  if (error instanceof JwtInvalidAudienceError) return 'wrong_audience';
  if (error instanceof JwtInvalidSignatureAlgorithmError) return 'bad_algorithm';
  if (error instanceof JwtInvalidSignatureError) return 'bad_signature';
  if (
    error instanceof KidNotFoundInJwksError ||
    error instanceof JwtWithoutValidKidError ||
    error instanceof WaitPeriodNotYetEndedJwkError
  ) {
    return 'unknown_key';
  }
  if (
    error instanceof FetchError ||
    error instanceof JwksValidationError ||
    error instanceof JwkValidationError
  ) {
    return 'keys_unavailable';
  }
  // JwtParseError and any other failed assertion: not a token this issuer could have made.
  return 'malformed';
}

export class JwtAuthenticator implements Authenticator {
  private readonly verifier;

  constructor(private readonly settings: JwtSettings) {
    // aws-jwt-verify's cache and penalty box (an unknown `kid` blocks refetching for 10 s).
    const jwksCache = new SimpleJwksCache(
      settings.jwksUri.startsWith('http://') ? { fetcher: loopbackFetcher } : {},
    );
    this.verifier = JwtVerifier.create(
      {
        issuer: settings.issuer,
        jwksUri: settings.jwksUri,
        // Checked after verification (jwt-claims.ts): `aud`, or `client_id` for tokens without
        // one (Cognito access tokens), with the token's kind.
        audience: null,
      },
      { jwksCache },
    );
  }

  async authenticate(presented: string | undefined): Promise<AuthResult> {
    if (!presented) return { ok: false, reason: 'missing' };
    if (presented.length > MAX_JWT_LENGTH) return { ok: false, reason: 'too_long' };
    if (!JWT_SHAPE.test(presented)) return { ok: false, reason: 'malformed' };
    let payload: JwtPayload;
    try {
      payload = await this.verifier.verify(presented);
    } catch (error) {
      return { ok: false, reason: refusalOf(error) };
    }
    // The signature is good, so the header (already parsed once by the verifier) can be trusted.
    const header = JSON.parse(
      Buffer.from(presented.slice(0, presented.indexOf('.')), 'base64url').toString('utf8'),
    );
    const outcome = identityFromClaims(header, payload, this.settings);
    return outcome.ok ? outcome : { ok: false, reason: outcome.reason };
  }
}
