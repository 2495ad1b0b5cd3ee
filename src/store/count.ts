/**
 * Request counting as a Store decorator (issue #25; restic and kopia count in a wrapper too):
 * every call through it is one request of its kind, counted when it is sent (each attempt of a
 * retried call, since RetryStore sits outside). `has` and `stat` count as head, `getRange` as get;
 * a listing counts once however many pages it takes, a multipart upload once. The summary's `s3`
 * line and the bench's requests per GiB read these counts.
 */
import type { CallOptions, GetOptions, PutOptions, RangeOptions, Store, StoreEntry } from './store.js';
import { StoreDecorator } from './decorator.js';

/** Requests sent, by kind, and the retries among them. */
export interface RequestStats {
  put: number;
  get: number;
  list: number;
  head: number;
  delete: number;
  retries: number;
}

export const noRequests = (): RequestStats => ({ put: 0, get: 0, list: 0, head: 0, delete: 0, retries: 0 });

export class CountingStore<S extends Store = Store> extends StoreDecorator<S> {
  constructor(
    inner: S,
    private readonly counts: RequestStats = noRequests(),
  ) {
    super(inner);
  }

  override get stats(): RequestStats {
    return this.counts;
  }

  override get(key: string, o?: GetOptions): Promise<Uint8Array> {
    this.counts.get++;
    return this.inner.get(key, o);
  }

  override getRange(key: string, offset: number, length: number, o?: RangeOptions): Promise<Uint8Array> {
    this.counts.get++;
    return this.inner.getRange(key, offset, length, o);
  }

  override put(key: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    this.counts.put++;
    return this.inner.put(key, data, options);
  }

  override has(key: string, o?: CallOptions): Promise<boolean> {
    this.counts.head++;
    return this.inner.has(key, o);
  }

  override stat(key: string, o?: CallOptions): Promise<StoreEntry | undefined> {
    this.counts.head++;
    return this.inner.stat(key, o);
  }

  override list(prefix: string, o?: CallOptions): AsyncIterable<StoreEntry> {
    this.counts.list++;
    return this.inner.list(prefix, o);
  }

  override delete(key: string, o?: CallOptions): Promise<void> {
    this.counts.delete++;
    return this.inner.delete(key, o);
  }
}
