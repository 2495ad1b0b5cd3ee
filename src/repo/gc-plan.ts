/**
 * gc's plan (spec/gc.md §3, steps 2–6): what is live, and what becomes of every index object and
 * pack. Reads only; src/repo/gc.ts carries the plan out. Damage that would make live data look
 * dead (an index object or manifest that does not decode) stops gc here, before any write.
 */
import { MobrError, checkAborted, isMobrError, withContext } from '../errors.js';
import { toHex } from '../hash/hex.js';
import { decodeIndex, type PackRecord } from './index-file.js';
import { packIdFromKey } from './keys.js';
import { fileTable } from './manifest.js';
import type { Repository } from './repository.js';
import type { Store } from '../store/store.js';
import { IdSet } from './id-set.js';

export interface IndexObject {
  key: string;
  size: number;
  mtimeMs?: number;
  packs: PackRecord[];
}

export interface StoredPack {
  size: number;
  mtimeMs?: number;
}

interface PlanInput {
  /** "Now" on the store's clock (the mtime of gc's own lock object). */
  now: number;
  windowMs: number;
  repackThreshold: number;
  exclude: ReadonlySet<string>;
  signal?: AbortSignal;
  /** After each manifest read: how many of the remaining backups are marked. */
  onMarked?: (done: number, total: number) => void;
}

export interface GcPlan {
  /** Index objects older than the window: replaced by one compacted object (step 8), then deleted. */
  oldObjects: IndexObject[];
  /** Every pack in `data/` as listed. */
  files: Map<string, StoredPack>;
  /** Packs the new index object names as they are. */
  keep: Map<string, PackRecord>;
  /** Packs with no live chunk. */
  drop: Map<string, PackRecord>;
  /** Sparse packs whose live chunks are copied (`copies`) before they go. */
  repack: Map<string, PackRecord>;
  /** Named by an index object but not in `data/`: their records go. */
  missing: Set<string>;
  /** Orphan packs holding live chunks nothing else holds: indexed again. */
  adopted: PackRecord[];
  /** Orphan packs with nothing live: deleted. */
  orphans: string[];
  copies: { pack: PackRecord; blobs: PackRecord['blobs'] }[];
}

/** The safety window on the store's clock (spec/gc.md §2.3), and the bytes it holds back. */
class SafetyWindow {
  constructor(
    readonly now: number,
    readonly ms: number,
    private readonly r: GcReport,
  ) {}

  young(mtimeMs: number | undefined): boolean {
    return this.ms > 0 && (mtimeMs === undefined || mtimeMs > this.now - this.ms);
  }

  /** Counts unreferenced bytes kept only because they are young, and when they may go. */
  hold(size: number, mtimeMs: number | undefined): void {
    this.r.bytesHeld += size;
    this.r.heldUntil = Math.max(this.r.heldUntil ?? 0, (mtimeMs ?? this.now) + this.ms);
  }
}

const addBlobs = (set: IdSet, p: PackRecord) => p.blobs.forEach((b) => set.addId(b.id));
const hasLive = (p: PackRecord, live: IdSet) => p.blobs.some((b) => live.hasId(b.id));

/** Steps 2–6: fills the report's counts and returns what to write and delete. */
export async function planGc(repo: Repository, input: PlanInput, r: GcReport): Promise<GcPlan> {
  const win = new SafetyWindow(input.now, input.windowMs, r);
  const { objects, files } = await listStored(repo, input.signal);
  const live = await markLive(repo, input, r);
  const c = classify(objects, files, live, win, input.repackThreshold, r);
  const { adopted, orphans } = await sortOrphans(repo, files, c.records, live, c.held, win, r, input.signal);
  r.orphansAdopted = adopted.length;
  const copies = planCopies(c.repack, live, c.held, r);
  r.packsKept = c.keep.size;
  r.packsDeleted = c.drop.size;
  r.packsRepacked = c.repack.size;
  r.orphansDeleted = orphans.length;
  r.packsMissing = c.missing.size;
  return { oldObjects: c.oldObjects, files, keep: c.keep, drop: c.drop, repack: c.repack, missing: c.missing, adopted, orphans, copies };
}

