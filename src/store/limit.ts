/**
 * The concurrency limit as a Store decorator (issue #25, as restic's limiter backend): at most
 * `size` calls run at once in the store underneath; the others wait for a permit, a wait that
 * their signal ends. A listing takes a permit for each step (page) it reads, not for its whole
 * life, so a slow consumer never holds one. A multipart upload holds one permit for its parts.
 */
import type { CallOptions, GetOptions, PutOptions, RangeOptions, Store, StoreEntry } from './store.js';
import { StoreDecorator } from './decorator.js';
import { Semaphore } from '../util/concurrency.js';

export class LimitStore<S extends Store = Store> extends StoreDecorator<S> {
  private readonly sem: Semaphore;

  constructor(inner: S, size: number) {
    super(inner);
    this.sem = new Semaphore(size);
  }

  override get(key: string, o?: GetOptions): Promise<Uint8Array> {
    return this.sem.run(() => this.inner.get(key, o), o?.signal);
  }

  override getRange(key: string, offset: number, length: number, o?: RangeOptions): Promise<Uint8Array> {
    return this.sem.run(() => this.inner.getRange(key, offset, length, o), o?.signal);
  }

  override put(key: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    return this.sem.run(() => this.inner.put(key, data, options), options?.signal);
  }

  override has(key: string, o?: CallOptions): Promise<boolean> {
    return this.sem.run(() => this.inner.has(key, o), o?.signal);
  }

  override stat(key: string, o?: CallOptions): Promise<StoreEntry | undefined> {
    return this.sem.run(() => this.inner.stat(key, o), o?.signal);
  }

  override async *list(prefix: string, o?: CallOptions): AsyncIterable<StoreEntry> {
    const it = this.inner.list(prefix, o)[Symbol.asyncIterator]();
    try {
      for (;;) {
        const step = await this.sem.run(() => it.next(), o?.signal);
        if (step.done) return;
        yield step.value;
      }
    } finally {
      await it.return?.();
    }
  }

  override delete(key: string, o?: CallOptions): Promise<void> {
    return this.sem.run(() => this.inner.delete(key, o), o?.signal);
  }
}
