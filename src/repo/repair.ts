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
 *    or reported), so that gc, which refuses to run past a damaged index object, works again.
 *
 * Repair never touches packs or manifests and never deletes an index object that decodes.
 */
import { isMobrError } from '../errors.js';
import { packIdFromKey } from './keys.js';
import type { PackRecord } from './index-file.js';
import { withExclusiveLock, type LockOptions } from './lock.js';
import type { Repository } from './repository.js';

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
  dryRun: boolean;
}

export interface RepairOptions {
  dryRun?: boolean;
  lock?: LockOptions;
}

export async function repairIndex(repo: Repository, o: RepairOptions = {}): Promise<RepairReport> {
  return withExclusiveLock(repo.store, () => rebuild(repo, o), { purpose: 'repair', ...o.lock });
}

async function rebuild(repo: Repository, o: RepairOptions): Promise<RepairReport> {
  const dryRun = o.dryRun === true;
  await repo.refreshIndex();
  const report: RepairReport = {
    damagedIndexes: [...repo.damagedIndexes].map(([key, problem]) => ({ key, problem })),
    packsReindexed: 0,
    chunksReindexed: 0,
    indexesWritten: [],
    damagedPacks: [],
    dryRun,
  };
  const found: PackRecord[] = [];
  for await (const e of repo.store.list('data')) {
    const id = packIdFromKey(e.key);
    if (!id || repo.index.packs.has(id)) continue;
    try {
      found.push(await repo.readPackHeader(id));
    } catch (err) {
      if (isMobrError(err, 'NOT_FOUND')) continue;
      if (!isMobrError(err)) throw err;
      report.damagedPacks.push({ pack: id, problem: err.message });
    }
  }
  report.packsReindexed = found.length;
  report.chunksReindexed = found.reduce((n, p) => n + p.blobs.length, 0);
  if (dryRun) return report;
  for (let i = 0; i < found.length; i += PACKS_PER_INDEX) report.indexesWritten.push(await repo.writeIndex(found.slice(i, i + PACKS_PER_INDEX)));
  for (const { key } of report.damagedIndexes) await repo.store.delete(key);
  await repo.refreshIndex();
  return report;
}
