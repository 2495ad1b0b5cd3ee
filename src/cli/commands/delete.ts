/**
 * `mo_br delete ID`: removes a backup's data from its repository, then its catalog record.
 * --not_delete_data removes the record only. Data first: if the repository cannot be reached
 * (no keys, unreachable), nothing changes and the command fails.
 */
import { deleteBackupData } from '../gc-adapter.js';
import { openRepository } from '../stores.js';
import { checkBackupId, printJson, type CliContext } from '../context.js';

export interface DeleteFlags {
  access_key_id?: string;
  secret_access_key?: string;
  not_delete_data?: boolean;
}

export async function runDelete(id: string, flags: DeleteFlags, ctx: CliContext): Promise<void> {
  const record = await ctx.catalog.get(checkBackupId(id));
  let freed: number | undefined;
  if (!flags.not_delete_data) {
    const repo = await openRepository(record.location, { accessKeyId: flags.access_key_id, secretAccessKey: flags.secret_access_key });
    try {
      freed = await deleteBackupData(repo, record.id);
    } finally {
      await repo.close();
    }
  }
  await ctx.catalog.remove(record.id);
  if (ctx.json) printJson(ctx, { deleted: record.id, dataDeleted: !flags.not_delete_data, freedBytes: freed ?? null });
}
