import { sleep } from './sleep.js';

export interface RetryPolicy {
  /** Total attempts, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 50, maxDelayMs: 1000 };

export interface RetryOptions {
  wait?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Epoch ms: no retry starts (nor waits past) this time; the last error is thrown instead. */
  deadline?: number;
  now?: () => number;
}

/**
 * Retries `fn` while `isRetryable(error)`, with exponential backoff and full jitter
 * (delay = random(0, min(max, base * 2^n))), so a throttled burst spreads out.
 */
export async function withRetry<T>(
  fn: () => Promise<T>,
  isRetryable: (error: unknown) => boolean,
  policy: RetryPolicy = DEFAULT_RETRY,
  options: RetryOptions = {},
): Promise<T> {
  const { wait = sleep, random = Math.random, deadline, now = Date.now } = options;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= policy.attempts || !isRetryable(error)) throw error;
      const delay = Math.floor(
        random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1)),
      );
      if (deadline !== undefined && now() + delay >= deadline) throw error;
      await wait(delay);
    }
  }
}
