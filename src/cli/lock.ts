/**
 * An exclusive lock file beside the catalog (`mo_br.meta.lock`), so two mo_br processes never
 * interleave a read-modify-write of the catalog. It holds `{pid, host, nonce, at}`, written whole
 * to a temp file first and then hard-linked into place (link fails if a lock exists), so a lock
 * file is never empty or half written, and a failed write (disk full) leaves no lock. It names its
 * holder as the repository lock does (host, pid, boot id, PID namespace, start time: util/process.ts).
 * A lock is stale when its holder is provably gone (same host, boot and PID namespace, and the pid
 * free or reused), when it is older than STALE_MS (another host or namespace, a process that hung,
 * an older mobr's lock without those facts), or when it does not parse (damage, or a leftover of an
 * older mobr that wrote in place) once older than UNPARSABLE_GRACE_MS: then it is moved aside and retried.
 * Locks are held for milliseconds (read, modify, write), never during a backup, so they are not
 * refreshed: a holder that overruns STALE_MS (paused, or stalled on a dead mount) is as good as
 * gone. Instead the holder is fenced: `held()` (given to fn) fails LOCKED once its lock file no
 * longer holds its nonce, and the catalog calls it right before it replaces the file, so a holder
 * whose lock was broken writes nothing (spec/meta.md "Writing both atomically").
 *
 * Not the repository lock (src/repo/lock.ts), on purpose: that one lives on any Store (S3 too),
 * is held for hours, shared or exclusive, with a heartbeat, fencing and the store's clock; this
 * one guards one local file for milliseconds and needs only an atomic create (link). What they
 * share, whether a holder is provably gone, is one function (util/process.ts provablyGone).
 */
import { promises as fsp, constants as fsc } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { deniedReason, MobrError, withContext } from '../errors.js';
import { processIdentity, provablyGone, type ProcessIdentity } from '../util/process.js';
import { systemClock, type Clock } from '../util/clock.js';
import { bestEffort, ignoreMissing, isMissing, reportUnthrown } from '../util/best-effort.js';
import { sleep } from '../util/sleep.js';

const STALE_MS = 120_000;
/** An unparsable lock younger than this may be an older mobr's O_EXCL create still being written. */
const UNPARSABLE_GRACE_MS = 2_000;

interface LockInfo extends ProcessIdentity {
  nonce: string;
  at: number;
}


/** The lock's contents; undefined when it is missing or does not parse (damaged, or an older mobr still writing it). */
async function readLock(file: string): Promise<LockInfo | undefined> {
  const text = await ignoreMissing(fsp.readFile(file, 'utf8')).catch((e) => Promise.reject(lockError(file, e)));
  if (text === undefined) return undefined;
  try {
    const o = JSON.parse(text) as LockInfo;
    return typeof o.pid === 'number' && typeof o.nonce === 'string' ? o : undefined;
  } catch {
    return undefined; // not JSON: judged by its age (UNPARSABLE_GRACE_MS)
  }
}

function isStale(info: LockInfo | undefined, mtimeMs: number, staleMs: number, now: number): boolean {
  if (info === undefined) return now - mtimeMs > UNPARSABLE_GRACE_MS;
  const age = now - (info?.at ?? mtimeMs);
  if (age > staleMs) return true;
  return provablyGone(info);
}

/** What fn is given: fails LOCKED once the lock file no longer holds this holder's nonce (see the file comment). */
type Fence = () => Promise<void>;

/**
 * Runs fn while holding the lock file; waits up to timeoutMs for another holder, then LOCKED.
 * staleMs: a lock older than this is broken even if its process lives (Infinity: never by age).
 * clock: the wall clock ages are measured on (`at`, file mtimes); the wait itself is monotonic.
 */
export async function withLock<T>(file: string, fn: (held: Fence) => Promise<T>, timeoutMs = 30_000, staleMs = STALE_MS, clock = systemClock): Promise<T> {
  const mine: LockInfo = { ...processIdentity(), nonce: randomBytes(8).toString('hex'), at: clock.now() };
  const deadline = performance.now() + timeoutMs;
  let delay = 5;
  for (;;) {
    if (await create(file, mine)) break;
    const st = await ignoreMissing(fsp.stat(file)).catch((e) => Promise.reject(lockError(file, e)));
    if (!st) continue; // released meanwhile
    const info = await readLock(file);
    if (isStale(info, st.mtimeMs, staleMs, clock.now())) {
      await breakStale(file, info);
      continue;
    }
    if (performance.now() > deadline) {
      const who = info ? `process ${info.pid} on ${info.host}` : 'another process';
      throw new MobrError('LOCKED', `${file} is locked by ${who}; if no mo_br is running, remove ${file}`);
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 100);
  }
  const held = async () => {
    const now = await readLock(file);
    if (now?.nonce === mine.nonce) return;
    const broken = `${file} was broken as stale while this process held it (${Math.round(staleMs / 1000)} s)`;
    throw new MobrError('LOCKED', `${broken}; nothing was written, run the command again`);
  };
  try {
    return await fn(held);
  } finally {
    const now = await readLock(file);
    if (now?.nonce === mine.nonce) await fsp.rm(file, { force: true });
  }
}

/** Writes the lock whole beside `file`, then links it into place; false when a lock exists. */
async function create(file: string, mine: LockInfo): Promise<boolean> {
  const tmp = `${file}.new-${process.pid}-${mine.nonce}`;
  try {
    const fh = await fsp.open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o644);
    try {
      await fh.writeFile(JSON.stringify(mine));
    } finally {
      await fh.close();
    }
    try {
      await fsp.link(tmp, file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw e;
      // no hard links here (some network filesystems): create in place; readers allow the grace
      await fsp.writeFile(file, JSON.stringify(mine), { flag: 'wx', mode: 0o644 });
    }
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw lockError(file, e);
  } finally {
    await bestEffort(fsp.rm(tmp, { force: true }), `remove ${tmp}`);
  }
}

/** Moves a stale lock aside; if what we moved turns out to be a fresh lock, puts it back. */
async function breakStale(file: string, seen: LockInfo | undefined): Promise<void> {
  const aside = `${file}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await fsp.rename(file, aside);
  } catch (e) {
    if (isMissing(e)) return; // someone else moved or released it
    throw lockError(file, e);
  }
  const moved = await readLock(aside);
  if (moved !== undefined && moved.nonce !== seen?.nonce) {
    // not the stale one: give it back (EEXIST: its owner or another process made a new one meanwhile)
    await fsp.link(aside, file).catch((e: NodeJS.ErrnoException) => (e.code === 'EEXIST' ? undefined : reportUnthrown(`put back ${file}`, e)));
  }
  await fsp.rm(aside, { force: true });
}

function lockError(file: string, e: unknown): MobrError {
  const code = (e as NodeJS.ErrnoException).code;
  if (deniedReason(e)) return new MobrError('ACCESS_DENIED', `cannot lock ${file}: ${deniedReason(e)}`);
  if (code === 'ENOENT') return new MobrError('BAD_INPUT', `cannot lock ${file}: its folder does not exist`);
  return withContext(`lock ${file}`, e);
}
