/**
 * Deleting backups and garbage collection (spec/gc.md). gc holds the exclusive repository lock,
 * marks every chunk the remaining manifests name, and then — new packs, then the new index
 * object, then deletions — repacks sparse packs, drops dead ones and compacts index objects.
 * Nothing younger than the safety window (store clock) is deleted or rewritten.
 */
import { MobrError, checkAborted, isMobrError, withContext } from '../errors.js';
import { blake3 } from '../hash/blake3.js';
import { toHex } from '../hash/hex.js';
import { codecReady } from '../chunk/codec.js';
import { encodeIndex, type PackRecord } from './index-file.js';
import { indexKey, packKey } from './keys.js';
import { PARTS_FOLDER, PLANS_FOLDER } from './parts.js';
import { PackBuilder, type BlobEntry } from './pack.js';
import { isLockLost, type LockOptions, type RepoLock } from './lock.js';
import { planGc, type GcPlan, type GcReport, type IndexObject, type StoredPack } from './gc-plan.js';

export type { GcReport } from './gc-plan.js';
import type { Repository } from './repository.js';
import { exclusiveSession } from './session.js';
import type { Clock } from '../util/clock.js';
import { bestEffort } from '../util/best-effort.js';

export const DEFAULT_SAFETY_WINDOW_MS = 60 * 60_000;
export const DEFAULT_REPACK_THRESHOLD = 0.5;

export interface GcOptions {
  /** Plan only: report what would be deleted and repacked, change nothing. */
  dryRun?: boolean;
  /** Packs whose live share of blob bytes is below this are rewritten (0 disables). Default 0.5. */
  repackThreshold?: number;
  /**
   * Objects younger than this on the store's clock are never deleted or rewritten. Default: 1 h
   * when another process held a lock on the repository as gc took its own, else 0 (spec/gc.md §2.3).
   */
  safetyWindowMs?: number;
  /** 'none' (kopia's word): no window at all, whoever else was there. */
  safety?: 'auto' | 'none';
  /** Backups whose manifests the caller deletes at `commit`: not marked (their chunks may go). */
  exclude?: ReadonlySet<string>;
  /** Runs once gc has checked it can finish (index and manifests sound), before its first write. */
  commit?: () => Promise<void>;
  lock?: LockOptions;
  /** Our wall clock, for the lock (the window itself is measured on the store's clock). Default: the system's. */
  clock?: Clock;
  /**
   * Stops gc at the next safe point with INTERRUPTED (spec/gc.md §3, "Interrupted"): before the
   * commit nothing is changed (new packs are removed), after it between single deletions.
   */
  signal?: AbortSignal;
  /** Called at named points (tests pause there to interrupt gc at a known step). */
  onStep?: (step: GcStep) => Promise<void> | void;
  /** Progress of the long steps (the CLI's progress line). */
  onProgress?: (p: GcProgress) => void;
}

/**
 * Where gc is: 'mark' reads the remaining manifests (done/total backups), 'repack' reads sparse
 * packs and copies their live chunks (bytes of those packs read), 'delete' removes dropped packs
 * and old index objects (done/total objects).
 */
export interface GcProgress {
  /** 'select' is prune's, before gc: it reads the manifests its policy applies to (done/total backups). */
  phase: 'select' | 'mark' | 'repack' | 'delete';
  done: number;
  total: number;
  bytes?: number;
  totalBytes?: number;
}

/**
 * gc's named points, in order (tests pause there; spec/gc.md §3): 'planned': the plan made,
 * nothing written; 'repacked': new packs written, before the commit; 'committed': the caller's
 * commit done (manifests deleted), before the new index object; 'indexed': new index object
 * written, before any deletion; 'deleting': old index objects removed, before the first dropped
 * pack is deleted; 'done': all done, before the lock's release.
 */
export type GcStep = 'planned' | 'repacked' | 'committed' | 'indexed' | 'deleting' | 'done';

/** Runs gc under the exclusive lock (spec/gc.md §3). */
export async function gc(repo: Repository, o: GcOptions = {}): Promise<GcReport> {
  return exclusiveSession(repo, { purpose: 'gc', clock: o.clock, signal: o.signal, lock: o.lock }, async ({ lock }) => {
    // Alone (no other lock object, stale or live, as we took ours): no backup is between loading
    // the index and writing its manifest, so nothing young can be needed by one (spec/gc.md §2.3).
    const window = o.safetyWindowMs ?? (o.safety === 'none' || lock.othersSeen === 0 ? 0 : DEFAULT_SAFETY_WINDOW_MS);
    const report = await collect(repo, lock, { ...o, safetyWindowMs: window });
    await sweepLeftovers(repo, lock, { ...o, safetyWindowMs: window }, report);
    await repo.refreshIndex();
    if (!o.dryRun) await o.onStep?.('done');
    return report;
  });
}

const LEFTOVER_MIN_AGE_MS = 10 * 60_000;

