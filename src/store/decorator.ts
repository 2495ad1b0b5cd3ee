/**
 * Store decorators (as restic's and kopia's backends wrap one another): a Store that adds one
 * concern around another Store and forwards the rest. `StoreDecorator` forwards every call with
 * its options; a decorator overrides the calls its concern touches (RateLimitedStore: bytes moved;
 * SignalStore: the signal every call carries).
 */
import { MobrError } from '../errors.js';
import type { CallOptions, GetOptions, PutOptions, RangeOptions, Store, StoreEntry } from './store.js';

export class StoreDecorator<S extends Store = Store> implements Store {
  constructor(readonly inner: S) {}

  get location(): string {
    return this.inner.location;
  }

  get rangeSize(): number | undefined {
    return this.inner.rangeSize;
  }

  /** The counters of the store underneath (S3 request counts, for the summary). */
  get stats(): unknown {
    return (this.inner as { stats?: unknown }).stats;
  }

  get(key: string, o?: GetOptions): Promise<Uint8Array> {
    return this.inner.get(key, o);
  }

  getRange(key: string, offset: number, length: number, o?: RangeOptions): Promise<Uint8Array> {
    return this.inner.getRange(key, offset, length, o);
  }

  put(key: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    return this.inner.put(key, data, options);
  }

  has(key: string, o?: CallOptions): Promise<boolean> {
    return this.inner.has(key, o);
  }

  stat(key: string, o?: CallOptions): Promise<StoreEntry | undefined> {
    return this.inner.stat(key, o);
  }

  list(prefix: string, o?: CallOptions): AsyncIterable<StoreEntry> {
    return this.inner.list(prefix, o);
  }

  delete(key: string, o?: CallOptions): Promise<void> {
    return this.inner.delete(key, o);
  }

  sweepTemp(beforeMs: number, o?: CallOptions): Promise<number> {
    return this.inner.sweepTemp ? this.inner.sweepTemp(beforeMs, o) : Promise.resolve(0);
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }
}

/**
 * Every call through it carries `signal` (besides its own): a write session hands its writer and
 * its staging reads a store bound to its lock's signal, so losing the lock aborts the uploads and
 * reads in flight (spec/gc.md §2.1), not only the next step.
 */
export class SignalStore<S extends Store = Store> extends StoreDecorator<S> {
  constructor(
    inner: S,
    readonly signal: AbortSignal,
  ) {
    super(inner);
  }

  private with<O extends CallOptions>(o: O | undefined): O {
    return { ...o, signal: o?.signal ? AbortSignal.any([o.signal, this.signal]) : this.signal } as O;
  }

  override get(key: string, o?: GetOptions): Promise<Uint8Array> {
    return this.inner.get(key, this.with(o));
  }

  override getRange(key: string, offset: number, length: number, o?: RangeOptions): Promise<Uint8Array> {
    return this.inner.getRange(key, offset, length, this.with(o));
  }

  override put(key: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    return this.inner.put(key, data, this.with(options));
  }

  override has(key: string, o?: CallOptions): Promise<boolean> {
    return this.inner.has(key, this.with(o));
  }

  override stat(key: string, o?: CallOptions): Promise<StoreEntry | undefined> {
    return this.inner.stat(key, this.with(o));
  }

  override list(prefix: string, o?: CallOptions): AsyncIterable<StoreEntry> {
    return this.inner.list(prefix, this.with(o));
  }

  override delete(key: string, o?: CallOptions): Promise<void> {
    return this.inner.delete(key, this.with(o));
  }
}

/**
 * Only the keys under one folder: a repository hands out the staging folder of a server backup
 * (`staging/<id>`) this way, and nothing else of itself. Any other key fails with UNSAFE_PATH.
 */
export class FolderStore<S extends Store = Store> extends StoreDecorator<S> {
  constructor(
    inner: S,
    readonly folder: string,
  ) {
    super(inner);
  }

  private inside(key: string): string {
    if (key === this.folder || key.startsWith(`${this.folder}/`)) return key;
    throw new MobrError('UNSAFE_PATH', `${JSON.stringify(key.slice(0, 200))} is outside ${this.folder}`);
  }

  override async get(key: string, o?: GetOptions): Promise<Uint8Array> {
    return this.inner.get(this.inside(key), o);
  }

  override async getRange(key: string, offset: number, length: number, o?: RangeOptions): Promise<Uint8Array> {
    return this.inner.getRange(this.inside(key), offset, length, o);
  }

  override async put(key: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    return this.inner.put(this.inside(key), data, options);
  }

  override async has(key: string, o?: CallOptions): Promise<boolean> {
    return this.inner.has(this.inside(key), o);
  }

  override async stat(key: string, o?: CallOptions): Promise<StoreEntry | undefined> {
    return this.inner.stat(this.inside(key), o);
  }

  override async *list(prefix: string, o?: CallOptions): AsyncIterable<StoreEntry> {
    yield* this.inner.list(this.inside(prefix.replace(/\/+$/, '')), o);
  }

  override async delete(key: string, o?: CallOptions): Promise<void> {
    return this.inner.delete(this.inside(key), o);
  }

  override sweepTemp(): Promise<number> {
    return Promise.resolve(0);
  }
}
