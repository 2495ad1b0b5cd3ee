/**
 * Rebuilding the index from pack headers (spec/reliability.md §2.1). Every pack carries its own
 * header, authenticated by the pack's name (spec/repository.md §5), so the index is redundant:
 * when an index object is damaged or lost, the packs it named become unreachable until their
 * headers are read back into a new index object. That is all repair does:
 *
 * 1. under the exclusive repository lock (no backup or gc runs meanwhile; spec/gc.md §2.1),
 *    reload every index object, remembering the damaged ones;
 * 2. read the header of every pack no sound index object names; a header that checks out is
 *    added to a new index object (written before anything is removed); a damaged one is reported;
 * 3. only then remove the damaged index objects (everything they could name is indexed again,
 *    or reported), so that gc, which refuses to run past a damaged index object, works again;
 * 4. read every indexed pack whole: one that is missing, of the wrong size, or whose bytes fail
 *    their checks is *unsound*. Each of its blobs that still decodes to its id is copied into a new
 *    pack; then the index objects naming unsound packs are replaced by one without them (written
 *    first). Backups naming the lost chunks stay damaged (check names their files) until a later
 *    backup of the same data stores those chunks again; no backup dedups against them any more.
 *
 * Repair never deletes a pack or a manifest, and never drops a sound pack's record.
 */
import { checkAborted, isMobrError } from '../errors.js';
import { toHex } from '../hash/hex.js';
import { codecReady } from '../chunk/codec.js';
import { packIdFromKey, packKey } from './keys.js';
import { decodeIndex, type PackRecord } from './index-file.js';
import { PackBuilder } from './pack.js';
import type { LockOptions } from './lock.js';
import type { Repository } from './repository.js';
import { exclusiveSession } from './session.js';
import { mapLimit, PACK_PROBES } from '../util/concurrency.js';

/** Packs per new index object (as the writer's INDEX_EVERY, roughly). */
const PACKS_PER_INDEX = 256;

export interface RepairReport {
  /** Index objects that failed their checks (and were removed unless dryRun). */
  damagedIndexes: { key: string; problem: string }[];
  /** Packs no sound index object named, whose headers were read back. */
  packsReindexed: number;
  chunksReindexed: number;
  /** New index objects written. */
  indexesWritten: string[];
  /** Packs whose own header is damaged: their chunks stay unreachable (check names the files). */
  damagedPacks: { pack: string; problem: string }[];
  /** Indexed packs that are missing or damaged: their records were dropped (step 4). */
  unsoundPacks: { pack: string; problem: string }[];
  /** Chunks of unsound packs that still checked, copied into new packs. */
  chunksSalvaged: number;
  dryRun: boolean;
}

export interface RepairOptions {
  dryRun?: boolean;
  lock?: LockOptions;
  /** Stops repair with INTERRUPTED while it reads (before its first write), or between its writes. */
  signal?: AbortSignal;
  onProgress?: (p: RepairProgress) => void;
  /** Called at named points (tests pause there): 'planned' before the first write, 'indexed' when the new index objects are written, before any removal. */
  onStep?: (step: 'planned' | 'indexed') => Promise<void> | void;
}

/**
 * Where repair is: 'verify' reads every indexed pack whole (step 4; packs and their bytes),
 * 'reindex' reads the header of each pack no index names (step 2; packs).
 */
export interface RepairProgress {
  phase: 'verify' | 'reindex';
  done: number;
  total: number;
  bytes?: number;
  totalBytes?: number;
}

export async function repairIndex(repo: Repository, o: RepairOptions = {}): Promise<RepairReport> {
  return exclusiveSession(repo, { purpose: 'repair', signal: o.signal, lock: o.lock }, (s) => rebuild(repo, o, () => s.assertHeld()));
}

/** fence: LOCKED unless the exclusive lock is surely still ours; called before each write and each removal (spec/gc.md §2.1, "Fencing"). */
async function rebuild(repo: Repository, o: RepairOptions, fence: () => Promise<void>): Promise<RepairReport> {
  const dryRun = o.dryRun === true;
  await repo.refreshIndex();
  const report: RepairReport = {
    damagedIndexes: [...repo.damagedIndexes].map(([key, problem]) => ({ key, problem })),
    packsReindexed: 0,
    chunksReindexed: 0,
    indexesWritten: [],
    damagedPacks: [],
    unsoundPacks: [],
    chunksSalvaged: 0,
    dryRun,
  };
  const sizes = new Map<string, number>();
  for await (const e of repo.store.list('data')) {
    const id = packIdFromKey(e.key);
    if (id) sizes.set(id, e.size);
  }
  const unsound = await findUnsound(repo, sizes, o);
  report.unsoundPacks = [...unsound].map(([pack, problem]) => ({ pack, problem }));
  const found: PackRecord[] = [];
  const unindexed = [...sizes.keys()].filter((id) => !repo.index.packs.has(id));
  const reindexing: RepairProgress = { phase: 'reindex', done: 0, total: unindexed.length };
  if (unindexed.length > 0) o.onProgress?.(reindexing);
  await mapLimit(unindexed, PACK_PROBES, async (id) => {
    checkAborted(o.signal);
    await reindexOne(repo, id, found, report);
    reindexing.done++;
    o.onProgress?.(reindexing);
  });
  report.packsReindexed = found.length;
  report.chunksReindexed = found.reduce((n, p) => n + p.blobs.length, 0);
  if (dryRun) return report;
  found.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)); // probes finish in any order: the same repair writes the same index objects
  await o.onStep?.('planned');
  for (let i = 0; i < found.length; i += PACKS_PER_INDEX) {
    checkAborted(o.signal); // each index object written is whole and adds records only: a safe point
    await fence();
    report.indexesWritten.push(await repo.writeIndex(found.slice(i, i + PACKS_PER_INDEX)));
  }
  if (unsound.size > 0) await dropUnsound(repo, unsound, report, fence, o);
  else await o.onStep?.('indexed');
  await fence(); // the removals begin: a repair that lost its lock by now says so, even with nothing left to remove
  for (const { key } of report.damagedIndexes) {
    if (report.indexesWritten.includes(key)) continue; // rebuilt byte for byte (objects are named by their bytes): it is the new one now
    await fence();
    await repo.store.delete(key);
  }
  await repo.refreshIndex();
  return report;
}

