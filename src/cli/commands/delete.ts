/**
 * `mo_br delete ID`: removes a backup from its repository and its catalog record. The backup is
 * found through the catalog or, with --backup_dir …, in that repository alone (resolve.ts).
 * --not_delete_data removes the record only.
 *
 * Order (spec/gc.md §3, "Deleting backups"): gc takes the exclusive lock and checks it can finish;
 * then the catalog is proven writable (locked and rewritten as it is); then the manifest goes and
 * right after it the record; then gc frees the data. So a gc that refuses or a catalog that cannot
 * be written leaves the backup and its record as they were; a crash between manifest and record
 * leaves a record without a backup, which the same delete (or any prune) removes.
 */
import { withContext } from '../../errors.js';
import { deleteBackups, type DeleteResult } from '../../repo/delete.js';
import { describeLocation, sameLocation } from '../../store/location.js';
import type { BackupRecord } from '../meta.js';
import { openBackup, type RepoFlags } from '../resolve.js';
import { gcPauseHook, safetyFlag, spaceLines } from '../space.js';
import { printJson, type CliContext } from '../context.js';

export interface DeleteFlags extends RepoFlags {
  not_delete_data?: boolean;
  safety?: string;
}

export async function runDelete(id: string, flags: DeleteFlags, ctx: CliContext): Promise<void> {
  const safety = safetyFlag(flags.safety);
  await ctx.catalog.read(); // a damaged catalog stops us before any data goes
  const found = await openBackup(id, flags, ctx);
  const { record } = found;
  const mine = (r: BackupRecord) => r.id === record.id && sameLocation(r.location, record.location);
  const inCatalog = (await ctx.catalog.read()).some(mine);
  let recordRemoved = false;
  const removeRecord = async () => {
    if (!inCatalog) return;
    await ctx.catalog.update((rs) => rs.filter((r) => !mine(r)));
    recordRemoved = true;
  };
  let result: DeleteResult | undefined;
  try {
    if (!flags.not_delete_data) {
      result = await deleteBackups(found.repo, [record.id], {
        gc: true,
        safety,
        signal: ctx.signal,
        onStep: gcPauseHook(ctx.signal),
        beforeDelete: async () => {
          if (!inCatalog) return;
          await ctx.catalog.update((rs) => rs).catch((e) => Promise.reject(withContext(`nothing was deleted: cannot write ${ctx.catalog.file}`, e)));
        },
        afterDelete: () =>
          removeRecord().catch((e) =>
            Promise.reject(withContext(`backup ${record.id} was deleted from ${describeLocation(record.location)}, but its record in ${ctx.catalog.file} could not be removed (run the same delete again to remove it)`, e)),
          ),
      });
    }
  } finally {
    await found.close();
  }
  if (!recordRemoved) await removeRecord(); // --not_delete_data, or no manifest left (a delete killed after removing it)
  const gc = result?.gc;
  ctx.log?.info('backup deleted', { backup_id: record.id, data_deleted: !flags.not_delete_data, record_removed: recordRemoved });
  if (ctx.json) {
    const freed = gc && gc !== 'deferred' ? Math.max(0, gc.bytesFreed) : null;
    printJson(ctx, 'delete', { deleted: record.id, dataDeleted: !flags.not_delete_data, recordRemoved, freedBytes: freed, gc: gc ?? null, deferredBecause: result?.deferredBecause ?? null });
    return;
  }
  const what = flags.not_delete_data ? `record of backup ${record.id} removed from ${ctx.catalog.file}; its data is kept` : `backup ${record.id} deleted from ${describeLocation(record.location)}`;
  ctx.stdout.write(`delete: ${what}\n${spaceLines('delete', gc, result?.deferredBecause)}`);
}
