/**
 * Deleting backups and garbage collection (spec/gc.md). gc holds the exclusive repository lock,
 * marks every chunk the remaining manifests name, and then — new packs, then the new index
 * object, then deletions — repacks sparse packs, drops dead ones and compacts index objects.
 * Nothing younger than the safety window (store clock) is deleted or rewritten.
 */
import { MobrError, isMobrError, withContext } from '../errors.js';
import { blake3 } from '../hash/blake3.js';
import { toHex } from '../hash/hex.js';
import { codecReady, decodeChunk } from '../chunk/codec.js';
import { decodeIndex, encodeIndex, type PackRecord } from './index-file.js';
import { indexKey, packIdFromKey, packKey } from './keys.js';
import { chunkCount, chunkId } from './manifest.js';
import { PackBuilder } from './pack.js';
import { equalBytes } from './sealed.js';
import { withExclusiveLock, type LockOptions } from './lock.js';
import type { Repository } from './repository.js';

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
}

export interface GcReport {
  dryRun: boolean;
  backups: number;
  liveChunks: number;
  /** Live chunks no index names (damage found by the way; `check` reports the backups). */
  missingChunks: number;
  packsKept: number;
  packsDeleted: number;
  packsRepacked: number;
  packsWritten: number;
  orphansDeleted: number;
  orphansAdopted: number;
  /** Packs an index object named that are not in `data/`: their records are dropped (spec/gc.md §3). */
  packsMissing: number;
  /** Orphan packs whose bytes fail their checks: never adopted, never deleted (check/repair report them). */
  damagedOrphans: string[];
  /** Packs and index objects left alone because they are younger than the safety window. */
  youngSkipped: number;
  indexObjectsRemoved: number;
  indexObjectsWritten: number;
  bytesDeleted: number;
  bytesWritten: number;
  /** bytesDeleted - bytesWritten: what the repository shrank by (or would). */
  bytesFreed: number;
  /** Leftovers of killed processes removed: staging objects and unfinished temp files. */
  leftoversDeleted: number;
  /** The safety window used (ms): 0 when no other process held a lock on the repository. */
  safetyWindowMs: number;
  /** Unreferenced bytes kept because they are younger than the window, and when (store clock, ms) the last of them may go. */
  bytesHeld: number;
  heldUntil?: number;
}

/** Runs gc under the exclusive lock (spec/gc.md §3). */
export async function gc(repo: Repository, o: GcOptions = {}): Promise<GcReport> {
  return withExclusiveLock(repo.store, async (lock) => {
    // Alone (no other lock object, stale or live, as we took ours): no backup is between loading
    // the index and writing its manifest, so nothing young can be needed by one (spec/gc.md §2.3).
    const window = o.safetyWindowMs ?? (o.safety === 'none' || lock.othersSeen === 0 ? 0 : DEFAULT_SAFETY_WINDOW_MS);
    const report = await collect(repo, lock.storeNow, { ...o, safetyWindowMs: window });
    await sweepLeftovers(repo, lock.storeNow, { ...o, safetyWindowMs: window }, report);
    await repo.refreshIndex();
    return report;
  }, { purpose: 'gc', ...o.lock });
}

const LEFTOVER_MIN_AGE_MS = 10 * 60_000;

/**
 * Leftovers of killed processes (spec/gc.md §3, step 11): a server backup's `staging/` copy and a folder's
 * unfinished temp files. Under the exclusive lock no backup runs, so every staging object is a
 * leftover; the safety window still spares anything recent, as for packs.
 */
async function sweepLeftovers(repo: Repository, now: number, o: GcOptions, r: GcReport): Promise<void> {
  // Never younger than LEFTOVER_MIN_AGE_MS, whatever the window: a temp file that young may be a
  // put in progress in another process (lock objects are written beside a running gc).
  const cutoff = now - Math.max(o.safetyWindowMs ?? DEFAULT_SAFETY_WINDOW_MS, LEFTOVER_MIN_AGE_MS);
  for await (const e of repo.store.list('staging')) {
    if (e.mtimeMs === undefined || e.mtimeMs >= cutoff) continue;
    r.leftoversDeleted++;
    if (!o.dryRun) await repo.store.delete(e.key);
  }
  if (!o.dryRun && repo.store.sweepTemp) r.leftoversDeleted += await repo.store.sweepTemp(cutoff);
}

interface IndexObject {
  key: string;
  size: number;
  mtimeMs?: number;
  packs: PackRecord[];
}

