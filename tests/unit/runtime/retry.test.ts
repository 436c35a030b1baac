import { isGone, isRetryableDelivery } from '../../../functions/shared/adapters/api-gateway-notifier';
import { type RetryPolicy, withRetry } from '../../../functions/shared/runtime/retry';

/** An SDK v3-shaped service error. */
function sdkError(status: number | undefined, name = 'ServiceException'): Error {
  return Object.assign(new Error(`${name} ${status ?? ''}`), {
    name,
    ...(status === undefined ? {} : { $metadata: { httpStatusCode: status } }),
  });
}

/** A function that fails with `errors` in turn, then resolves 'ok'. */
function failing(...errors: unknown[]) {
  const fn = jest.fn(async () => {
    const error = errors.shift();
    if (error !== undefined) throw error;
    return 'ok';
  });
  return fn;
}

const policy: RetryPolicy = { attempts: 4, baseDelayMs: 50, maxDelayMs: 120 };

function recordingWait() {
  const delays: number[] = [];
  return { delays, wait: async (ms: number) => void delays.push(ms) };
}

describe('withRetry', () => {
  it('returns the first success without waiting', async () => {
    const { delays, wait } = recordingWait();
    const fn = failing();

    await expect(withRetry(fn, () => true, policy, { wait, random: () => 0.5 })).resolves.toBe('ok');

    expect(fn).toHaveBeenCalledTimes(1);
    expect(delays).toEqual([]);
  });

  it('retries retryable errors until the call succeeds', async () => {
    const { wait } = recordingWait();
    const fn = failing(sdkError(500), sdkError(429));

    await expect(withRetry(fn, isRetryableDelivery, policy, { wait, random: () => 0.5 })).resolves.toBe('ok');

    expect(fn).toHaveBeenCalledTimes(3);
  });

  it('gives up after the attempt cap and throws the last error', async () => {
    const { delays, wait } = recordingWait();
    const last = sdkError(503);
    const fn = failing(sdkError(500), sdkError(500), sdkError(502), last, sdkError(500));

    await expect(withRetry(fn, isRetryableDelivery, policy, { wait, random: () => 0.5 })).rejects.toBe(last);

    expect(fn).toHaveBeenCalledTimes(policy.attempts);
    expect(delays).toHaveLength(policy.attempts - 1);
  });

  it('does not retry an error that is not retryable', async () => {
    const { delays, wait } = recordingWait();
    const gone = sdkError(410, 'GoneException');
    const fn = failing(gone);

    await expect(withRetry(fn, isRetryableDelivery, policy, { wait, random: () => 0.5 })).rejects.toBe(gone);

    expect(fn).toHaveBeenCalledTimes(1);
    expect(delays).toEqual([]);
  });

  it('backs off exponentially, scaled by the jitter and capped at the maximum delay', async () => {
    const { delays, wait } = recordingWait();
    const fn = failing(sdkError(500), sdkError(500), sdkError(500), sdkError(500));

    await withRetry(fn, () => true, policy, { wait, random: () => 0.999 }).catch(() => undefined);

    // min(120, 50 * 2^n) * 0.999, floored: 49, 99, then the 120 cap.
    expect(delays).toEqual([49, 99, 119]);
  });

  it('draws a fresh jitter for every wait (full jitter: anywhere from zero)', async () => {
    const { delays, wait } = recordingWait();
    const draws = [0, 0.5, 0.25];
    const fn = failing(sdkError(500), sdkError(500), sdkError(500));

    await withRetry(fn, () => true, policy, { wait, random: () => draws.shift() ?? 0 });

    expect(delays).toEqual([0, 50, 30]);
  });
});

describe('withRetry with a deadline', () => {
  /** A clock that the recorded waits move on. */
  function clocked(start = 1_000) {
    let now = start;
    const delays: number[] = [];
    return {
      delays,
      now: () => now,
      wait: async (ms: number) => {
        delays.push(ms);
        now += ms;
      },
    };
  }

  it('retries while a retry can start before the deadline', async () => {
    const clock = clocked();
    const fn = failing(sdkError(500), sdkError(500));

    await expect(
      withRetry(fn, () => true, policy, { ...clock, random: () => 0.5, deadline: 10_000 }),
    ).resolves.toBe('ok');
    expect(fn).toHaveBeenCalledTimes(3);
  });

  it('throws the last error instead of waiting past the deadline', async () => {
    const clock = clocked();
    const last = sdkError(503);
    const fn = failing(sdkError(500), last, sdkError(500));

    // Waits of 25 then 50 ms: the second would end at 1075, past the deadline at 1060.
    await expect(
      withRetry(fn, () => true, policy, { ...clock, random: () => 0.5, deadline: 1_060 }),
    ).rejects.toBe(last);
    expect(fn).toHaveBeenCalledTimes(2);
    expect(clock.delays).toEqual([25]);
  });

  it('starts no retry once the deadline has passed', async () => {
    const clock = clocked(5_000);
    const first = sdkError(500);
    const fn = failing(first, sdkError(500));

    await expect(
      withRetry(fn, () => true, policy, { ...clock, random: () => 0.5, deadline: 4_000 }),
    ).rejects.toBe(first);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(clock.delays).toEqual([]);
  });

  it('still makes the first attempt after the deadline (the caller decides whether to start)', async () => {
    const fn = failing();

    await expect(withRetry(fn, () => true, policy, { deadline: 0 })).resolves.toBe('ok');
  });
});

describe('which delivery errors are retried', () => {
  it.each([
    ['429 throttling', sdkError(429, 'LimitExceededException')],
    ['500', sdkError(500)],
    ['502', sdkError(502)],
    ['503', sdkError(503)],
    [
      'a transport failure without an HTTP status',
      Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
    ],
  ])('retries %s', (_name, error) => {
    expect(isRetryableDelivery(error)).toBe(true);
  });

  it.each([
    ['410 Gone', sdkError(410, 'GoneException')],
    ['a GoneException without metadata', sdkError(undefined, 'GoneException')],
    ['400', sdkError(400, 'BadRequestException')],
    ['403', sdkError(403, 'ForbiddenException')],
    ['413 payload too large', sdkError(413, 'PayloadTooLargeException')],
  ])('does not retry %s', (_name, error) => {
    expect(isRetryableDelivery(error)).toBe(false);
  });

  it('recognises a gone connection by status or by exception name', () => {
    expect(isGone(sdkError(410))).toBe(true);
    expect(isGone(sdkError(undefined, 'GoneException'))).toBe(true);
    expect(isGone(sdkError(404))).toBe(false);
    expect(isGone(null)).toBe(false);
  });
});
