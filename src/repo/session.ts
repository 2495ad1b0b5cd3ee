/**
 * Repository sessions (spec/gc.md §2.1): the one way a process writes to a repository.
 *
 * `writeSession` (backups, server backups, shares) takes a shared lock, keeps it refreshed, loads
 * the index afresh under it (a gc before the lock may have removed what we knew) and forgets
 * packs that are missing or damaged, then runs the work with a `WriteSession`:
 * - one `signal` that fires on the caller's signal (Ctrl-C, SIGTERM) or on the loss of the lock;
 * - writers whose uploads in flight the lock's loss aborts (a SignalStore on the lock's signal);
 * - `commit`: every chunk the manifest names is indexed, the lock is still ours, then the manifest;
 * - on failure, the writers are abandoned: what they stored is indexed only when the work was
 *   stopped on request and the lock is still ours (the next backup reuses it), never after a loss.
 * The lock is released at the end, whatever happened. `exclusiveSession` (gc, repair, key remove
 * and passwd) takes the exclusive lock and gives the same signal and fences; `sharedSession` (key
 * add, sync's source) a shared lock with no writer; `readSession` (restore) a shared lock that
 * keeps gc from deleting what it reads (spec/gc.md §2.4).
 */
import { MobrError, checkAborted, isMobrError } from '../errors.js';
import { FolderStore, SignalStore } from '../store/decorator.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import { bestEffort } from '../util/best-effort.js';
import { PACK_UPLOADS } from '../util/concurrency.js';
import { acquireLock, lockNotice, releaseOrWarn, withExclusiveLock, withSharedLock, type LockOptions, type RepoLock } from './lock.js';
import { ownTable, type FileEntry, type Manifest } from './manifest.js';
import type { FileTable } from './file-table.js';
import type { Repository } from './repository.js';
import { RepoWriter } from './writer.js';
import { stagingFolder } from './keys.js';

interface SessionOptions {
  /** Shown to whoever meets the lock, and in LOCKED messages ("backup <id>", "gc"). */
  purpose: string;
  /** Ctrl-C / SIGTERM: stops the wait for the lock, and the work at its next step. */
  signal?: AbortSignal;
  /** Our wall clock, on which the lock's refreshes are timed. Default: the system's. */
  clock?: Clock;
  /** staleMs, waitMs, … (tests; they win over the fields above); a shared session waits up to 10 min for a gc by default. */
  lock?: LockOptions;
}

/** What a session locks: a repository, or only its store (the key commands open no index). */
type LockTarget = Pick<Repository, 'store'>;

/** What a session works with: its lock, and one signal for Ctrl-C and lock loss. */
export class LockedSession {
  /** Fires on the caller's signal or when the lock is lost (its reason: INTERRUPTED or LOCKED). */
  readonly signal: AbortSignal;

  constructor(
    readonly lock: RepoLock,
    callerSignal?: AbortSignal,
  ) {
    this.signal = callerSignal ? AbortSignal.any([callerSignal, lock.signal]) : lock.signal;
  }

  /** The store's clock when the lock was taken. */
  get storeNow(): number {
    return this.lock.storeNow;
  }

  /** Throws (INTERRUPTED or LOCKED) once the work must stop; synchronous, for loops (irreversible steps call assertHeld). */
  check(): void {
    this.lock.checkLost();
    checkAborted(this.signal);
  }

  /** The fence before an irreversible write: LOCKED unless the lock is surely still ours. */
  assertHeld(): Promise<void> {
    return this.lock.assertHeld();
  }
}

export class WriteSession extends LockedSession {
  private readonly writers: RepoWriter[] = [];
  /** The repository's store with the lock's signal on every call: a lost lock aborts what is in flight. */
  private readonly fenced: Store;

  constructor(
    readonly repo: Repository,
    lock: RepoLock,
    callerSignal?: AbortSignal,
  ) {
    super(lock, callerSignal);
    this.fenced = new SignalStore(repo.store, lock.signal);
  }

  /** A pack writer for this session; its uploads stop when the lock is lost. */
  writer(): RepoWriter {
    const w = new RepoWriter(this.repo, PACK_UPLOADS, this.lock.signal);
    this.writers.push(w);
    return w;
  }

  /** The staging folder of server backup `id` (`staging/<id>`), and nothing else of the repository. */
  staging(id: string): Store {
    return new FolderStore(this.repo.store, stagingFolder(id));
  }

  /** The repository's store, fenced (the shares' plan and parts, src/repo/parts.ts). */
  get store(): Store {
    return this.fenced;
  }

  /** True when every chunk of a file entry is in the repository's index. */
  indexed(f: FileEntry): boolean {
    return this.repo.indexesAll(f);
  }

