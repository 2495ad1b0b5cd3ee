/**
 * `mo_br ls <ID> [path]`: the entries of a backup (spec/browse.md §2), all of them or those at
 * and below `path` (a manifest path: a file or a folder). Plain: one path a line (folders end in
 * '/', symbolic links show `-> target`); --long: mode, size in bytes, mtime (UTC), and for a
 * MatrixOne server backup the tae_list columns (server checksum, needCopy, TS); --json: all of it.
 */
import { MobrError } from '../../errors.js';
import { entriesUnder } from '../../repo/select.js';
import { backupJson, entryJson, isServerBackup, renderLs } from '../browse-format.js';
import { printJson, type CliContext } from '../context.js';
import { openBackups } from '../open-backup.js';
import type { RepoFlags } from '../resolve.js';

export interface LsFlags extends RepoFlags {
  long?: boolean;
}

export async function runLs(id: string, under: string | undefined, flags: LsFlags, ctx: CliContext): Promise<void> {
  const { repo, manifests } = await openBackups([id], flags, ctx);
  await repo.close();
  const m = manifests[0];
  const entries = entriesUnder(m.files, under);
  if (under !== undefined && entries.length === 0) throw new MobrError('NOT_FOUND', `backup ${m.id} has no path ${under}`);
  if (ctx.json) {
    printJson(ctx, 'ls', { backup: backupJson(m), path: under ?? null, entries: entries.map(entryJson) });
    return;
  }
  ctx.stdout.write(renderLs(entries, { long: flags.long === true, server: isServerBackup(m) }));
}
