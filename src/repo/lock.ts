/**
 * Repository locks (spec/gc.md §2.1): `locks/<random id>` objects, shared for backups and syncs,
 * exclusive for gc. No atomic create is needed: each party writes its lock, then lists `locks/`;
 * of two conflicting parties at least one sees the other and backs off. Holders refresh their
 * object every `refreshMs`; a lock whose store mtime is older than `staleMs` on the store's own
 * clock (or whose holder is provably gone) is stale. Nobody walks past an exclusive lock unless its
 * holder is provably gone; a holder whose refresh is overdue (wall clock) has lost its lock.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { MobrError, checkAborted, isMobrError } from '../errors.js';
import type { Store } from '../store/store.js';
import { lockKey } from './keys.js';
import type { Repository } from './repository.js';
import { processIdentity, provablyGone, type ProcessIdentity } from '../util/process.js';
import { systemClock, type Clock } from '../util/clock.js';
import { bestEffort, reportUnthrown } from '../util/best-effort.js';
import { sleep } from '../util/sleep.js';

export type LockKind = 'shared' | 'exclusive';

export interface LockOptions {
  /** A lock not refreshed for this long (store clock) is stale. Default 30 min. */
  staleMs?: number;
  /** Refresh period. Default 5 min. */
  refreshMs?: number;
  /** How long to wait for a conflicting lock to go away before LOCKED. */
  waitMs?: number;
  /** Shown to whoever meets the lock ("backup 2560…", "gc"). */
  purpose?: string;
  /** Our wall clock: the lock's `createdAt`, and "now" if the store gives no mtime. Default: the system's. */
  clock?: Clock;
  /** Stops the wait for a conflicting lock with INTERRUPTED. */
  signal?: AbortSignal;
  /**
   * A shared lock that frees no data (spec/gc.md §2.4): a reader (restore, check, …: it deletes
   * nothing and checks every chunk) or a manifest removal (it only makes data dead). An exclusive
   * lock past staleMs does not stop it; it goes on beside it, told once (`beside`: what it does,
   * default "reading beside it").
   */
  reader?: boolean;
  beside?: string;
}

export interface LockInfo extends ProcessIdentity {
  key: string;
  kind: LockKind;
  purpose: string;
  createdAt: number;
  mtimeMs?: number;
  /** The object does not parse as a lock (see UNREADABLE_STALE_MS). */
  unreadable?: boolean;
}

export const DEFAULT_STALE_MS = 30 * 60_000;
/**
 * A lock object that does not parse is no process's lock: objects are written whole (a folder's
 * temp file + rename, an S3 PUT), so it is damage or a stray file, not a write in progress. It
 * blocks like an exclusive lock only this long (store clock), then counts as stale; every
 * process that meets it says so (lockNotices).
 */
export const UNREADABLE_STALE_MS = 60_000;

let notify: (message: string) => void = () => undefined;
/** Where lock notices go (the CLI prints them on stderr as `mo_br: warning: …`). */
export function lockNotices(sink: (message: string) => void): void {
  notify = sink;
}
/** A notice to whoever runs us (the sink lockNotices set). */
export function lockNotice(message: string): void {
  notify(message);
}
export const DEFAULT_REFRESH_MS = 5 * 60_000;

let staleDefault = DEFAULT_STALE_MS;
/** The staleMs used when a caller gives none (the CLI's test hook MOBR_TEST_LOCK_STALE_MS sets it; spec/cli.md "Test hooks"). */
export function defaultStaleMs(ms?: number): number {
  if (ms !== undefined) staleDefault = ms;
  return staleDefault;
}

const encoder = new TextEncoder();

/** Every lock object with its store mtime; unreadable ones count as exclusive (safe side). */
export async function listLocks(store: Store): Promise<LockInfo[]> {
  const out: LockInfo[] = [];
  for await (const e of store.list('locks')) {
    try {
      const o = JSON.parse(new TextDecoder().decode(await store.get(e.key))) as Partial<LockInfo>;
      const opt = (v: unknown) => (v === undefined || v === null ? undefined : v);
      out.push({ key: e.key, kind: o.kind === 'shared' ? 'shared' : 'exclusive', host: String(o.host ?? ''), pid: Number(o.pid ?? 0), boot: opt(o.boot) as string | undefined, pidns: opt(o.pidns) as number | undefined, start: opt(o.start) as string | undefined, purpose: String(o.purpose ?? ''), createdAt: Number(o.createdAt ?? 0), mtimeMs: e.mtimeMs });
    } catch (err) {
      if (isMobrError(err, 'NOT_FOUND')) continue; // released meanwhile
      out.push({ key: e.key, kind: 'exclusive', host: '', pid: 0, purpose: 'unreadable lock', createdAt: 0, mtimeMs: e.mtimeMs, unreadable: true });
    }
  }
  return out;
}

