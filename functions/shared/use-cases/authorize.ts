import { createHash, timingSafeEqual } from 'node:crypto';
import type { Role } from '../ports.js';

/**
 * Who a connection is, as the authorizer established it. It reaches `$connect` and every route
 * as the authorizer context `{ role, sub, name }` (principalId beside it), and `$connect` records
 * it on the connection (principalId, displayName).
 */
export interface Identity {
  role: Role;
  /** The authorizer's principalId: the role in token mode, the token's `sub` in jwt mode. */
  principalId: string;
  /** The signed-in user's stable id (jwt mode only). */
  sub?: string;
  /** A name to show for the user, from the token (jwt mode only, when the token has one). */
  name?: string;
}

/** Why a connection was refused; logged (never the token), never sent to the client. */
export type Refusal =
  | 'missing'
  | 'too_long'
  | 'malformed'
  | 'wrong_token'
  | 'bad_algorithm'
  | 'unknown_key'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'wrong_token_use'
  | 'missing_claims'
  | 'keys_unavailable';

export type AuthResult = { ok: true; identity: Identity } | { ok: false; reason: Refusal };

/** Port: turns what the client presented as `?Auth=` into an identity, or a refusal. */
export interface Authenticator {
  authenticate(presented: string | undefined): Promise<AuthResult>;
}

export interface Tokens {
  chatToken: string;
  /** Empty = no admins. */
  adminToken: string;
}

/** Constant-time comparison: both sides are hashed first, so lengths leak nothing either. */
export function tokensEqual(presented: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

/** The role a presented token grants, or undefined when it grants none. */
export function authorize(tokens: Tokens, presented: string | undefined): Role | undefined {
  if (!presented) return undefined;
  // Compare against both every time so timing does not reveal which one matched.
  const isAdmin = tokens.adminToken !== '' && tokensEqual(presented, tokens.adminToken);
  const isUser = tokensEqual(presented, tokens.chatToken);
  if (isAdmin) return 'admin';
  if (isUser) return 'user';
  return undefined;
}

/** Token mode: the shared tokens; the principal is the role, as it always was. */
export function sharedTokenAuthenticator(tokens: Tokens): Authenticator {
  return {
    async authenticate(presented) {
      if (!presented) return { ok: false, reason: 'missing' };
      const role = authorize(tokens, presented);
      return role
        ? { ok: true, identity: { role, principalId: role } }
        : { ok: false, reason: 'wrong_token' };
    },
  };
}
