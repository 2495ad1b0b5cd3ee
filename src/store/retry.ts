/**
 * Retries with capped exponential backoff and full jitter, and a counting semaphore that bounds
 * in-flight requests. Used by S3Store (spec/s3.md §4); knows nothing of S3 itself.
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

/** A counting semaphore: at most `size` run() bodies execute at once, the rest wait in order. */
export class Semaphore {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(size: number) {
    this.free = Math.max(1, Math.floor(size));
  }

  /** Runs fn with a permit; a signal that aborts while waiting gives up the wait (with its reason). */
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    checkAborted(signal);
    if (this.free > 0) this.free--;
    else await this.wait(signal);
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }

  private wait(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const take = () => {
        signal?.removeEventListener('abort', leave);
        resolve();
      };
      const leave = () => {
        const i = this.waiting.indexOf(take);
        if (i >= 0) this.waiting.splice(i, 1); // never handed the permit: nothing to give back
        try {
          checkAborted(signal);
        } catch (e) {
          reject(e);
        }
      };
      this.waiting.push(take);
      signal?.addEventListener('abort', leave, { once: true });
    });
  }
}
