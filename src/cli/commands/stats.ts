/**
 * `mo_br stats [ID]`: per backup its logical size, stored size, dedup ratio and the bytes only it
 * holds (what deleting it frees). With an ID: that backup (found through the catalog or the
 * --backup_* flags, resolve.ts);
 * with --backup_dir + --backup_*: every backup there; else every repository in the catalog.
 */
import { repoStats, type RepoStats } from '../../repo/stats.js';
import { describeLocation, sameLocation, type BackupLocation } from '../location.js';
import { openRepository } from '../stores.js';
import { formatBytes } from '../units.js';
import { printJson, type CliContext } from '../context.js';
import { backupSideLocation, openBackup, type BackupSideFlags } from '../resolve.js';

export interface StatsFlags extends BackupSideFlags {
  access_key_id?: string;
  secret_access_key?: string;
}

export async function runStats(id: string | undefined, flags: StatsFlags, ctx: CliContext): Promise<void> {
  const creds = { accessKeyId: flags.access_key_id ?? flags.backup_access_key_id, secretAccessKey: flags.secret_access_key ?? flags.backup_secret_access_key };
  const targets: { location: BackupLocation; ids?: string[] }[] = [];
  if (id !== undefined) {
    const found = await openBackup(id, flags, ctx);
    await found.close();
    targets.push({ location: found.location, ids: [found.record.id] });
  } else if (flags.backup_dir !== undefined) targets.push({ location: backupSideLocation(flags) });
  else for (const r of await ctx.catalog.read()) if (!targets.some((t) => sameLocation(t.location, r.location))) targets.push({ location: r.location });
  const out: { location: BackupLocation; stats: RepoStats }[] = [];
  for (const t of targets) {
    const repo = await openRepository(t.location, creds);
    try {
      out.push({ location: t.location, stats: await repoStats(repo, t.ids) });
    } finally {
      await repo.close();
    }
  }
  if (ctx.json) return printJson(ctx, 'stats', { repositories: out });
  for (const { location, stats } of out) {
    ctx.stdout.write(`${describeLocation(location)}\n`);
    ctx.stdout.write(`${'ID'.padEnd(38)}${'LOGICAL'.padStart(10)}${'STORED'.padStart(10)}${'DEDUP'.padStart(8)}${'UNIQUE'.padStart(10)}\n`);
    for (const b of stats.backups) {
      ctx.stdout.write(`${b.id.padEnd(38)}${formatBytes(b.logicalSize).padStart(10)}${formatBytes(b.storedSize).padStart(10)}${`${b.dedupRatio.toFixed(2)}x`.padStart(8)}${formatBytes(b.uniqueBytes).padStart(10)}\n`);
    }
    ctx.stdout.write(`total: ${formatBytes(stats.logicalSize)} logical in ${formatBytes(stats.packBytes)} of ${stats.packs} packs (${formatBytes(stats.liveBytes)} live, dedup ${stats.dedupRatio.toFixed(2)}x)\n`);
  }
}