/** The lock's holder is provably gone (src/util/process.ts): it writes nothing more. */
export function holderGone(l: LockInfo): boolean {
  return !l.unreadable && provablyGone(l);
}

/** Not refreshed for staleMs by the store's clock (or unreadable for a minute), or its holder is provably gone. */
export function isStale(l: LockInfo, storeNow: number, staleMs: number): boolean {
  if (l.unreadable) return l.mtimeMs === undefined || storeNow - l.mtimeMs > Math.min(staleMs, UNREADABLE_STALE_MS);
  if (holderGone(l)) return true;
  return l.mtimeMs !== undefined && storeNow - l.mtimeMs > staleMs;
}

/**
 * May a process taking a `kind` lock go ahead beside `l` (spec/gc.md §2.1)? Two shared locks never
 * conflict. Nobody walks past an exclusive lock, however old, unless its holder is provably gone:
 * a gc frozen past staleMs still holds its plan, and resumes to act on it. An exclusive lock
 * walks past a shared one that is stale (its holder's fencing stops it before it commits).
 */
export function mayPass(kind: LockKind, l: LockInfo, storeNow: number, staleMs: number): boolean {
  if (l.unreadable) return isStale(l, storeNow, staleMs);
  if (l.kind === 'exclusive') return holderGone(l);
  return kind === 'shared' || isStale(l, storeNow, staleMs);
}

/** The lock was lost (removed, or not refreshed in time): nothing irreversible may follow. */
export class LockLostError extends MobrError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('LOCKED', message, options);
  }
}

/** e, or an error it was wrapped in, says the lock was lost. */
export function isLockLost(e: unknown): boolean {
  for (let x = e, n = 0; x instanceof Error && n < 10; x = x.cause, n++) if (x instanceof LockLostError) return true;
  return false;
}

