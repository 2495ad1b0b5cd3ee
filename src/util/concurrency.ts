/**
 * Bounded concurrency, the two helpers: `mapLimit` (a list, at most `limit` items at once) and
 * `Semaphore` (any calls, at most `size` at once: the S3 store's requests in flight), and the
 * fixed limits (and fixed thread counts), named once with the reason for each number.
 */
import { checkAborted } from '../errors.js';

/** Small store objects read at once (index files, manifests): each read is a round trip, not bandwidth. */
export const SMALL_READS = 8;
/** Packs probed at once by repair (a size or header read each): a round trip each, fewer than small reads as each may be a full pack. */
export const PACK_PROBES = 4;
/** Whole packs copied at once by sync: each is in memory (up to its pack size, 16 MiB by default) while it is checked. */
export const WHOLE_PACKS = 3;
/**
 * Whole objects read at once by check --without_key: each is in memory (a pack, up to its pack
 * size) and hashed on this thread, so one is read while the other is hashed.
 */
export const KEYLESS_READS = 2;
/** Pack reads in flight beyond the worker threads (check): one fetched while the workers decode the others. */
export const READ_AHEAD = 1;
/** Pack reads in flight beyond the worker threads (restore): one more than check's, as a read also waits on its files' writes. */
export const RESTORE_READ_AHEAD = 2;
/** Streamed files restored at once at the least: so one slow file (a large one, a slow disk) does not hold up the others. */
export const MIN_RESTORE_FILES = 3;
/**
 * Full packs being stored at once by a backup, beside the ones being filled: each holds a pack
 * buffer (16 MiB by default) until stored. One: a second in flight cost 16 MiB of peak RSS and
 * gained no speed (2 GiB backup, two workers, load 10-14: 13.0-14.3 s vs 14.8-15.3 s; the disk
 * is the limit, and fillers go on filling the next pack during the upload).
 */
export const PACK_UPLOADS = 1;
/** S3 requests in flight when --parallelism does not say (S3StoreOptions.parallelism, MatrixOne restore to S3). */
export const S3_REQUESTS = 4;
/**
 * Worker threads of `sync`'s pool, which decodes and checks the chunks of the packs it copies (64
 * chunks a task, one task at a time per pack in flight): that runs far faster than a pack is read
 * and sent, so two threads keep up, and each thread more costs its start-up (~0.2 CPU-s).
 */
export const SYNC_THREADS = 2;

/**
 * Running work over a list, at most `limit` items at once: the one helper every loop of that kind
 * uses. On the first failure no further item starts; the items already running finish (so none
 * leaves a half-written temp file behind), then that first failure is thrown. `lane` (0 to
 * limit-1) names the loop running the item: one item at a time per lane (e.g. a pack per lane).
 */
export async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T, i: number, lane: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  let failure: unknown;
  const lane = async (_: unknown, k: number) => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        await fn(items[i]!, i, k);
      } catch (e) {
        if (!failed) failure = e;
        failed = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failed) throw failure;
}

/** A counting semaphore: at most `size` run() bodies execute at once, the rest wait in order. */
export class Semaphore {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(size: number) {
    this.free = Math.max(1, Math.floor(size));
  }

  /** Runs fn with a permit; a signal that aborts while waiting gives up the wait (with its reason). */
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    checkAborted(signal);
    if (this.free > 0) this.free--;
    else await this.wait(signal);
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }

  private wait(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const take = () => {
        signal?.removeEventListener('abort', leave);
        resolve();
      };
      const leave = () => {
        const i = this.waiting.indexOf(take);
        if (i >= 0) this.waiting.splice(i, 1); // never handed the permit: nothing to give back
        try {
          checkAborted(signal);
        } catch (e) {
          reject(e);
        }
      };
      this.waiting.push(take);
      signal?.addEventListener('abort', leave, { once: true });
    });
  }
}
