/**
 * `mo_br delete ID`: removes a backup from its repository and its catalog record. The backup is
 * found through the catalog or, with --backup_dir …, in that repository alone (resolve.ts).
 * --not_delete_data removes the record only, as mo_br's flag does: no repository is opened, so a
 * record whose repository is gone can always be forgotten; a plain delete of a record whose
 * folder holds no repository any more forgets it too.
 *
 * Order (spec/gc.md §3, "Deleting backups"): gc takes the exclusive lock and checks it can finish;
 * then the catalog is proven writable (locked and rewritten as it is); then the manifest goes and
 * right after it the record; then gc frees the data. So a gc that refuses or a catalog that cannot
 * be written leaves the backup and its record as they were; a crash between manifest and record
 * leaves a record without a backup, which the same delete (or any prune) removes.
 */
import { MobrError, isMobrError, withContext } from '../../errors.js';
import { deleteBackups, type DeleteResult } from '../../repo/delete.js';
import { describeLocation, sameLocation } from '../../store/location.js';
import type { BackupRecord } from '../meta.js';
import { flagLocation, openBackup, resolveAlias, type OpenedBackup, type RepoFlags } from '../resolve.js';
import { gcPauseHook, gcProgress, safetyFlag, spaceLines } from '../space.js';
import { Progress } from '../progress.js';
import { checkBackupId, printJson, type CliContext } from '../context.js';

export interface DeleteFlags extends RepoFlags {
  not_delete_data?: boolean;
  safety?: string;
}

const UNREACHABLE_CODES: ReadonlySet<string> = new Set(['UNREACHABLE', 'AUTH_FAILED', 'ACCESS_DENIED', 'IO', 'NOT_FOUND']);

export async function runDelete(rawId: string, flags: DeleteFlags, ctx: CliContext): Promise<void> {
  const safety = safetyFlag(flags.safety);
  const id = checkBackupId(await resolveAlias(rawId, flags, ctx));
  await ctx.catalog.read(); // a damaged catalog stops us before any data goes
  if (flags.not_delete_data) return forgetRecord(id, flags, ctx);
  let found: OpenedBackup;
  try {
    found = await openBackup(id, flags, ctx);
  } catch (e) {
    if (flagLocation(flags) !== undefined) throw e;
    // the record's repository is gone: forgetting the record needs nothing from it
    if (isMobrError(e, 'NO_REPO')) return forgetRecord(id, flags, ctx, e.message);
    // a repository out of reach: say how to forget the record; a damaged one is repaired, not forgotten
    if (e instanceof MobrError && UNREACHABLE_CODES.has(e.code)) {
      throw new MobrError(e.code, `${e.message} (nothing was deleted; \`mo_br delete ${id} --not_delete_data\` forgets the record without its repository)`, { cause: e });
    }
    throw e;
  }
  const { record } = found;
  const mine = (r: BackupRecord) => r.id === record.id && sameLocation(r.location, record.location);
  const inCatalog = (await ctx.catalog.read()).some(mine);
  let recordRemoved = false;
  const removeRecord = async () => {
    if (!inCatalog) return;
    await ctx.catalog.update((rs) => rs.filter((r) => !mine(r)));
    recordRemoved = true;
  };
  let result: DeleteResult;
  const progress = new Progress('delete', { json: ctx.json });
  try {
    result = await deleteBackups(found.repo, [record.id], {
      gc: true,
      safety,
      signal: ctx.signal,
      onStep: gcPauseHook(ctx.signal),
      onProgress: gcProgress(progress),
      beforeDelete: async () => {
        if (!inCatalog) return;
        await ctx.catalog.update((rs) => rs).catch((e) => Promise.reject(withContext(`nothing was deleted: cannot write ${ctx.catalog.file}`, e)));
      },
      afterDelete: () =>
        removeRecord().catch((e) =>
          Promise.reject(withContext(`backup ${record.id} was deleted from ${describeLocation(record.location)}, but its record in ${ctx.catalog.file} could not be removed (run the same delete again to remove it)`, e)),
        ),
    });
  } finally {
    progress.done();
    await found.close();
  }
  if (!recordRemoved) await removeRecord(); // no manifest left (a delete killed after removing it)
  const gc = result.gc;
  ctx.log?.info('backup deleted', { backup_id: record.id, data_deleted: true, record_removed: recordRemoved });
  if (ctx.json) {
    const freed = gc && gc !== 'deferred' ? Math.max(0, gc.bytesFreed) : null;
    printJson(ctx, 'delete', { deleted: record.id, dataDeleted: true, recordRemoved, freedBytes: freed, gc: gc ?? null, deferredBecause: result.deferredBecause ?? null });
    return;
  }
  ctx.stdout.write(`delete: backup ${record.id} deleted from ${describeLocation(record.location)}\n${spaceLines('delete', gc, result.deferredBecause)}`);
}

/**
 * --not_delete_data (as mo_br's flag: the record only), or a record whose repository is gone
 * (`gone` says why): removes the catalog's record(s) of `id` (of the --backup_* repository when
 * given) without opening any repository.
 */
async function forgetRecord(id: string, flags: DeleteFlags, ctx: CliContext, gone?: string): Promise<void> {
  const given = flagLocation(flags);
  const mine = (r: BackupRecord) => r.id === id && (given === undefined || sameLocation(r.location, given));
  let removed: BackupRecord[] = [];
  await ctx.catalog.update((rs) => {
    removed = rs.filter(mine);
    if (removed.length === 0) throw new MobrError('ENOENT_BACKUP', `no backup with ID ${id}${given ? ` of ${describeLocation(given)}` : ''} in ${ctx.catalog.file}`);
    return rs.filter((r) => !mine(r));
  });
  const where = describeLocation(removed[0].location);
  ctx.log?.info('backup record removed', { backup_id: id, data_deleted: false, record_removed: true });
  if (ctx.json) {
    printJson(ctx, 'delete', { deleted: id, dataDeleted: false, recordRemoved: true, freedBytes: null, gc: null, deferredBecause: null, repositoryGone: gone ?? null });
    return;
  }
  const why = gone ? `; its repository ${where} is gone (${gone}), so there was no data to free` : `; its data in ${where} is kept`;
  ctx.stdout.write(`delete: record of backup ${id} removed from ${ctx.catalog.file}${why}\n`);
}
