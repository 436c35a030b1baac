/** When to try the WebSocket again after it dropped: exponential backoff with jitter. */
export interface BackoffPolicy {
  /** Ceiling of the first retry's delay. */
  baseMs: number;
  /** No delay grows past this. */
  capMs: number;
  /** Consecutive failed attempts after which the page stops and asks the person instead. */
  maxAttempts: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 500, capMs: 30_000, maxAttempts: 10 };

/**
 * Delay before retry number `attempt` (0 = the first retry after a drop). "Equal jitter": half
 * of the exponential ceiling is fixed and half is random, so a server restart does not bring
 * every client back in the same millisecond, yet no retry is ever instant. `random` is in [0, 1).
 */
export function reconnectDelay(attempt: number, random: number, policy: BackoffPolicy = DEFAULT_BACKOFF) {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempt));
  const jitter = Math.min(Math.max(random, 0), 1);
  return Math.round(ceiling / 2 + (jitter * ceiling) / 2);
}
