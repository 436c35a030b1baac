/**
 * How a post to `@connections` failed, the same way for both notifiers (the SDK's client and
 * the signed one): 410 is a connection that is gone; 429, 5xx and transport failures (no HTTP
 * status: reset, refused, timed out) are worth retrying; any other answer is not.
 */
import type { DeliveryResult } from '../ports.js';
import { type RetryPolicy, withRetry } from '../runtime/retry.js';

interface HttpErrorShape {
  name?: string;
  $metadata?: { httpStatusCode?: number };
}

const statusOf = (error: unknown) => (error as HttpErrorShape | null)?.$metadata?.httpStatusCode;

/** A stale connection: 410 (SDK v3 names it GoneException). */
export function isGone(error: unknown): boolean {
  return statusOf(error) === 410 || (error as HttpErrorShape | null)?.name === 'GoneException';
}

/** Throttling (429), server errors (5xx) and transport failures (no HTTP status) are worth retrying. */
export function isRetryableDelivery(error: unknown): boolean {
  if (isGone(error)) return false;
  const status = statusOf(error);
  return status === undefined || status === 429 || status >= 500;
}

/**
 * An error answer from `@connections`, shaped like SDK v3's service exceptions: `name` from
 * the `x-amzn-errortype` header (GoneException, LimitExceededException …) and the status in
 * `$metadata.httpStatusCode`.
 */
export class ConnectionsApiError extends Error {
  readonly $metadata: { httpStatusCode: number };

  constructor(status: number, errorType: string | undefined, detail: string) {
    // API Gateway may append ":<namespace>" to the error type.
    const name = errorType?.split(':')[0] || `Http${status}Error`;
    super(`@connections answered ${status} ${name}${detail ? `: ${detail}` : ''}`);
    this.name = name;
    this.$metadata = { httpStatusCode: status };
  }
}

/**
 * One post with the notifiers' policy: retried while worth it (backoff, no retry after the
 * deadline), 'gone' for a 410, the last error thrown otherwise.
 */
export async function postWithRetry(
  post: () => Promise<unknown>,
  retry: RetryPolicy,
  deadline: number | undefined,
): Promise<DeliveryResult> {
  try {
    await withRetry(post, isRetryableDelivery, retry, deadline === undefined ? {} : { deadline });
    return 'delivered';
  } catch (error) {
    if (isGone(error)) return 'gone';
    throw error;
  }
}