const minutes = (ms: number) => (ms >= 90_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`);

export class RepoLock {
  private timer: NodeJS.Timeout | undefined;
  /** When the last successful refresh (or the first write) began: wall clock and monotonic. */
  private lastWall: number;
  private lastMono = performance.now();
  private lostBecause: string | undefined;
  private released = false;
  private readonly controller = new AbortController();
  /** Why the last refresh failed (kept as the cause of a later LOCKED). */
  private refreshError: unknown;
  /** The store's clock when the lock was taken (mtime of our own lock object). */
  storeNow = 0;
  /**
   * Other lock objects seen when it was taken, stale ones included, except those whose holder is
   * provably gone: 0 means no process that could still write held the repository.
   */
  othersSeen = 0;

  constructor(
    readonly store: Store,
    readonly key: string,
    readonly kind: LockKind,
    private readonly body: Uint8Array,
    readonly staleMs: number,
    private readonly refreshMs: number,
    private readonly clock: Clock = systemClock,
    readonly purpose: string = kind,
  ) {
    this.lastWall = clock.now();
  }

  /** Fires (with a LockLostError as reason) when the lock is lost: work under it must stop. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /**
   * Time since the last successful refresh began: the larger of the wall clock's and the
   * monotonic clock's count, so neither a suspended host (monotonic stops) nor a wall clock set
   * back hides it.
   */
  sinceRefresh(): number {
    return Math.max(this.clock.now() - this.lastWall, performance.now() - this.lastMono);
  }

  /**
   * Lost once its last successful refresh began longer ago than this (3/4 of staleMs, restic's
   * "refreshability timeout"): a refresh PUT that lands later might land after another process
   * judged the lock stale. Before that, a heartbeat held up (a busy or starved event loop, a slow
   * store) still renews the lock in time (spec/gc.md §2.1).
   */
  get lossMs(): number {
    return (this.staleMs * 3) / 4;
  }

  /** The fence before an irreversible step: the last refresh began within staleMs / 2, so the step has staleMs / 2 to land (spec/gc.md §2.1). */
  get fenceMs(): number {
    return this.staleMs / 2;
  }

  /** Marks the lock lost (once) and fires its signal. */
  private lose(why: string): void {
    if (this.lostBecause !== undefined || this.released) return;
    this.lostBecause = why;
    if (this.timer) clearInterval(this.timer);
    this.controller.abort(this.lostError());
  }

  private lostError(): LockLostError {
    return new LockLostError(`${this.purpose} lost the repository lock on ${this.store.location} (${this.lostBecause})${this.kind === 'shared' ? '; nothing was committed, run it again' : ''}`, { cause: this.refreshError });
  }

  private checkOverdue(limitMs = this.lossMs): void {
    const since = this.sinceRefresh();
    if (since > limitMs) this.lose(`not refreshed for ${minutes(since)}`);
  }

  startHeartbeat(): void {
    // a failed refresh is retried at the next tick; fencing (check) fails if none succeeds in time
    this.timer = setInterval(() => void this.tryRefresh(), this.refreshMs);
    this.timer.unref();
  }

  /**
   * Re-writes the lock object (renewing its mtime), unless it is overdue (it may have been judged
   * stale: a lock once overdue is lost for good) or someone removed it.
   */
  async refresh(): Promise<void> {
    if (this.released) return;
    this.checkOverdue();
    if (this.lostBecause !== undefined) return;
    const [wall, mono] = [this.clock.now(), performance.now()];
    if (!(await this.store.stat(this.key))) return this.lose('removed by another process');
    await this.store.put(this.key, this.body);
    this.checkOverdue(); // the refresh itself took too long: its mtime may be after a removal
    if (this.lostBecause !== undefined) return;
    [this.lastWall, this.lastMono] = [wall, mono];
  }

  /** A refresh in flight: release waits for it, or its PUT could bring the object back. */
  private inflight: Promise<void> | undefined;

  private tryRefresh(): Promise<void> {
    this.inflight ??= this.refreshOnce().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  private async refreshOnce(): Promise<void> {
    try {
      await this.refresh();
      this.refreshError = undefined;
    } catch (e) {
      this.refreshError = e;
      reportUnthrown(`refresh lock ${this.key} on ${this.store.location}`, e);
      this.checkOverdue();
    }
  }

  /** Synchronous, for work loops: LOCKED once the lock is lost (removed, or not refreshed for lossMs). */
  checkLost(): void {
    if (this.released) return;
    this.checkOverdue();
    if (this.lostBecause !== undefined) throw this.lostError();
  }

  /** Synchronous fence (before each deletion of a batch): LOCKED once lost, or once the last refresh began over fenceMs ago (then lost). */
  check(): void {
    if (this.released) return;
    this.checkOverdue(this.fenceMs);
    if (this.lostBecause !== undefined) throw this.lostError();
  }

  /**
   * Fencing check before an irreversible write: LOCKED unless the lock is surely still ours. A
   * lock not refreshed for staleMs / 4 is refreshed first (twice if the refresh it met in flight
   * began before a stall), so a held-up heartbeat does not fail the fence while the lock is not lost.
   */
  async assertHeld(): Promise<void> {
    this.checkLost();
    if (this.sinceRefresh() <= this.staleMs / 4) {
      if (!(await this.store.stat(this.key))) this.lose('removed by another process');
    } else {
      const met = this.inflight !== undefined;
      await this.tryRefresh();
      if (met && this.sinceRefresh() > this.staleMs / 4) await this.tryRefresh();
    }
    this.check();
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    if (this.timer) clearInterval(this.timer);
    await this.inflight;
    await this.store.delete(this.key);
  }
}

/** Takes a lock (write, then list); waits up to waitMs for conflicting live locks to go. */
export async function acquireLock(store: Store, kind: LockKind, o: LockOptions = {}): Promise<RepoLock> {
  const staleMs = o.staleMs ?? staleDefault;
  const refreshMs = o.refreshMs ?? Math.min(DEFAULT_REFRESH_MS, Math.max(1, Math.floor(staleMs / 6)));
  const deadline = performance.now() + (o.waitMs ?? 0);
  const id = randomBytes(16).toString('hex');
  const key = lockKey(id);
  const noticed = new Set<string>();
  const clock = o.clock ?? systemClock;
  const { host, pid, boot, pidns, start } = processIdentity();
  const body = encoder.encode(JSON.stringify({ v: 1, kind, host, pid, boot, pidns, start, nonce: id, createdAt: clock.now(), purpose: o.purpose ?? kind }));
  for (let attempt = 0; ; attempt++) {
    checkAborted(o.signal);
    const lock = new RepoLock(store, key, kind, body, staleMs, refreshMs, clock, o.purpose ?? kind); // its clocks start before the write
    await store.put(key, body);
    try {
      lock.storeNow = (await store.stat(key))?.mtimeMs ?? clock.now();
      const others = (await listLocks(store)).filter((l) => l.key !== key);
      for (const l of others) {
        if (!l.unreadable || noticed.has(l.key)) continue;
        noticed.add(l.key);
        const stale = isStale(l, lock.storeNow, staleMs);
        const age = l.mtimeMs === undefined ? '' : ` (${Math.round((lock.storeNow - l.mtimeMs) / 1000)} s old)`;
        notify(`${store.location}: ${l.key} is not a readable lock${age}; ${stale ? (kind === 'exclusive' ? 'removing it' : 'ignoring it (gc removes it)') : `it counts as a lock until it is ${UNREADABLE_STALE_MS / 1000} s old`}`);
      }
      const passedByReader = (l: LockInfo) => o.reader === true && l.kind === 'exclusive' && isStale(l, lock.storeNow, staleMs);
      const blocking = others.filter((l) => !mayPass(kind, l, lock.storeNow, staleMs) && !passedByReader(l));
      if (blocking.length === 0) {
        const beside = others.filter((x) => passedByReader(x) && !x.unreadable && !holderGone(x));
        for (const l of beside) notify(`${blockedBy(store, l, lock.storeNow, staleMs)}; ${o.beside ?? 'reading beside it'}`);
        lock.othersSeen = others.filter((l) => !holderGone(l)).length; // a provably gone process writes nothing more
        if (kind === 'exclusive') for (const l of others) await store.delete(l.key); // all stale, or provably gone
        lock.startHeartbeat();
        return lock;
      }
      await store.delete(key);
      if (performance.now() >= deadline) {
        throw new MobrError('LOCKED', blockedBy(store, blocking[0], lock.storeNow, staleMs));
      }
    } catch (e) {
      await bestEffort(store.delete(key), `remove lock ${key} from ${store.location} after a failure`);
      throw e;
    }
    await sleep(Math.min(2000, 50 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random()), o.signal);
  }
}

/** Who holds the repository, for LOCKED; an exclusive lock past staleMs is named as such (only `unlock` removes it, src/repo/unlock.ts). */
function blockedBy(store: Store, b: LockInfo, storeNow: number, staleMs: number): string {
  const who = `${store.location} is locked by ${b.purpose} (${b.kind}, host ${b.host || '?'} pid ${b.pid || '?'})`;
  const age = b.mtimeMs === undefined ? 0 : storeNow - b.mtimeMs;
  if (b.kind === 'exclusive' && !b.unreadable && age > staleMs) {
    return `${who}, not refreshed for ${minutes(age)}: a paused process may still hold it; if it is gone for good, \`mo_br unlock\` removes ${b.key}`;
  }
  return `${who}; try again later`;
}

