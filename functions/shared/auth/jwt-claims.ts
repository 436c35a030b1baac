/**
 * What a verified JWT's claims mean to the chat: whether it is the kind of token expected
 * (access or ID), whether it was issued for this app (`aud`, or `client_id` for tokens without
 * `aud` such as Cognito access tokens), and the identity it carries (sub, display name, role).
 * Pure functions; the signature, issuer and times are checked by aws-jwt-verify before these run.
 */
import type { Role } from '../ports.js';
import type { Identity } from '../use-cases/authorize.js';

export type TokenUse = 'access' | 'id';

export interface ClaimRules {
  audience: string[];
  tokenUse: TokenUse;
  /** '' = nobody is an admin. */
  adminClaim: string;
  adminValue: string;
}

type Claims = Record<string, unknown>;

/** Longest `sub` accepted (Cognito's are 36-character UUIDs; Auth0's `provider|id` are longer). */
export const MAX_SUB_LENGTH = 256;
/** Display names are cut to this many characters (the authorizer context must stay small). */
export const MAX_DISPLAY_NAME_LENGTH = 64;
/** Claims a display name is taken from, first present wins. Never the e-mail address. */
export const DISPLAY_NAME_CLAIMS = ['preferred_username', 'name', 'nickname', 'username', 'cognito:username'];

/**
 * The token's kind when it says so: Cognito's `token_use`, RFC 9068's `typ: at+jwt` header,
 * Keycloak's `typ` claim (`Bearer`/`ID`), or OIDC ID-token-only claims (`nonce`, `at_hash`).
 * Undefined when it does not; then only the audience check tells tokens apart.
 */
export function tokenUseOf(header: Claims, payload: Claims): TokenUse | undefined {
  if (payload.token_use === 'access' || payload.token_use === 'id') return payload.token_use;
  const typ = typeof header.typ === 'string' ? header.typ.toLowerCase() : '';
  if (typ === 'at+jwt' || typ === 'application/at+jwt') return 'access';
  if (payload.typ === 'Bearer') return 'access';
  if (payload.typ === 'ID') return 'id';
  if ('nonce' in payload || 'at_hash' in payload) return 'id';
  return undefined;
}

/** `aud` when the token has one (any entry may match), else `client_id`. */
export function audienceMatches(payload: Claims, audience: string[]): boolean {
  const aud = payload.aud;
  if (aud !== undefined) {
    const values = Array.isArray(aud) ? aud : [aud];
    return values.some((value) => typeof value === 'string' && audience.includes(value));
  }
  return typeof payload.client_id === 'string' && audience.includes(payload.client_id);
}

/** A claim by exact name (URL-style names contain dots), else by dotted path (realm_access.roles). */
export function claimAt(payload: Claims, name: string): unknown {
  if (name in payload) return payload[name];
  let value: unknown = payload;
  for (const key of name.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    value = (value as Claims)[key];
  }
  return value;
}

export function roleOf(payload: Claims, rules: Pick<ClaimRules, 'adminClaim' | 'adminValue'>): Role {
  if (!rules.adminClaim || !rules.adminValue) return 'user';
  const value = claimAt(payload, rules.adminClaim);
  const granted = Array.isArray(value)
    ? value.includes(rules.adminValue)
    : typeof value === 'string'
      ? value.split(/[\s,]+/).includes(rules.adminValue)
      : value === true && rules.adminValue === 'true';
  return granted ? 'admin' : 'user';
}

/** Printable text only: no control or format characters (bidi overrides, zero-width), single spaces. */
function cleanName(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value
    .normalize('NFC')
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, '')
    .replace(/\s+/gu, ' ')
    .trim();
  const cut = Array.from(text).slice(0, MAX_DISPLAY_NAME_LENGTH).join('').trim();
  return cut || undefined;
}

export function displayNameOf(payload: Claims): string | undefined {
  for (const claim of DISPLAY_NAME_CLAIMS) {
    const name = cleanName(payload[claim]);
    if (name) return name;
  }
  return undefined;
}

export type ClaimsOutcome =
  | { ok: true; identity: Identity }
  | { ok: false; reason: 'wrong_token_use' | 'wrong_audience' | 'missing_claims' };

/** Checks a verified token's kind, audience and required claims, and reads its identity. */
export function identityFromClaims(header: Claims, payload: Claims, rules: ClaimRules): ClaimsOutcome {
  const use = tokenUseOf(header, payload);
  if (use !== undefined && use !== rules.tokenUse) return { ok: false, reason: 'wrong_token_use' };
  if (!audienceMatches(payload, rules.audience)) return { ok: false, reason: 'wrong_audience' };
  const { sub, exp } = payload;
  if (typeof sub !== 'string' || sub === '' || sub.length > MAX_SUB_LENGTH) {
    return { ok: false, reason: 'missing_claims' };
  }
  // aws-jwt-verify checks `exp` only when present; a token that never expires is not accepted here.
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return { ok: false, reason: 'missing_claims' };
  const displayName = displayNameOf(payload);
  return {
    ok: true,
    identity: {
      role: roleOf(payload, rules),
      principalId: sub,
      sub,
      ...(displayName ? { name: displayName } : {}),
    },
  };
}
