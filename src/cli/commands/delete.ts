/**
 * `mo_br delete ID`: removes a backup's data from its repository, then its catalog record.
 * --not_delete_data removes the record only. Data first: if the repository cannot be reached
 * (no keys, unreachable), nothing changes and the command fails. The backup is found through the
 * catalog or, with --backup_dir …, in that repository alone (resolve.ts); a backup the catalog
 * does not know has no record to remove.
 */
import { deleteBackupData } from '../gc-adapter.js';
import { sameLocation } from '../location.js';
import type { BackupRecord } from '../meta.js';
import { openBackup, type RepoFlags } from '../resolve.js';
import { printJson, type CliContext } from '../context.js';

export interface DeleteFlags extends RepoFlags {
  not_delete_data?: boolean;
}

export async function runDelete(id: string, flags: DeleteFlags, ctx: CliContext): Promise<void> {
  await ctx.catalog.read(); // a damaged catalog stops us before any data goes
  const found = await openBackup(id, flags, ctx);
  const { record } = found;
  let freed: number | undefined;
  try {
    if (!flags.not_delete_data) freed = await deleteBackupData(found.repo, record.id);
  } finally {
    await found.close();
  }
  const mine = (r: BackupRecord) => r.id === record.id && sameLocation(r.location, record.location);
  const recordRemoved = (await ctx.catalog.read()).some(mine);
  if (recordRemoved) await ctx.catalog.update((rs) => rs.filter((r) => !mine(r)));
  ctx.log?.info('backup deleted', { backup_id: record.id, data_deleted: !flags.not_delete_data, record_removed: recordRemoved });
  if (ctx.json) printJson(ctx, 'delete', { deleted: record.id, dataDeleted: !flags.not_delete_data, recordRemoved, freedBytes: freed ?? null });
}
