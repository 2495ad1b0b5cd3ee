/**
 * The storage layer: a flat namespace of immutable objects addressed by '/'-separated keys.
 * Implementations: FsStore (a folder), S3Store (a bucket + prefix), MemStore (tests).
 * A store knows nothing of chunks, packs or backups (spec/repository.md §2).
 *
 * Contract every implementation meets (test/store.suite.ts runs it on each):
 * - keys are relative, '/'-separated, made of [A-Za-z0-9._-] segments; never '..' or absolute;
 * - put writes an object whole or not at all: a reader never sees a partial object;
 * - put with { ifNoneMatch: true } fails with code 'REPO_EXISTS' if the key exists;
 * - get / getRange of a missing key fail with code 'NOT_FOUND';
 * - list(prefix) yields every key inside the folder 'prefix' (a key prefix ending at a '/'; '' is
 *   everything), in no particular order, with its size; temp files of unfinished puts never show;
 * - delete of a missing key succeeds.
 */
export interface StoreEntry {
  key: string;
  size: number;
  /** Last modification time, ms since the epoch (used by GC safety windows). */
  mtimeMs?: number;
}

/**
 * Every call takes a signal: once it aborts, the call fails with its reason (a MobrError such as
 * LOCKED when a write session lost its lock, else INTERRUPTED), stopping requests in flight where
 * the backend can (an S3 request, a file read) and at the next step otherwise.
 */
export interface CallOptions {
  signal?: AbortSignal;
}

export interface GetOptions extends CallOptions {
  /**
   * Where to read the whole object: called with its size, returns a view of that many bytes (a
   * reused buffer, as RangeOptions.into) or undefined (the store allocates); the result is then
   * that view, or a shorter prefix of it. Only a store that reads into memory it chooses uses it
   * (a folder); others (S3, memory) return their own buffer, as without it.
   */
  into?: (size: number) => Uint8Array | undefined;
}

export interface RangeOptions extends CallOptions {
  /**
   * A buffer of at least `length` bytes the store may read the range into (the result is then a
   * view of its start), so a caller reading many ranges reuses one buffer instead of touching
   * fresh memory each time. A store that fetches over a network ignores it and returns its own.
   */
  into?: Uint8Array;
}

export interface PutOptions extends CallOptions {
  /** Fail with REPO_EXISTS rather than replace an existing object. */
  ifNoneMatch?: boolean;
  /**
   * Told how many bytes of this object have gone out so far, as they go (for a progress line).
   * The count may start again from 0 (a retry, or the next layer of a decorated store): a caller
   * keeps the highest it saw. Stores that send an object in one request tell it once, when done.
   */
  onSent?: (bytes: number) => void;
}

export interface Store {
  /** A description for messages, never containing secrets ("filesystem /backups/x"). */
  readonly location: string;
  /**
   * The longest ranged read worth making, in bytes, where the store has one: a local folder reads
   * as fast in a few MiB a call (and a reader then holds fewer bytes in flight); unset, a reader
   * makes as few requests as it can (a network store: one GET per pack).
   */
  readonly rangeSize?: number;
  get(key: string, o?: GetOptions): Promise<Uint8Array>;
  getRange(key: string, offset: number, length: number, o?: RangeOptions): Promise<Uint8Array>;
  put(key: string, data: Uint8Array, options?: PutOptions): Promise<void>;
  has(key: string, o?: CallOptions): Promise<boolean>;
  stat(key: string, o?: CallOptions): Promise<StoreEntry | undefined>;
  list(prefix: string, o?: CallOptions): AsyncIterable<StoreEntry>;
  delete(key: string, o?: CallOptions): Promise<void>;
  /**
   * Removes leftovers of puts that never finished (a killed process), last modified before
   * `beforeMs`; returns how many. Only stores that can have such leftovers implement it (a
   * folder's temp files; S3 shows none: a crash leaves at most an invisible multipart upload).
   */
  sweepTemp?(beforeMs: number, o?: CallOptions): Promise<number>;
  close?(): Promise<void>;
}

const SEGMENT = /^[A-Za-z0-9._-]+$/;

/** Throws UNSAFE_PATH unless key is a relative key of safe segments (no '.', '..', empty). */
export function assertSafeKey(key: string): void {
  const parts = key.split('/');
  for (const p of parts) {
    if (!SEGMENT.test(p) || p === '.' || p === '..') {
      throw new UnsafeKeyError(key);
    }
  }
}

import { MobrError } from '../errors.js';
class UnsafeKeyError extends MobrError {
  constructor(key: string) {
    super('UNSAFE_PATH', `unsafe repository key ${JSON.stringify(key.slice(0, 200))}`);
  }
}
