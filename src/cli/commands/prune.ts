/**
 * `mo_br prune --keep_last N --keep_hourly N --keep_daily N --keep_weekly N --keep_monthly N
 * --keep_yearly N --keep_within 1y2m3d4h [--dry_run]`:
 * applies a retention policy (restic's semantics, src/repo/prune.ts) to every repository the
 * catalog names (or the one given by --backup_dir + --backup_*), to each source (cluster or data
 * folder) separately and only to the backups the catalog in use records (--unrecorded: all),
 * deletes the other backups and their catalog records, then runs one gc per repository. Records
 * whose backup is gone (a killed prune or delete) are removed and named. --dry_run lists what
 * would go.
 */
import { MobrError, checkAborted, isMobrError, withContext } from '../../errors.js';
import { planRetention, prune, type PrunePlan, type RetentionPolicy } from '../../repo/prune.js';
import type { GcReport } from '../../repo/gc.js';
import { gcPauseHook, gcProgress, safetyFlag, spaceLines } from '../space.js';
import { Progress } from '../progress.js';
import { describeLocation, sameLocation, type Location } from '../../store/location.js';
import type { Repository } from '../../repo/repository.js';
import { eachRepository, failIfSkipped, skippedJson } from '../each-repo.js';
import { intFlag, printJson, type CliContext } from '../context.js';
import { backupSideLocation, type BackupSideFlags } from '../resolve.js';

export interface PruneFlags extends BackupSideFlags {
  keep_last?: string;
  keep_hourly?: string;
  keep_daily?: string;
  keep_weekly?: string;
  keep_monthly?: string;
  keep_yearly?: string;
  keep_within?: string;
  dry_run?: boolean;
  safety?: string;
  unrecorded?: boolean;
  access_key_id?: string;
  secret_access_key?: string;
}

interface PruneOut {
  location: Location;
  plan: PrunePlan;
  untouched: string[];
  reconciled: string[];
  gc?: GcReport | 'deferred';
  deferredBecause?: string;
}

export function policyFromFlags(f: PruneFlags): RetentionPolicy {
  const p: RetentionPolicy = {
    keepLast: intFlag(f.keep_last, '--keep_last', 0),
    keepHourly: intFlag(f.keep_hourly, '--keep_hourly', 0),
    keepDaily: intFlag(f.keep_daily, '--keep_daily', 0),
    keepWeekly: intFlag(f.keep_weekly, '--keep_weekly', 0),
    keepMonthly: intFlag(f.keep_monthly, '--keep_monthly', 0),
    keepYearly: intFlag(f.keep_yearly, '--keep_yearly', 0),
    keepWithin: f.keep_within,
  };
  planRetention([], p); // refuses an empty policy before anything is opened
  return p;
}

export async function runPrune(flags: PruneFlags, ctx: CliContext): Promise<void> {
  const policy = policyFromFlags(flags);
  const safety = safetyFlag(flags.safety);
  const dryRun = flags.dry_run === true;
  const records = await ctx.catalog.read();
  const locations: Location[] = [];
  if (flags.backup_dir !== undefined) locations.push(backupSideLocation(flags));
  else for (const r of records) if (!locations.some((l) => sameLocation(l, r.location))) locations.push(r.location);
  if (locations.length === 0) throw new MobrError('ENOENT_BACKUP', `no backups in ${ctx.catalog.file}; give --backup_dir to prune a repository directly`);
  const creds = { accessKeyId: flags.access_key_id ?? flags.backup_access_key_id, secretAccessKey: flags.secret_access_key ?? flags.backup_secret_access_key };
  const pruned: Location[] = [];
  let each: Awaited<ReturnType<typeof eachRepository<PruneOut>>>;
  try {
    each = await eachRepository(locations, creds, async (repo, location) => {
      const o = await pruneOne(repo, location);
      pruned.push(location);
      return o;
    });
  } catch (e) {
    if (!isMobrError(e, 'INTERRUPTED') || pruned.length === 0) throw e;
    throw new MobrError('INTERRUPTED', `${e.message} (pruned already: ${pruned.map((l) => describeLocation(l)).join(', ')})`, { cause: e });
  }
  const { results: out, skipped, errors } = each;
  async function pruneOne(repo: Repository, location: Location): Promise<PruneOut> {
    checkAborted(ctx.signal); // between repositories: each one's prune is whole or not begun
    const here = records.filter((r) => sameLocation(r.location, location));
    const present = new Set(await repo.listBackupIds());
    const stale = here.filter((r) => !present.has(r.id)).map((r) => r.id); // records a killed prune or delete left behind
    const dropRecords = async (ids: string[]) => {
      const gone = new Set([...ids, ...stale]);
      if (gone.size === 0) return;
      await ctx.catalog.update((rs) => rs.filter((x) => !(gone.has(x.id) && sameLocation(x.location, location))));
    };
    const progress = new Progress('prune', { json: ctx.json });
    const r = await prune(repo, policy, {
      dryRun,
      safety,
      signal: ctx.signal,
      onStep: gcPauseHook(ctx.signal),
      onProgress: gcProgress(progress),
      only: flags.unrecorded ? undefined : new Set(here.map((x) => x.id)),
      afterDelete: (ids) =>
        dropRecords(ids).catch((e) => Promise.reject(withContext(`the backups prune removed from ${describeLocation(location)} are gone, but their records in ${ctx.catalog.file} could not be removed (the next prune removes them)`, e))),
    }).finally(() => progress.done());
    return { location, plan: { keep: r.keep, remove: r.remove }, untouched: r.untouched, reconciled: stale, gc: r.gc, deferredBecause: r.deferredBecause };
  }
  if (ctx.json) {
    const iso = <T extends { completedAt: number }>(d: T) => ({ ...d, completedAt: new Date(d.completedAt).toISOString() });
    printJson(ctx, 'prune', { dryRun, repositories: out.map((o) => ({ ...o, plan: { keep: o.plan.keep.map(iso), remove: o.plan.remove.map(iso) } })), skipped: skippedJson(skipped) });
    return failIfSkipped(skipped, errors, locations.length);
  }
  for (const o of out) {
    ctx.stdout.write(`${describeLocation(o.location)}\n`);
    const groups = [...new Set([...o.plan.keep, ...o.plan.remove].map((d) => d.group ?? ''))].sort();
    for (const g of groups) {
      if (groups.length > 1 || g !== 'unknown source') ctx.stdout.write(`source  ${g}\n`);
      for (const k of o.plan.keep.filter((d) => (d.group ?? '') === g)) ctx.stdout.write(`keep    ${k.id}  ${new Date(k.completedAt).toISOString()}  ${k.reasons.join(', ')}\n`);
      for (const k of o.plan.remove.filter((d) => (d.group ?? '') === g)) ctx.stdout.write(`${dryRun ? 'would remove' : 'remove'}  ${k.id}  ${new Date(k.completedAt).toISOString()}\n`);
    }
    if (o.untouched.length > 0) ctx.stdout.write(`untouched: ${o.untouched.length} backup(s) ${ctx.catalog.file} does not record were left alone (--unrecorded applies the policy to them too)\n`);
    if (o.reconciled.length > 0) ctx.stdout.write(`${dryRun ? 'would remove' : 'removed'} ${o.reconciled.length} record(s) whose backup no longer exists: ${o.reconciled.join(', ')}\n`);
    ctx.stdout.write(spaceLines('prune', o.gc, o.deferredBecause));
  }
  failIfSkipped(skipped, errors, locations.length);
}
