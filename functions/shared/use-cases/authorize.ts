import { createHash, timingSafeEqual } from 'node:crypto';
import type { Role } from '../ports.js';

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