/** Runs fn holding a shared lock on repo (backups, syncs); waits up to 10 min for a gc to end. */
export async function withSharedLock<T>(repo: Pick<Repository, 'store'>, fn: (lock: RepoLock) => Promise<T>, o: LockOptions = {}): Promise<T> {
  const lock = await acquireLock(repo.store, 'shared', { waitMs: 10 * 60_000, ...o });
  try {
    return await fn(lock);
  } finally {
    await releaseOrWarn(lock);
  }
}

/** Runs fn holding the exclusive lock (gc). */
export async function withExclusiveLock<T>(store: Store, fn: (lock: RepoLock) => Promise<T>, o: LockOptions = {}): Promise<T> {
  const lock = await acquireLock(store, 'exclusive', o);
  try {
    return await fn(lock);
  } finally {
    await releaseOrWarn(lock);
  }
}

/**
 * Releases a lock once its work is done (or failed). A release that fails does not undo the work
 * nor hide its error: the user is told (lock notices) that the object stays until it is stale.
 */
export async function releaseOrWarn(lock: RepoLock): Promise<void> {
  try {
    await lock.release();
  } catch (e) {
    const blocks = lock.kind === 'exclusive' ? 'backups and gc' : 'gc';
    notify(`could not remove the ${lock.kind} lock ${lock.key} from ${lock.store.location} (${e instanceof Error ? e.message : String(e)}); it blocks ${blocks} until it is stale: at once for processes on this host once this one has ended, after ${Math.round(lock.staleMs / 60_000)} min for others (or remove it by hand)`);
  }
}