/** Step 2: every index object as it is on the store now (damage stops gc), then every pack. */
async function listStored(repo: Repository, signal: AbortSignal | undefined): Promise<{ objects: IndexObject[]; files: Map<string, StoredPack> }> {
  const store = repo.store;
  const objects: IndexObject[] = [];
  for await (const e of store.list('index')) {
    checkAborted(signal);
    try {
      objects.push({ key: e.key, size: e.size, mtimeMs: e.mtimeMs, packs: decodeIndex(await store.get(e.key), e.key, repo.crypt) });
    } catch (err) {
      if (isMobrError(err, 'NOT_FOUND')) continue;
      if (isMobrError(err)) throw new MobrError('CORRUPT_INDEX', `gc refused: ${err.message}; its packs would look unused (run check first)`, { cause: err });
      throw err;
    }
  }
  // listed after index/: a writer stores a pack before the index object naming it
  const files = new Map<string, StoredPack>();
  for await (const e of store.list('data')) {
    const id = packIdFromKey(e.key);
    if (id) files.set(id, { size: e.size, mtimeMs: e.mtimeMs });
  }
  return { objects, files };
}

/**
 * Step 3: every chunk a remaining manifest names (a manifest that does not decode stops gc). A
 * manifest listed but gone when read was deleted meanwhile (a `delete` that found the repository
 * held deletes manifests under a shared lock, which passes an exclusive lock past staleMs,
 * spec/gc.md §2.1): it names nothing that must stay.
 */
async function markLive(repo: Repository, input: PlanInput, r: GcReport): Promise<IdSet> {
  const live = new IdSet(); // compact: one typed-array table (id-set.ts)
  const ids = (await repo.listBackupIds()).filter((id) => !input.exclude.has(id));
  input.onMarked?.(0, ids.length);
  let marked = 0;
  for (const [k, id] of ids.entries()) {
    checkAborted(input.signal);
    const m = await repo.loadManifest(id).catch((err) => (isMobrError(err, 'ENOENT_BACKUP') ? undefined : Promise.reject(withContext('gc refused', err))));
    if (m) marked++;
    const t = m ? fileTable(m) : undefined; // the manifest's own table: no entry object made per file
    for (let f = 0; t && f < t.length; f++) for (let i = 0; i < t.chunkCount(f); i++) live.addId(t.chunkId(f, i));
    input.onMarked?.(k + 1, ids.length);
  }
  r.backups = marked;
  r.liveChunks = live.size;
  return live;
}

/** Steps 4–5: young index objects protect their packs; the old ones' packs are kept, dropped, repacked or missing. */
function classify(objects: IndexObject[], files: Map<string, StoredPack>, live: IdSet, win: SafetyWindow, threshold: number, r: GcReport) {
  const oldObjects = objects.filter((x) => !win.young(x.mtimeMs));
  const youngObjects = objects.filter((x) => win.young(x.mtimeMs));
  r.youngSkipped += youngObjects.length;
  const protectedPacks = new Set(youngObjects.flatMap((x) => x.packs.map((p) => p.id)));
  const records = new Map<string, PackRecord>();
  for (const x of objects) for (const p of x.packs) if (!records.has(p.id)) records.set(p.id, p);
  const keep = new Map<string, PackRecord>();
  const drop = new Map<string, PackRecord>();
  const missing = new Set<string>();
  const repack = new Map<string, PackRecord>();
  for (const p of oldObjects.flatMap((x) => x.packs)) {
    if (keep.has(p.id) || drop.has(p.id) || repack.has(p.id) || missing.has(p.id)) continue;
    const file = files.get(p.id);
    if (!file && !protectedPacks.has(p.id)) {
      // index/ was listed before data/: a named pack absent from the listing is gone, not on its
      // way (backups naming its chunks stay damaged, and check names them by file)
      missing.add(p.id);
      continue;
    }
    if (!file || protectedPacks.has(p.id) || win.young(file.mtimeMs)) {
      keep.set(p.id, p);
      if (file && !protectedPacks.has(p.id) && !hasLive(p, live)) win.hold(file.size, file.mtimeMs);
      continue;
    }
    let total = 0;
    let liveBytes = 0;
    for (const b of p.blobs) {
      total += b.length;
      if (live.hasId(b.id)) liveBytes += b.length;
    }
    if (liveBytes === 0) drop.set(p.id, p);
    else if (total > 0 && liveBytes / total < threshold) repack.set(p.id, p);
    else keep.set(p.id, p);
  }
  holdDeadInYoung(youngObjects, files, live, win);
  const held = new IdSet(); // chunks the new index object (or a young one) keeps naming
  keep.forEach((p) => addBlobs(held, p));
  for (const id of protectedPacks) addBlobs(held, records.get(id)!);
  return { oldObjects, records, keep, drop, missing, repack, held };
}

