/**
 * An S3 store that loads the AWS SDK (and s3.ts) at its first request: a command that never
 * touches S3 never pays for the SDK (~1 s of module loading). Options are checked, and the
 * location known, at once, exactly as S3Store does.
 */
import { s3Where, validateS3Options, type S3StoreOptions } from './s3-options.js';
import type { CallOptions, GetOptions, PutOptions, Store, StoreEntry } from './store.js';
import type { S3RequestStats, S3Store } from './s3.js';

export class LazyS3Store implements Store {
  readonly location: string;
  private loaded?: Promise<S3Store>;
  private real?: S3Store;

  constructor(private readonly options: S3StoreOptions) {
    validateS3Options(options);
    this.location = s3Where(options).location;
  }

  /** The real store (loading the SDK the first time). */
  s3(): Promise<S3Store> {
    this.loaded ??= import('./s3.js').then((m) => (this.real = new m.S3Store(this.options)));
    return this.loaded;
  }

  /** Requests sent so far (none before the first request loads the real store). */
  get stats(): S3RequestStats {
    return this.real?.stats ?? { put: 0, get: 0, list: 0, head: 0, delete: 0, retries: 0 };
  }

  async get(key: string, o?: GetOptions): Promise<Uint8Array> {
    return (await this.s3()).get(key, o);
  }
  async getRange(key: string, offset: number, length: number, o?: CallOptions): Promise<Uint8Array> {
    return (await this.s3()).getRange(key, offset, length, o);
  }
  async put(key: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    return (await this.s3()).put(key, data, options);
  }
  async has(key: string, o?: CallOptions): Promise<boolean> {
    return (await this.s3()).has(key, o);
  }
  async stat(key: string, o?: CallOptions): Promise<StoreEntry | undefined> {
    return (await this.s3()).stat(key, o);
  }
  async *list(prefix: string, o?: CallOptions): AsyncIterable<StoreEntry> {
    yield* (await this.s3()).list(prefix, o);
  }
  async delete(key: string, o?: CallOptions): Promise<void> {
    return (await this.s3()).delete(key, o);
  }
  async close(): Promise<void> {
    if (this.loaded) await (await this.loaded).close();
  }
}