/** Reads the header of a pack no index names: into `found` when it checks out, else reported damaged. */
async function reindexOne(repo: Repository, id: string, found: PackRecord[], report: RepairReport): Promise<void> {
  try {
    const v = await repo.verifyPack(id); // whole: a pack dropped as damaged must not come back
    if (v.dataOk) found.push({ id, blobs: v.blobs });
    else report.damagedPacks.push({ pack: id, problem: `pack ${id.slice(0, 16)}: blob bytes do not match the header's hash (damaged)` });
  } catch (err) {
    if (isMobrError(err, 'NOT_FOUND')) return; // gone since the listing: nothing to index
    if (!isMobrError(err)) throw err;
    report.damagedPacks.push({ pack: id, problem: err.message });
  }
}

/** Indexed packs that are missing, of the wrong size, or whose bytes fail their checks. */
async function findUnsound(repo: Repository, sizes: Map<string, number>, { signal, onProgress }: RepairOptions): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const packs = [...repo.index.packSizes];
  const verifying: RepairProgress = { phase: 'verify', done: 0, total: packs.length, bytes: 0, totalBytes: packs.reduce((n, [, want]) => n + want, 0) };
  onProgress?.(verifying);
  await mapLimit(packs, PACK_PROBES, async ([id, want]) => {
    checkAborted(signal);
    const problem = await packProblem(repo, id, want, sizes.get(id));
    if (problem) out.set(id, problem);
    verifying.done++;
    verifying.bytes! += want;
    onProgress?.(verifying);
  });
  return out;
}

/** Why an indexed pack is unsound (missing, the wrong size, damaged bytes), or undefined. */
async function packProblem(repo: Repository, id: string, want: number, size: number | undefined): Promise<string | undefined> {
  if (size === undefined) return 'missing';
  if (size !== want) return `${size} bytes, its index record says ${want}`;
  try {
    if (!(await repo.verifyPack(id)).dataOk) return "blob bytes do not match the header's hash";
  } catch (err) {
    if (!isMobrError(err)) throw err;
    return err.message;
  }
  return undefined;
}

/**
 * Copies what still checks out of unsound packs into new packs, then replaces every index object
 * naming an unsound pack by one naming the rest of its packs and the new ones (written before the
 * old objects are removed, as gc does).
 */
async function dropUnsound(repo: Repository, unsound: Map<string, string>, report: RepairReport, fence: () => Promise<void>, o: RepairOptions): Promise<void> {
  const store = repo.store;
  const affected: { key: string; packs: PackRecord[] }[] = [];
  for (const key of repo.loadedIndexes) {
    const packs = decodeIndex(await store.get(key), key, repo.crypt);
    if (packs.some((p) => unsound.has(p.id))) affected.push({ key, packs });
  }
  const kept = new Map<string, PackRecord>();
  const bad = new Map<string, PackRecord>();
  for (const x of affected) for (const p of x.packs) (unsound.has(p.id) ? bad : kept).set(p.id, p);
  const held = new Set<string>();
  for (const [h, loc] of repo.index.entries()) if (!unsound.has(loc.pack)) held.add(h);
  const written: PackRecord[] = [];
  const builder = new PackBuilder(repo.config.packSize + repo.config.chunker.max, repo.crypt);
  const cut = async () => {
    if (builder.count === 0) return;
    const built = builder.build();
    await fence();
    await store.put(packKey(built.id), built.bytes);
    written.push({ id: built.id, blobs: built.blobs });
  };
  await codecReady();
  for (const p of bad.values()) {
    if (unsound.get(p.id) === 'missing') continue;
    const bytes = await store.get(packKey(p.id)).catch((e) => (isMobrError(e, 'NOT_FOUND') ? new Uint8Array(0) : Promise.reject(e)));
    for (const b of p.blobs) {
      const h = toHex(b.id);
      if (held.has(h) || b.offset + b.length > bytes.length) continue;
      const stored = bytes.subarray(b.offset, b.offset + b.length);
      try {
        repo.openChunk(b.id, stored, b.codec, b.rawLength, 'repair');
      } catch (e) {
        if (isMobrError(e)) continue; // damaged: not salvaged (backups naming it stay damaged, and check names them)
        throw e;
      }
      held.add(h);
      builder.add(b.id, stored.slice(), b.rawLength, b.codec);
      report.chunksSalvaged++;
      if (builder.length >= repo.config.packSize) await cut();
    }
  }
  await cut();
  const packs = [...written, ...kept.values()];
  if (packs.length > 0) {
    await fence();
    report.indexesWritten.push(await repo.writeIndex(packs));
  }
  await o.onStep?.('indexed');
  for (const x of affected) {
    if (report.indexesWritten.includes(x.key)) continue;
    await fence();
    await store.delete(x.key);
  }
}
