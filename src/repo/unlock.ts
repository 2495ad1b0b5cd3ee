/**
 * `unlock` (spec/gc.md §2.1 "Unlock"): removes the lock objects no live process can hold, as
 * restic's `unlock` does. Nobody walks past an exclusive lock (a gc frozen past `staleMs` may
 * resume and act on its plan), so a gc that is gone for good leaves a lock only this removes.
 *
 * "Stale" is lock.ts's rule, on the store's clock: not refreshed for `staleMs`, unreadable for a
 * minute, or a holder provably gone. The store's "now" is the mtime of a probe object written
 * under `locks/` (a shared lock of purpose "unlock", removed at once: a gc meeting it just waits).
 * `all` removes live locks too (restic's `--remove-all`): their holders then fail at their next
 * fence (a backup commits nothing, a gc deletes nothing more).
 */
import { randomBytes } from 'node:crypto';
import type { Store } from '../store/store.js';
import { systemClock, type Clock } from '../util/clock.js';
import { bestEffort } from '../util/best-effort.js';
import { processIdentity } from '../util/process.js';
import { lockKey } from './keys.js';
import { defaultStaleMs, isStale, listLocks, type LockInfo } from './lock.js';

export interface UnlockOptions {
  /** Remove live locks too. */
  all?: boolean;
  /** Default: the locks' own default (30 min). */
  staleMs?: number;
  clock?: Clock;
}

export interface UnlockedLock extends LockInfo {
  /** Time since its last refresh on the store's clock (undefined: the store gave no mtime). */
  ageMs?: number;
  stale: boolean;
}

export interface UnlockResult {
  removed: UnlockedLock[];
  kept: UnlockedLock[];
}

/** The store's clock: the mtime of an object we write now (our wall clock if the store has none). */
async function storeNow(store: Store, clock: Clock): Promise<number> {
  const key = lockKey(randomBytes(16).toString('hex'));
  const { host, pid, boot, pidns, start } = processIdentity();
  const body = { v: 1, kind: 'shared', host, pid, boot, pidns, start, nonce: key.slice(6), createdAt: clock.now(), purpose: 'unlock' };
  await store.put(key, new TextEncoder().encode(JSON.stringify(body)));
  try {
    return (await store.stat(key))?.mtimeMs ?? clock.now();
  } finally {
    await bestEffort(store.delete(key), `remove ${key} from ${store.location}`);
  }
}

/** Removes the stale lock objects (every one with `all`); says which went and which stay. */
export async function unlockRepository(store: Store, o: UnlockOptions = {}): Promise<UnlockResult> {
  const staleMs = o.staleMs ?? defaultStaleMs();
  const now = await storeNow(store, o.clock ?? systemClock);
  const out: UnlockResult = { removed: [], kept: [] };
  for (const l of await listLocks(store)) {
    const u: UnlockedLock = { ...l, ageMs: l.mtimeMs === undefined ? undefined : Math.max(0, Math.round(now - l.mtimeMs)), stale: isStale(l, now, staleMs) };
    if (!u.stale && !o.all) {
      out.kept.push(u);
      continue;
    }
    await store.delete(l.key);
    out.removed.push(u);
  }
  return out;
}