  /** NOT_FOUND naming the first file whose chunks are not all indexed (`what`: "backup <id>"). */
  assertIndexed(files: FileEntry[], what: string): void {
    for (const f of files) {
      if (f.kind === 'file' && !this.indexed(f)) throw new MobrError('NOT_FOUND', `${what}: ${f.path} refers to chunks the repository lacks`);
    }
  }

  /** assertIndexed for a manifest's table (no entry object made). */
  private assertRowsIndexed(t: FileTable, what: string): void {
    for (let k = 0; k < t.length; k++) {
      if (t.kind(k) === 'file' && !this.repo.indexesRow(t, k)) throw new MobrError('NOT_FOUND', `${what}: ${t.path(k)} refers to chunks the repository lacks`);
    }
  }

  /** Writes the manifest, last: its chunks indexed, the lock still ours (fencing). */
  async commit(m: Manifest): Promise<Manifest> {
    const t = ownTable(m);
    if (t) this.assertRowsIndexed(t, `backup ${m.id}`);
    else this.assertIndexed(m.files, `backup ${m.id}`);
    await this.assertHeld(); // fencing: never commit after losing the lock
    await this.repo.saveManifest(m);
    return m;
  }

  /**
   * After a failure: waits for the writers' uploads. Stopped on request with the lock still
   * ours, what they stored is indexed, so the next backup reuses it.
   */
  async abandon(e: unknown): Promise<void> {
    const keep = isMobrError(e, 'INTERRUPTED') && (await this.assertHeld().then(() => true, () => false));
    for (const w of this.writers) await bestEffort(w.abandon({ index: keep }), `${this.lock.purpose}: finish the uploads of a failed backup`);
  }
}

const lockOptions = (o: SessionOptions): LockOptions => ({ purpose: o.purpose, signal: o.signal, clock: o.clock, ...o.lock });

/** Runs fn in a write session (shared lock) on repo; see the header. */
export function writeSession<T>(repo: Repository, o: SessionOptions, fn: (s: WriteSession) => Promise<T>): Promise<T> {
  return withSharedLock(repo, async (lock) => {
    const s = new WriteSession(repo, lock, o.signal);
    try {
      await repo.refreshIndex(); // a gc before the lock may have removed chunks we loaded
      await repo.dropUnsoundPacks(); // never dedup against a pack that is gone or damaged
      s.check();
      return await fn(s);
    } catch (e) {
      await s.abandon(e);
      throw e;
    }
  }, lockOptions(o));
}

/** Runs fn holding a shared lock on target, with no writer and no index (key add, sync's source). */
export function sharedSession<T>(target: LockTarget, o: SessionOptions, fn: (s: LockedSession) => Promise<T>): Promise<T> {
  return withSharedLock(target, (lock) => fn(new LockedSession(lock, o.signal)), lockOptions(o));
}

/** Runs fn holding the exclusive lock on target (gc, repair, key remove and passwd). */
export function exclusiveSession<T>(target: LockTarget, o: SessionOptions, fn: (s: LockedSession) => Promise<T>): Promise<T> {
  return withExclusiveLock(target.store, (lock) => fn(new LockedSession(lock, o.signal)), lockOptions(o));
}

/**
 * Runs a reader (restore) holding a shared lock on repo (spec/gc.md §2.4): a gc waits for it, or
 * defers its deletions, so nothing it reads is deleted under it. Under the lock the index is
 * brought up to date (`Repository.syncIndex`: reloaded if a gc replaced an object of it).
 * Losing the lock does not stop a reader: every chunk it reads is checked, so a gc that
 * deleted under it makes it fail (NOT_FOUND), never write wrong bytes. A repository this process
 * may not write (ACCESS_DENIED on its lock object: read-only keys or mount) is read without a
 * lock, with a warning, as before locks were taken for reading.
 */
export async function readSession<T>(repo: Repository, o: SessionOptions, fn: () => Promise<T>): Promise<T> {
  let lock: RepoLock | undefined;
  try {
    lock = await acquireLock(repo.store, 'shared', { waitMs: 10 * 60_000, ...lockOptions(o), reader: true });
  } catch (e) {
    if (!isMobrError(e, 'ACCESS_DENIED')) throw e;
    const risk = 'a gc running meanwhile may delete what it reads (it then fails, never restores wrong bytes)';
    lockNotice(`${o.purpose}: reading ${repo.store.location} without a lock (${e.message}); ${risk}`);
  }
  try {
    // a gc before the lock may have replaced index objects we loaded: then the index is loaded
    // afresh (the replacement names the repacked copies); one LIST of index/, none of data/
    await repo.syncIndex();
    return await fn();
  } finally {
    if (lock) await releaseOrWarn(lock);
  }
}
