/**
 * Deleting backups (spec/gc.md §3, "Deleting backups"). With gc, the order is what makes a failure
 * safe: gc takes the exclusive lock and checks everything that could stop it (index objects and
 * the other manifests decode, repacked chunks check out) *before* the manifests are deleted, in
 * gc's `commit` step; so a gc that refuses leaves the backups in place. When other processes
 * hold the repository (LOCKED), the manifests are deleted without gc, in a shared session (it
 * waits up to 10 min for a live gc or repair, as a backup does; it goes on beside an exclusive
 * lock past staleMs, as a restore does: deleting a manifest frees nothing), and the data is freed
 * by a later gc: `deferred`, with the reason (spec/gc.md §3, "Deleting backups").
 */
import { MobrError, isMobrError } from '../errors.js';
import { gc, type GcOptions, type GcReport } from './gc.js';
import { isLockLost } from './lock.js';
import type { Repository } from './repository.js';
import { sharedSession } from './session.js';

/** How long a manifest removal waits for a live exclusive lock (a gc, a repair) to go, as a backup does. */
const REMOVE_WAIT_MS = 10 * 60_000;

interface DeleteHooks {
  /** Before the first manifest is deleted (e.g. check that the catalog can be written). */
  beforeDelete?: () => Promise<void>;
  /** Right after the manifests are deleted (e.g. remove their catalog records). */
  afterDelete?: () => Promise<void>;
}

export interface DeleteResult {
  ids: string[];
  /** The gc run; 'deferred' when other processes held the repository (a later gc frees the data). */
  gc?: GcReport | 'deferred';
  /** Why gc was deferred (who holds the repository). */
  deferredBecause?: string;
}

/** Deletes the manifests of `ids` (those present), with gc unless `gc: false`. */
export async function deleteBackups(repo: Repository, ids: string[], o: GcOptions & DeleteHooks & { gc?: boolean } = {}): Promise<DeleteResult> {
  const present: string[] = [];
  for (const id of ids) if (await repo.hasBackup(id)) present.push(id);
  let committed = false;
  const commit = async () => {
    committed = true;
    await o.beforeDelete?.();
    for (const id of present) await repo.deleteManifest(id);
    await o.afterDelete?.();
  };
  // without gc: in a shared session, the lock proven held right before the first manifest goes
  const purpose = `delete ${present.join(', ')}`;
  const beside = 'deleting the manifest(s) beside it (that frees nothing)';
  const commitShared = () =>
    sharedSession(repo, { purpose, signal: o.signal, clock: o.clock, lock: { waitMs: REMOVE_WAIT_MS, ...o.lock, reader: true, beside } }, async (s) => {
      await s.assertHeld();
      await commit();
    });
  if (o.gc === false) {
    await commitShared();
    return { ids: present };
  }
  try {
    return { ids: present, gc: await gc(repo, { ...o, dryRun: false, exclude: new Set(present), commit }) };
  } catch (e) {
    if (committed && isMobrError(e) && (e.code === 'INTERRUPTED' || isLockLost(e))) {
      throw new MobrError(e.code, `${e.message}: backup(s) ${present.join(', ')} deleted; the space they held is freed by the next delete or prune`, { cause: e });
    }
    if (committed) throw e;
    if (isMobrError(e, 'LOCKED') && !isLockLost(e)) {
      await commitShared().catch((e2: unknown) => {
        throw committed || !isMobrError(e2) ? e2 : new MobrError(e2.code, `${e2.message}; nothing was deleted`, { cause: e2 });
      }); // its data waits for a later gc
      return { ids: present, gc: 'deferred', deferredBecause: e.message };
    }
    if (isMobrError(e)) throw new MobrError(e.code, `${e.message}; nothing was deleted`, { cause: e });
    throw e;
  }
}

/** Deletes backup `id` (ENOENT_BACKUP when it is not there), then optionally frees its data. */
export async function deleteBackup(repo: Repository, id: string, o: GcOptions & DeleteHooks & { gc?: boolean } = {}): Promise<DeleteResult> {
  if (!(await repo.hasBackup(id))) throw new MobrError('ENOENT_BACKUP', `no backup ${id} in ${repo.store.location}`);
  return deleteBackups(repo, [id], { gc: false, ...o });
}
