/**
 * `mo_br prune --keep_last N --keep_daily N --keep_weekly N --keep_monthly N [--dry_run]`:
 * applies a retention policy (restic's semantics, src/repo/prune.ts) to every repository the
 * catalog names (or the one given by --backup_dir + --backup_*), deletes the other backups and
 * their catalog records, then runs one gc per repository. --dry_run lists what would go.
 */
import { MobrError } from '../../errors.js';
import { planRetention, prune, type PrunePlan, type RetentionPolicy } from '../../repo/prune.js';
import type { GcReport } from '../../repo/gc.js';
import { describeLocation, sameLocation, type BackupLocation } from '../location.js';
import { openRepository } from '../stores.js';
import { formatBytes } from '../units.js';
import { intFlag, printJson, type CliContext } from '../context.js';
import { backupSideLocation, type BackupSideFlags } from '../resolve.js';

export interface PruneFlags extends BackupSideFlags {
  keep_last?: string;
  keep_daily?: string;
  keep_weekly?: string;
  keep_monthly?: string;
  dry_run?: boolean;
  access_key_id?: string;
  secret_access_key?: string;
}

export function policyFromFlags(f: PruneFlags): RetentionPolicy {
  const p: RetentionPolicy = {
    keepLast: intFlag(f.keep_last, '--keep_last', 0),
    keepDaily: intFlag(f.keep_daily, '--keep_daily', 0),
    keepWeekly: intFlag(f.keep_weekly, '--keep_weekly', 0),
    keepMonthly: intFlag(f.keep_monthly, '--keep_monthly', 0),
  };
  planRetention([], p); // refuses an empty policy before anything is opened
  return p;
}

export async function runPrune(flags: PruneFlags, ctx: CliContext): Promise<void> {
  const policy = policyFromFlags(flags);
  const locations: BackupLocation[] = [];
  if (flags.backup_dir !== undefined) locations.push(backupSideLocation(flags));
  else for (const r of await ctx.catalog.read()) if (!locations.some((l) => sameLocation(l, r.location))) locations.push(r.location);
  if (locations.length === 0) throw new MobrError('ENOENT_BACKUP', `no backups in ${ctx.catalog.file}; give --backup_dir to prune a repository directly`);
  const creds = { accessKeyId: flags.access_key_id ?? flags.backup_access_key_id, secretAccessKey: flags.secret_access_key ?? flags.backup_secret_access_key };
  const out: { location: BackupLocation; plan: PrunePlan; gc?: GcReport | 'deferred' }[] = [];
  for (const location of locations) {
    const repo = await openRepository(location, creds);
    try {
      const r = await prune(repo, policy, { dryRun: flags.dry_run === true });
      if (!r.dryRun) {
        const gone = new Set(r.remove.map((x) => x.id));
        await ctx.catalog.update((rs) => rs.filter((x) => !(gone.has(x.id) && sameLocation(x.location, location))));
      }
      out.push({ location, plan: { keep: r.keep, remove: r.remove }, gc: r.gc });
    } finally {
      await repo.close();
    }
  }
  if (ctx.json) {
    printJson(ctx, 'prune', { dryRun: flags.dry_run === true, repositories: out });
    return;
  }
  for (const o of out) {
    ctx.stdout.write(`${describeLocation(o.location)}\n`);
    for (const k of o.plan.keep) ctx.stdout.write(`keep    ${k.id}  ${new Date(k.completedAt).toISOString()}  ${k.reasons.join(', ')}\n`);
    for (const k of o.plan.remove) ctx.stdout.write(`${flags.dry_run ? 'would remove' : 'remove'}  ${k.id}  ${new Date(k.completedAt).toISOString()}\n`);
    if (o.gc === 'deferred') ctx.stdout.write('gc deferred: backups are running; the next prune or delete frees the data\n');
    else if (o.gc) ctx.stdout.write(`gc: ${o.gc.packsDeleted} packs deleted, ${o.gc.packsRepacked} repacked, ${formatBytes(Math.max(0, o.gc.bytesFreed))} freed\n`);
  }
}