async function collect(repo: Repository, now: number, o: GcOptions): Promise<GcReport> {
  const store = repo.store;
  const window = o.safetyWindowMs ?? DEFAULT_SAFETY_WINDOW_MS;
  const exclude = o.exclude ?? new Set<string>();
  const threshold = o.repackThreshold ?? DEFAULT_REPACK_THRESHOLD;
  const young = (m: number | undefined) => window > 0 && (m === undefined || m > now - window);
  const r: GcReport = {
    dryRun: o.dryRun === true, backups: 0, liveChunks: 0, missingChunks: 0, packsKept: 0, packsDeleted: 0, packsRepacked: 0, packsWritten: 0,
    orphansDeleted: 0, orphansAdopted: 0, packsMissing: 0, damagedOrphans: [], youngSkipped: 0, indexObjectsRemoved: 0, indexObjectsWritten: 0, bytesDeleted: 0, bytesWritten: 0, bytesFreed: 0,
    leftoversDeleted: 0, safetyWindowMs: window, bytesHeld: 0,
  };
  const held0 = (size: number, mtimeMs: number | undefined) => {
    r.bytesHeld += size;
    const until = (mtimeMs ?? now) + window;
    r.heldUntil = Math.max(r.heldUntil ?? 0, until);
  };

  // 2. Every index object, as it is on the store now; damage stops gc.
  const objects: IndexObject[] = [];
  for await (const e of store.list('index')) {
    try {
      objects.push({ key: e.key, size: e.size, mtimeMs: e.mtimeMs, packs: decodeIndex(await store.get(e.key), e.key) });
    } catch (err) {
      if (isMobrError(err, 'NOT_FOUND')) continue;
      if (isMobrError(err)) throw new MobrError('CORRUPT_INDEX', `gc refused: ${err.message}; its packs would look unused (run check first)`);
      throw err;
    }
  }
  const files = new Map<string, { size: number; mtimeMs?: number }>();
  for await (const e of store.list('data')) {
    const id = packIdFromKey(e.key);
    if (id) files.set(id, { size: e.size, mtimeMs: e.mtimeMs });
  }

  // 3. Mark.
  const live = new Set<string>();
  const ids = await repo.listBackupIds();
  for (const id of ids) {
    if (exclude.has(id)) continue;
    const m = await repo.loadManifest(id).catch((err) => Promise.reject(withContext('gc refused', err)));
    for (const f of m.files) for (let i = 0; i < chunkCount(f); i++) live.add(toHex(chunkId(f, i)));
  }
  r.backups = ids.filter((id) => !exclude.has(id)).length;
  r.liveChunks = live.size;

  // 4-5. Classify.
  const oldObjects = objects.filter((x) => !young(x.mtimeMs));
  r.youngSkipped += objects.length - oldObjects.length;
  const protectedPacks = new Set(objects.filter((x) => young(x.mtimeMs)).flatMap((x) => x.packs.map((p) => p.id)));
  const records = new Map<string, PackRecord>();
  for (const x of objects) for (const p of x.packs) if (!records.has(p.id)) records.set(p.id, p);
  const keep = new Map<string, PackRecord>(); // named by the new index object
  const drop = new Map<string, PackRecord>(); // no live chunk
  const missing = new Set<string>(); // named, but not in data/: damage; the record goes, so the next backup stores its chunks again
  const repack = new Map<string, PackRecord>();
  for (const x of oldObjects) {
    for (const p of x.packs) {
      if (keep.has(p.id) || drop.has(p.id) || repack.has(p.id) || missing.has(p.id)) continue;
      const file = files.get(p.id);
      if (!file && !protectedPacks.has(p.id)) {
        // index/ was listed before data/, and a writer stores a pack before the index naming it:
        // a named pack absent from the listing is gone, not on its way (backups naming its chunks
        // stay damaged, and check names them by file)
        missing.add(p.id);
        continue;
      }
      if (!file || protectedPacks.has(p.id) || young(file.mtimeMs)) {
        keep.set(p.id, p);
        if (file && !protectedPacks.has(p.id) && !p.blobs.some((b) => live.has(toHex(b.id)))) held0(file.size, file.mtimeMs);
        continue;
      }
      let total = 0;
      let liveBytes = 0;
      for (const b of p.blobs) {
        total += b.length;
        if (live.has(toHex(b.id))) liveBytes += b.length;
      }
      if (liveBytes === 0) drop.set(p.id, p);
      else if (total > 0 && liveBytes / total < threshold) repack.set(p.id, p);
      else keep.set(p.id, p);
    }
  }
  const counted = new Set<string>();
  for (const x of objects) {
    if (!young(x.mtimeMs)) continue;
    for (const p of x.packs) {
      const file = files.get(p.id);
      if (file && !counted.has(p.id) && !p.blobs.some((b) => live.has(toHex(b.id)))) {
        counted.add(p.id);
        held0(file.size, Math.max(file.mtimeMs ?? now, x.mtimeMs ?? now));
      }
    }
  }
  const held = new Set<string>();
  const hold = (p: PackRecord) => p.blobs.forEach((b) => held.add(toHex(b.id)));
  keep.forEach(hold);
  for (const id of protectedPacks) hold(records.get(id)!);

  // 6. Orphans: packs no index object names.
  const adopted: PackRecord[] = [];
  const orphans: string[] = [];
  for (const [id, f] of files) {
    if (records.has(id)) continue;
    if (young(f.mtimeMs)) {
      r.youngSkipped++;
      held0(f.size, f.mtimeMs);
      continue;
    }
    let header: PackRecord;
    try {
      header = await repo.readPackHeader(id);
    } catch (err) {
      if (isMobrError(err, 'NOT_FOUND')) continue;
      if (!isMobrError(err, 'CORRUPT_PACK')) throw withContext(`gc: orphan pack ${id.slice(0, 16)}`, err);
      r.damagedOrphans.push(id); // its header does not authenticate: left for a human, never read as data
      continue;
    }
    if (header.blobs.some((b) => live.has(toHex(b.id)) && !held.has(toHex(b.id)))) {
      // adopted only when every byte checks: a pack check --repair dropped as damaged stays out
      const sound = await repo.verifyPack(id).then((v) => v.dataOk, (err) => (isMobrError(err, 'CORRUPT_PACK') ? false : Promise.reject(err)));
      if (!sound) {
        r.damagedOrphans.push(id);
        continue;
      }
      adopted.push(header);
      hold(header);
    } else orphans.push(id);
  }
  r.orphansAdopted = adopted.length;

  const copies: { pack: PackRecord; blobs: PackRecord['blobs'] }[] = [];
  const planned = new Set<string>();
  for (const p of repack.values()) {
    const blobs = p.blobs.filter((b) => {
      const h = toHex(b.id);
      if (!live.has(h) || held.has(h) || planned.has(h)) return false;
      planned.add(h);
      return true;
    });
    copies.push({ pack: p, blobs });
  }
  const covered = new Set([...held, ...planned]);
  for (const c of live) if (!covered.has(c)) r.missingChunks++;

  r.packsKept = keep.size;
  r.packsDeleted = drop.size;
  r.packsRepacked = repack.size;
  r.orphansDeleted = orphans.length;
  r.packsMissing = missing.size;
  const dropped = [...drop.keys(), ...repack.keys(), ...orphans];
  r.bytesDeleted = dropped.reduce((s, id) => s + (files.get(id)?.size ?? 0), 0);
  const changed = dropped.length > 0 || adopted.length > 0 || missing.size > 0 || oldObjects.length > 1;
  if (o.dryRun || !changed) {
    if (!o.dryRun) await o.commit?.();
    r.bytesFreed = r.bytesDeleted;
    return r;
  }

  // 7. Repack: verified copies of live chunks into new packs.
  const written: PackRecord[] = [];
  const builder = new PackBuilder(repo.config.packSize + repo.config.chunker.max);
  await codecReady();
  const cut = async () => {
    if (builder.count === 0) return;
    const built = builder.build();
    await store.put(packKey(built.id), built.bytes);
    written.push({ id: built.id, blobs: built.blobs });
    r.bytesWritten += built.bytes.length;
  };
  for (const { pack, blobs } of copies) {
    if (blobs.length === 0) continue;
    const bytes = await store.get(packKey(pack.id)).catch((err) => Promise.reject(withContext(`gc: read pack ${pack.id.slice(0, 16)}`, err)));
    for (const b of blobs) {
      const stored = bytes.subarray(b.offset, b.offset + b.length);
      if (b.offset + b.length > bytes.length || !equalBytes(blake3(decodeChunk(stored, b.codec, b.rawLength)), b.id)) {
        throw new MobrError('CORRUPT_PACK', `gc: chunk ${toHex(b.id).slice(0, 16)} in pack ${pack.id.slice(0, 16)} is damaged; nothing was deleted (run check)`);
      }
      builder.add(b.id, stored.slice(), b.rawLength, b.codec);
      if (builder.length >= repo.config.packSize) await cut();
    }
  }
  await cut();
  r.packsWritten = written.length;
  // Every check that can stop gc is behind us (new packs alone are harmless orphans): the caller's
  // irreversible step (deleting manifests) happens only now.
  await o.commit?.();

  // 8. The compacted index object, before any deletion.
  const newPacks = [...written, ...keep.values(), ...adopted];
  let newKey: string | undefined;
  if (newPacks.length > 0) {
    const data = encodeIndex(newPacks);
    newKey = indexKey(toHex(blake3(data)));
    await store.put(newKey, data);
    r.indexObjectsWritten = 1;
    r.bytesWritten += data.length;
  }
  // 9. Old index objects, then 10. packs nothing names any more.
  for (const x of oldObjects) {
    if (x.key === newKey) continue;
    await store.delete(x.key);
    r.indexObjectsRemoved++;
    r.bytesDeleted += x.size;
  }
  const rewritten = new Set(written.map((p) => p.id)); // a repack can rebuild a pack byte for byte: same name
  for (const id of dropped) if (!rewritten.has(id)) await store.delete(packKey(id));
  r.bytesFreed = r.bytesDeleted - r.bytesWritten;
  return r;
}
