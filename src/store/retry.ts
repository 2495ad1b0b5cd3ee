/**
 * Retries with capped exponential backoff and full jitter, and RetryStore, the Store decorator
 * that retries the calls whose failure a backend marks transient (TransientError; S3Store's
 * stack, spec/s3.md §4). Knows nothing of S3 itself.
 */
import { checkAborted, isMobrError, MobrError, type ErrorCode } from '../errors.js';
import { sleep } from '../util/sleep.js';
import { StoreDecorator } from './decorator.js';
import type { CallOptions, GetOptions, PutOptions, RangeOptions, Store, StoreEntry } from './store.js';

export interface RetryPolicy {
  /** Total attempts, the first included. */
  tries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { tries: 5, baseDelayMs: 100, maxDelayMs: 5_000 };

/** Delay before retry number `retry` (1-based): uniform in [0, min(max, base * 2^(retry-1))]. */
function backoffMs(policy: RetryPolicy, retry: number): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.round(Math.random() * cap);
}

/**
 * Runs fn until it succeeds, throws an error isRetryable rejects, or policy.tries attempts failed;
 * then throws the last error. onRetry is told before each wait.
 */
async function withRetry<T>(
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

/**
 * A failure a later attempt may not meet (throttling, a 5xx, a dropped connection: `retry`; a
 * server that did not answer in time: `timeout`, tried TIMEOUT_TRIES times only). A backend
 * throws it as the one-line MobrError its code says; RetryStore retries it and, when it gives up,
 * throws `after(tries)`: the same error whose line says how many tries were made.
 */
export class TransientError extends MobrError {
  constructor(
    code: ErrorCode,
    private readonly render: (tries: number) => string,
    readonly kind: 'retry' | 'timeout',
  ) {
    super(code, render(1));
  }

  after(tries: number): MobrError {
    return new MobrError(this.code, this.render(tries));
  }
}

/** Tries of a request that timed out: worst case about a minute before UNREACHABLE (spec/s3.md §4). */
const TIMEOUT_TRIES = 2;

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(a, b) === 0;

/**
 * Retries as a Store decorator (issue #25; restic's retry backend): a call that fails with a
 * TransientError is made again, whole, after a backoff its signal ends, up to `policy.tries`
 * attempts (TIMEOUT_TRIES for timeouts); `stats.retries` counts the retries. A conditional put
 * that meets REPO_EXISTS on a retry is its own earlier attempt when the object holds exactly its
 * bytes (the answer was lost, the write was not): success. A listing retried after entries were
 * yielded yields only keys it has not yielded yet.
 */
export class RetryStore<S extends Store = Store> extends StoreDecorator<S> {
  constructor(
    inner: S,
    readonly policy: RetryPolicy = DEFAULT_RETRY,
    private readonly counts: { retries: number } = { retries: 0 },
  ) {
    super(inner);
  }

  override get stats(): unknown {
    return this.counts;
  }

  /** Runs fn (one attempt, told its number) with retries; a TransientError given up on says its tries. */
  private async retried<T>(fn: (attempt: number) => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    let tries = 0;
    let timeouts = 0;
    const mayRetry = (e: unknown) =>
      !signal?.aborted && e instanceof TransientError && (e.kind === 'timeout' ? ++timeouts < TIMEOUT_TRIES : true);
    try {
      return await withRetry((n) => fn((tries = n)), this.policy, mayRetry, () => void this.counts.retries++, signal);
    } catch (e) {
      throw e instanceof TransientError ? e.after(tries) : e;
    }
  }

  override get(key: string, o?: GetOptions): Promise<Uint8Array> {
    return this.retried(() => this.inner.get(key, o), o?.signal);
  }

  override getRange(key: string, offset: number, length: number, o?: RangeOptions): Promise<Uint8Array> {
    return this.retried(() => this.inner.getRange(key, offset, length, o), o?.signal);
  }

  override put(key: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    return this.retried(async (attempt) => {
      try {
        await this.inner.put(key, data, options);
      } catch (e) {
        if (!(attempt > 1 && options?.ifNoneMatch && isMobrError(e, 'REPO_EXISTS'))) throw e;
        const there = await this.inner.get(key, options).catch(() => undefined);
        if (!there || !sameBytes(there, data)) throw e;
      }
    }, options?.signal);
  }

  override has(key: string, o?: CallOptions): Promise<boolean> {
    return this.retried(() => this.inner.has(key, o), o?.signal);
  }

  override stat(key: string, o?: CallOptions): Promise<StoreEntry | undefined> {
    return this.retried(() => this.inner.stat(key, o), o?.signal);
  }

  override delete(key: string, o?: CallOptions): Promise<void> {
    return this.retried(() => this.inner.delete(key, o), o?.signal);
  }

  override async *list(prefix: string, o?: CallOptions): AsyncIterable<StoreEntry> {
    const yielded = new Set<string>();
    let timeouts = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        for await (const e of this.inner.list(prefix, o)) {
          if (yielded.has(e.key)) continue;
          yielded.add(e.key);
          yield e;
        }
        return;
      } catch (e) {
        const retry = !o?.signal?.aborted && e instanceof TransientError && attempt < this.policy.tries && (e.kind !== 'timeout' || ++timeouts < TIMEOUT_TRIES);
        if (!retry) throw e instanceof TransientError ? e.after(attempt) : e;
        this.counts.retries++;
        await sleep(backoffMs(this.policy, attempt), o?.signal);
        checkAborted(o?.signal);
      }
    }
  }
}