/**
 * Leftovers of killed processes (spec/gc.md §3, step 11): a server backup's `staging/` copy, the
 * plan and parts of a backup in shares, and a folder's unfinished temp files. Under the exclusive lock no backup runs, so every staging object is a
 * leftover; the safety window still spares anything recent, as for packs. Not stopped by a
 * signal: it is short, and gc's own work is done by now (spec/gc.md §3, "Interrupted").
 */
async function sweepLeftovers(repo: Repository, lock: RepoLock, o: GcOptions, r: GcReport): Promise<void> {
  const now = lock.storeNow;
  const remove = fencedDelete(repo, lock);
  // Never younger than LEFTOVER_MIN_AGE_MS, whatever the window: a temp file that young may be a
  // put in progress in another process (lock objects are written beside a running gc).
  const cutoff = now - Math.max(o.safetyWindowMs ?? DEFAULT_SAFETY_WINDOW_MS, LEFTOVER_MIN_AGE_MS);
  for await (const e of repo.store.list('staging')) {
    if (e.mtimeMs === undefined || e.mtimeMs >= cutoff) continue;
    r.leftoversDeleted++;
    if (!o.dryRun) await remove(e.key);
  }
  // plans and parts of a backup in shares (spec/repository.md §10): only mobr writes them, each
  // under a shared lock, so none is a live process's while we hold ours: the window alone applies
  const planCutoff = now - (o.safetyWindowMs ?? DEFAULT_SAFETY_WINDOW_MS);
  for (const prefix of [PLANS_FOLDER, PARTS_FOLDER]) {
    for await (const e of repo.store.list(prefix)) {
      if (e.mtimeMs === undefined || e.mtimeMs >= planCutoff) continue;
      r.leftoversDeleted++;
      if (!o.dryRun) await remove(e.key);
    }
  }
  if (o.dryRun || !repo.store.sweepTemp) return;
  await lock.assertHeld();
  r.leftoversDeleted += await repo.store.sweepTemp(cutoff);
}

/** Deletions in batches (spec/gc.md §2.1, "Fencing"): the lock is checked before each, and proven held at each batch's start. */
const FENCE_BATCH = 100;
function fencedDelete(repo: Repository, lock: RepoLock): (key: string) => Promise<void> {
  let n = 0;
  return async (key) => {
    if (n++ % FENCE_BATCH === 0) await lock.assertHeld();
    else lock.check();
    await repo.store.delete(key);
  };
}

/** Steps 2–10: plans (gc-plan.ts), then writes new packs and the new index object before any deletion. */
async function collect(repo: Repository, lock: RepoLock, o: GcOptions): Promise<GcReport> {
  const now = lock.storeNow;
  const window = o.safetyWindowMs ?? DEFAULT_SAFETY_WINDOW_MS;
  const r = emptyReport(o.dryRun === true, window);
  const onMarked = (done: number, total: number) => o.onProgress?.({ phase: 'mark', done, total });
  const input = { now, windowMs: window, repackThreshold: o.repackThreshold ?? DEFAULT_REPACK_THRESHOLD, exclude: o.exclude ?? new Set<string>(), signal: o.signal, onMarked };
  const plan = await planGc(repo, input, r);
  if (!o.dryRun) await o.onStep?.('planned');
  const dropped = [...plan.drop.keys(), ...plan.repack.keys(), ...plan.orphans];
  r.bytesDeleted = dropped.reduce((s, id) => s + (plan.files.get(id)?.size ?? 0), 0);
  const changed = dropped.length > 0 || plan.adopted.length > 0 || plan.missing.size > 0 || plan.oldObjects.length > 1;
  if (o.dryRun || !changed) {
    if (!o.dryRun) await commitOnce(o, lock);
    r.bytesFreed = r.bytesDeleted;
    return r;
  }
  const written: PackRecord[] = [];
  try {
    await repackLive(repo, plan, written, r, o, lock);
    await o.onStep?.('repacked');
    // Every check that can stop gc is behind us: the caller's irreversible step (deleting
    // manifests) happens only now.
    await commitOnce(o, lock);
  } catch (e) {
    // nothing names the new packs yet: removing them leaves the repository as it was (but a gc
    // that lost its lock deletes nothing more: they are orphans for the next gc)
    if (!isLockLost(e)) await removeUnnamed(repo, written, plan.files);
    throw e;
  }
  await o.onStep?.('committed');
  const rewritten = new Set(written.map((p) => p.id)); // a repack can rebuild a pack byte for byte: same name
  const toDelete = dropped.filter((id) => !rewritten.has(id));
  const deleting = { phase: 'delete' as const, done: 0, total: toDelete.length + plan.oldObjects.length };
  const fenced = fencedDelete(repo, lock);
  const remove = async (key: string) => {
    await fenced(key);
    deleting.done++;
    o.onProgress?.(deleting);
  };
  await replaceIndex(repo, [...written, ...plan.keep.values(), ...plan.adopted], plan.oldObjects, r, o, lock, remove);
  await o.onStep?.('deleting');
  for (const id of toDelete) {
    checkAborted(o.signal);
    await remove(packKey(id));
  }
  r.bytesFreed = r.bytesDeleted - r.bytesWritten;
  return r;
}

