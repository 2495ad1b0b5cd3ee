/**
 * `--limit_upload` / `--limit_download` (KiB/s, as restic's): a Store decorator whose puts and
 * reads wait on a token bucket. The bucket holds one second of bytes; an object's bytes are
 * counted as it is written (before the put) or read (before a ranged read of a known length,
 * after a whole get), so the average rate over any stretch longer than an object stays at the
 * limit. List, stat, has and delete are not counted.
 */
import type { CallOptions, PutOptions, Store } from './store.js';
import { StoreDecorator } from './decorator.js';
import { sleep as wait } from '../util/sleep.js';

/** Bytes per second, drawn in any amounts; `sleep` and `now` are injectable for tests. */
export class TokenBucket {
  private next: number;

  constructor(
    readonly bytesPerSecond: number,
    private readonly now: () => number = () => performance.now(),
    private readonly sleep: (ms: number) => Promise<void> = wait,
  ) {
    this.next = now();
  }

  /** Waits until n bytes may pass (one second of credit at most is kept). */
  async take(n: number): Promise<void> {
    const now = this.now();
    this.next = Math.max(this.next, now) + (n / this.bytesPerSecond) * 1000;
    const wait = this.next - now - 1000;
    if (wait > 0) await this.sleep(wait);
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

  override async get(key: string, o?: CallOptions): Promise<Uint8Array> {
    const data = await this.inner.get(key, o);
    await this.down?.take(data.length);
    return data;
  }

  override async getRange(key: string, offset: number, length: number, o?: CallOptions): Promise<Uint8Array> {
    await this.down?.take(length);
    return this.inner.getRange(key, offset, length, o);
  }

  override async put(key: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    await this.up?.take(data.length);
    return this.inner.put(key, data, options);
  }
}
