/** A Store wrapper that counts what is written through it (puts, bytes, pack keys). */
import type { PutOptions, Store, StoreEntry } from '../../src/store/store.js';

export class CountingStore<S extends Store = Store> implements Store {
  puts = 0;
  bytes = 0;
  /** Keys of packs written, in order (a pack written twice appears twice). */
  packPuts: string[] = [];
  /** Distinct pack keys written. */
  packKeys = new Set<string>();
  constructor(readonly inner: S) {}
  get location(): string {
    return this.inner.location;
  }
  get(k: string): Promise<Uint8Array> {
    return this.inner.get(k);
  }
  getRange(k: string, o: number, l: number): Promise<Uint8Array> {
    return this.inner.getRange(k, o, l);
  }
  async put(k: string, d: Uint8Array, o?: PutOptions): Promise<void> {
    await this.inner.put(k, d, o);
    this.puts++;
    this.bytes += d.length;
    if (k.startsWith('data/')) {
      this.packPuts.push(k);
      this.packKeys.add(k);
    }
  }
  has(k: string): Promise<boolean> {
    return this.inner.has(k);
  }
  stat(k: string): Promise<StoreEntry | undefined> {
    return this.inner.stat(k);
  }
  list(p: string): AsyncIterable<StoreEntry> {
    return this.inner.list(p);
  }
  delete(k: string): Promise<void> {
    return this.inner.delete(k);
  }
}
