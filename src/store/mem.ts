/**
 * MemStore: an in-memory Store for tests and models. Same contract as every Store. Its mtimes come
 * from `clock` (the store's clock, on which gc measures its safety window and lock staleness).
 */
import { MobrError, checkAborted } from '../errors.js';
import { systemClock, type Clock } from '../util/clock.js';
import { assertSafeKey, type CallOptions, type PutOptions, type Store, type StoreEntry, type GetOptions } from './store.js';

export class MemStore implements Store {
  readonly location = 'memory';
  readonly objects = new Map<string, { data: Uint8Array; mtimeMs: number }>();

  constructor(private readonly clock: Clock = systemClock) {}

  async get(key: string, o?: GetOptions): Promise<Uint8Array> {
    checkAborted(o?.signal);
    assertSafeKey(key);
    const obj = this.objects.get(key);
    if (!obj) throw new MobrError('NOT_FOUND', `read ${key}: not found in memory`);
    return obj.data.slice();
  }

  async getRange(key: string, offset: number, length: number, o?: CallOptions): Promise<Uint8Array> {
    const all = await this.get(key, o);
    if (offset + length > all.length) throw new MobrError('CORRUPT', `read ${key}: short object`);
    return all.subarray(offset, offset + length);
  }

  async put(key: string, data: Uint8Array, options: PutOptions = {}): Promise<void> {
    checkAborted(options.signal);
    assertSafeKey(key);
    if (options.ifNoneMatch && this.objects.has(key)) throw new MobrError('REPO_EXISTS', `write ${key}: already exists in memory`);
    this.objects.set(key, { data: data.slice(), mtimeMs: this.clock.now() });
  }

  async has(key: string, o?: CallOptions): Promise<boolean> {
    checkAborted(o?.signal);
    assertSafeKey(key);
    return this.objects.has(key);
  }

  async stat(key: string, o?: CallOptions): Promise<StoreEntry | undefined> {
    checkAborted(o?.signal);
    assertSafeKey(key);
    const obj = this.objects.get(key);
    return obj ? { key, size: obj.data.length, mtimeMs: obj.mtimeMs } : undefined;
  }

  async *list(prefix: string, o?: CallOptions): AsyncIterable<StoreEntry> {
    checkAborted(o?.signal);
    const p = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    for (const [key, o] of [...this.objects]) {
      if (key.startsWith(p)) yield { key, size: o.data.length, mtimeMs: o.mtimeMs };
    }
  }

  async delete(key: string, o?: CallOptions): Promise<void> {
    checkAborted(o?.signal);
    assertSafeKey(key);
    this.objects.delete(key);
  }
}
