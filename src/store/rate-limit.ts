/**
 * `--limit_upload` / `--limit_download` (KiB/s, as restic's): a Store decorator whose puts and
 * reads wait on a token bucket. The bucket holds one second of bytes; an object's bytes are
 * counted as it is written (before the put) or read (before a ranged read of a known length,
 * after a whole get), so the average rate over any stretch longer than an object stays at the
 * limit. List, stat, has and delete are not counted. A wait ends when the call's signal fires
 * (Ctrl-C, a lost lock): a slow limit never holds a process past its stop.
 */
import type { CallOptions, GetOptions, PutOptions, RangeOptions, Store } from './store.js';
import { StoreDecorator } from './decorator.js';
import { sleep as wait } from '../util/sleep.js';
import { checkAborted } from '../errors.js';

/** Bytes per second, drawn in any amounts; `sleep` and `now` are injectable for tests. */
export class TokenBucket {
  private next: number;

  constructor(
    readonly bytesPerSecond: number,
    private readonly now: () => number = () => performance.now(),
    private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void> = wait,
  ) {
    this.next = now();
  }

  /**
   * Waits until n bytes may pass (one second of credit at most is kept). A signal that fires
   * during the wait ends it with the signal's reason (INTERRUPTED, or LOCKED when a session lost
   * its lock), and the bytes that will not be sent give their time back.
   */
  async take(n: number, signal?: AbortSignal): Promise<void> {
    checkAborted(signal);
    const now = this.now();
    const cost = (n / this.bytesPerSecond) * 1000;
    this.next = Math.max(this.next, now) + cost;
    const wait = this.next - now - 1000;
    if (wait <= 0) return;
    await this.sleep(wait, signal);
    if (signal?.aborted) {
      this.next -= cost;
      checkAborted(signal);
    }
  }
}

export interface RateLimits {
  /** KiB/s; undefined or 0: no limit. */
  uploadKiBs?: number;
  downloadKiBs?: number;
}

export class RateLimitedStore extends StoreDecorator {
  private readonly up?: TokenBucket;
  private readonly down?: TokenBucket;

  constructor(inner: Store, limits: RateLimits) {
    super(inner);
    if (limits.uploadKiBs) this.up = new TokenBucket(limits.uploadKiBs * 1024);
    if (limits.downloadKiBs) this.down = new TokenBucket(limits.downloadKiBs * 1024);
  }

  override async get(key: string, o?: GetOptions): Promise<Uint8Array> {
    const data = await this.inner.get(key, o);
    await this.down?.take(data.length, o?.signal);
    return data;
  }

  override async getRange(key: string, offset: number, length: number, o?: RangeOptions): Promise<Uint8Array> {
    await this.down?.take(length, o?.signal);
    return this.inner.getRange(key, offset, length, o);
  }

  /**
   * With `onSent` (sync's progress line), the bytes are drawn from the bucket in slices of an
   * eighth of a second and told as each passes, so a big pack moves the line while it waits on
   * the limit; the count runs at most the bucket's one second of credit ahead of the wire.
   */
  override async put(key: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    if (this.up && options?.onSent) {
      const slice = Math.max(16 << 10, Math.floor(this.up.bytesPerSecond / 8));
      for (let at = 0; at < data.length; ) {
        const n = Math.min(slice, data.length - at);
        await this.up.take(n, options.signal);
        options.onSent((at += n));
      }
    } else await this.up?.take(data.length, options?.signal);
    return this.inner.put(key, data, options);
  }
}