function emptyReport(dryRun: boolean, window: number): GcReport {
  return {
    dryRun, backups: 0, liveChunks: 0, missingChunks: 0, packsKept: 0, packsDeleted: 0, packsRepacked: 0, packsWritten: 0,
    orphansDeleted: 0, orphansAdopted: 0, packsMissing: 0, damagedOrphans: [], youngSkipped: 0, indexObjectsRemoved: 0, indexObjectsWritten: 0, bytesDeleted: 0, bytesWritten: 0, bytesFreed: 0,
    leftoversDeleted: 0, safetyWindowMs: window, bytesHeld: 0,
  };
}

/** The caller's commit, once the signal and the lock are checked: an interrupt stops gc before it, never inside it. */
async function commitOnce(o: GcOptions, lock: RepoLock): Promise<void> {
  checkAborted(o.signal);
  await lock.assertHeld();
  await o.commit?.();
}

/**
 * Step 7: verified copies of the live chunks of sparse packs, into new packs. Each pack is
 * written only with the lock proven held (spec/gc.md §2.1, "Fencing"): a gc that wakes past its
 * lock's staleness writes no pack more (they would be orphans for the next gc).
 */
async function repackLive(repo: Repository, plan: GcPlan, written: PackRecord[], r: GcReport, o: GcOptions, lock: RepoLock): Promise<void> {
  const copies = plan.copies.filter((c) => c.blobs.length > 0);
  const totalBytes = copies.reduce((s, c) => s + (plan.files.get(c.pack.id)?.size ?? 0), 0);
  const reading = { phase: 'repack' as const, done: 0, total: copies.length, bytes: 0, totalBytes };
  o.onProgress?.(reading);
  const builder = new PackBuilder(repo.config.packSize + repo.config.chunker.max, repo.crypt);
  await codecReady();
  const cut = async () => {
    if (builder.count === 0) return;
    const built = builder.build();
    await lock.assertHeld();
    await repo.store.put(packKey(built.id), built.bytes);
    written.push({ id: built.id, blobs: built.blobs });
    r.bytesWritten += built.bytes.length;
  };
  for (const { pack, blobs } of copies) {
    checkAborted(o.signal);
    const bytes = await repo.store.get(packKey(pack.id)).catch((err) => Promise.reject(withContext(`gc: read pack ${pack.id.slice(0, 16)}`, err)));
    for (const b of blobs) {
      const stored = bytes.subarray(b.offset, b.offset + b.length);
      if (b.offset + b.length > bytes.length || !soundChunk(repo, b, stored)) {
        throw new MobrError('CORRUPT_PACK', `gc: chunk ${toHex(b.id).slice(0, 16)} in pack ${pack.id.slice(0, 16)} is damaged; nothing was deleted (run check)`);
      }
      builder.add(b.id, stored.slice(), b.rawLength, b.codec);
      if (builder.length >= repo.config.packSize) await cut();
    }
    reading.done++;
    reading.bytes += bytes.length;
    o.onProgress?.(reading);
  }
  await cut();
  r.packsWritten = written.length;
}

/** Whether a stored blob opens, decodes and matches its id. */
function soundChunk(repo: Repository, b: BlobEntry, stored: Uint8Array): boolean {
  try {
    repo.openChunk(b.id, stored, b.codec, b.rawLength, 'gc');
    return true;
  } catch (e) {
    if (isMobrError(e)) return false;
    throw e;
  }
}

/** Removes new packs that no index object names yet (a pack that existed before stays). */
async function removeUnnamed(repo: Repository, written: PackRecord[], before: Map<string, StoredPack>): Promise<void> {
  for (const p of written) {
    if (before.has(p.id)) continue;
    await bestEffort(repo.store.delete(packKey(p.id)), `gc: remove unindexed new pack ${p.id.slice(0, 16)}`);
  }
}

/** Steps 8–9: the compacted index object is written before any old one is deleted. */
async function replaceIndex(repo: Repository, packs: PackRecord[], oldObjects: IndexObject[], r: GcReport, o: GcOptions, lock: RepoLock, remove: (key: string) => Promise<void>): Promise<void> {
  let newKey: string | undefined;
  if (packs.length > 0) {
    await lock.assertHeld();
    const data = encodeIndex(packs, repo.crypt);
    newKey = indexKey(toHex(blake3(data)));
    await repo.store.put(newKey, data);
    r.indexObjectsWritten = 1;
    r.bytesWritten += data.length;
  }
  await o.onStep?.('indexed');
  for (const x of oldObjects) {
    if (x.key === newKey) continue;
    checkAborted(o.signal);
    await remove(x.key);
    r.indexObjectsRemoved++;
    r.bytesDeleted += x.size;
  }
}
