/** A Store decorator that counts what is written through it (puts, bytes, pack keys). */
import { StoreDecorator } from '../../src/store/decorator.js';
import type { PutOptions, Store } from '../../src/store/store.js';

export class CountingStore<S extends Store = Store> extends StoreDecorator<S> {
  puts = 0;
  bytes = 0;
  /** Keys of packs written, in order (a pack written twice appears twice). */
  packPuts: string[] = [];
  /** Distinct pack keys written. */
  packKeys = new Set<string>();

  override async put(k: string, d: Uint8Array, o?: PutOptions): Promise<void> {
    await this.inner.put(k, d, o);
    this.puts++;
    this.bytes += d.length;
    if (k.startsWith('data/')) {
      this.packPuts.push(k);
      this.packKeys.add(k);
    }
  }
}