/** Dead packs named by young index objects: held back until both are older than the window. */
function holdDeadInYoung(youngObjects: IndexObject[], files: Map<string, StoredPack>, live: IdSet, win: SafetyWindow): void {
  const counted = new Set<string>();
  for (const x of youngObjects) {
    for (const p of x.packs) {
      const file = files.get(p.id);
      if (!file || counted.has(p.id) || hasLive(p, live)) continue;
      counted.add(p.id);
      win.hold(file.size, Math.max(file.mtimeMs ?? win.now, x.mtimeMs ?? win.now));
    }
  }
}

/** Step 6: packs no index object names are adopted (live chunks nothing else holds, every byte sound), left (young, damaged) or deleted. */
async function sortOrphans(repo: Repository, files: Map<string, StoredPack>, records: Map<string, PackRecord>, live: IdSet, held: IdSet, win: SafetyWindow, r: GcReport, signal: AbortSignal | undefined) {
  const adopted: PackRecord[] = [];
  const orphans: string[] = [];
  for (const [id, f] of files) {
    if (records.has(id)) continue;
    checkAborted(signal);
    if (win.young(f.mtimeMs)) {
      r.youngSkipped++;
      win.hold(f.size, f.mtimeMs);
      continue;
    }
    const header = await orphanHeader(repo, id, r);
    if (!header) continue;
    if (!header.blobs.some((b) => live.hasId(b.id) && !held.hasId(b.id))) {
      orphans.push(id);
      continue;
    }
    // adopted only when every byte checks: a pack check --repair dropped as damaged stays out
    const sound = await repo.verifyPack(id).then((v) => v.dataOk, (err) => (isMobrError(err, 'CORRUPT_PACK') ? false : Promise.reject(err)));
    if (!sound) {
      r.damagedOrphans.push(id);
      continue;
    }
    adopted.push(header);
    addBlobs(held, header);
  }
  return { adopted, orphans };
}

/** An orphan's header; undefined when it vanished or is damaged (then reported, never read as data). */
async function orphanHeader(repo: Repository, id: string, r: GcReport): Promise<PackRecord | undefined> {
  try {
    return await repo.readPackHeader(id);
  } catch (err) {
    if (isMobrError(err, 'NOT_FOUND')) return undefined;
    if (!isMobrError(err, 'CORRUPT_PACK')) throw withContext(`gc: orphan pack ${id.slice(0, 16)}`, err);
    r.damagedOrphans.push(id);
    return undefined;
  }
}

/** Step 7's plan: each live chunk held only by packs being repacked is copied once. */
function planCopies(repack: Map<string, PackRecord>, live: IdSet, held: IdSet, r: GcReport): GcPlan['copies'] {
  const copies: GcPlan['copies'] = [];
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
  for (const c of live) if (!held.has(c) && !planned.has(c)) r.missingChunks++;
  return copies;
}

/** What a gc did (with dryRun: would do); gc.ts fills it, the plan counts into it. */
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
