/**
 * Retries with capped exponential backoff and full jitter (the semaphore that bounds in-flight
 * requests is util/concurrency.ts's). Used by S3Store (spec/s3.md §4); knows nothing of S3 itself.
 */
import { checkAborted } from '../errors.js';
import { sleep } from '../util/sleep.js';

export interface RetryPolicy {
  /** Total attempts, the first included. */
  tries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { tries: 5, baseDelayMs: 100, maxDelayMs: 5_000 };

/** Delay before retry number `retry` (1-based): uniform in [0, min(max, base * 2^(retry-1))]. */
export function backoffMs(policy: RetryPolicy, retry: number): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.round(Math.random() * cap);
}

/**
 * Runs fn until it succeeds, throws an error isRetryable rejects, or policy.tries attempts failed;
 * then throws the last error. onRetry is told before each wait.
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  isRetryable: (e: unknown) => boolean,
  onRetry?: (e: unknown, retry: number) => void,
  signal?: AbortSignal,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (attempt >= policy.tries || !isRetryable(e)) throw e;
      onRetry?.(e, attempt);
      await sleep(backoffMs(policy, attempt), signal);
      checkAborted(signal); // the wait ended early: the signal's reason, not the last error
    }
  }
}
