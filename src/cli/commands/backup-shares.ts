/**
 * `mo_br backup` in shares (spec/scale.md, spec/cli.md "A backup in shares"):
 * - `--shares k` on a server backup: this process is the coordinator; once its plan is stored it
 *   prints one `mo_br backup --join …` command per other share (sharesAnnouncement);
 * - `--join <ID> --share <i>` with the repository's location flags: an ingester of share i of a
 *   backup whose coordinator is waiting (runJoin). It records nothing in the catalog: the
 *   coordinator records the backup once its manifest is written.
 */
import { MobrError, checkAborted } from '../../errors.js';
import { joinShare } from '../../mo/shared.js';
import type { SharesDeadline, SharesPlanned } from '../../mo/shared.js';
import { MAX_SHARES } from '../../mo/shares.js';
import { pendingPlanIds } from '../../repo/parts.js';
import type { Repository } from '../../repo/repository.js';
import { describeLocation, type Location } from '../../store/location.js';
import { Progress, storedBytes } from '../progress.js';
import { openRepository } from '../stores.js';
import { checkBackupId, intFlag, printJson, type CliContext } from '../context.js';
import { formatBytes } from '../units.js';
import { sharePauseHook } from '../test-pause.js';
import { sleep } from '../../util/sleep.js';

/** The flags of `backup` these parts read (backup.ts's ShareFlags has them all). */
interface ShareFlags {
  shares?: string;
  shares_timeout?: string;
  join?: string;
  share?: string;
  host?: string;
  data_dir?: string;
  backup_type?: string;
  base_id?: string;
  dry_run?: boolean;
  parallelism?: string;
  access_key_id?: string;
  secret_access_key?: string;
}

/** --shares: a whole number from 1 to MAX_SHARES, for a backup of a running MatrixOne only. */
export function sharesFlag(flags: ShareFlags): number | undefined {
  const k = intFlag(flags.shares, '--shares', 1, MAX_SHARES);
  if (k === undefined) return undefined;
  if (flags.data_dir !== undefined) throw new MobrError('BAD_INPUT', '--shares is for a backup of a running MatrixOne (--host), not a cold backup');
  if (flags.dry_run) throw new MobrError('BAD_INPUT', '--shares cannot be combined with --dry_run');
  return k;
}

/** --shares_timeout's default: a nightly job that nobody joined fails before the next night. */
const DEFAULT_SHARES_TIMEOUT = '6h';

/** --shares_timeout <duration> ("6h", "90m", "1h30m", "45s", "500ms"): how long the coordinator waits for the other shares. */
export function sharesTimeoutFlag(flags: ShareFlags, shares: number | undefined): SharesDeadline | undefined {
  if (flags.shares_timeout !== undefined && shares === undefined) throw new MobrError('BAD_INPUT', '--shares_timeout goes with --shares <k>');
  if (shares === undefined || shares < 2) return undefined;
  const text = flags.shares_timeout ?? DEFAULT_SHARES_TIMEOUT;
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  const parts = /^(?:\d+(?:\.\d+)?(?:ms|h|m|s))+$/.test(text) ? [...text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)] : [];
  const ms = parts.reduce((t, m) => t + Number(m[1]) * unit[m[2]!]!, 0);
  if (parts.length === 0 || !(ms > 0)) {
    throw new MobrError('BAD_INPUT', `--shares_timeout wants a duration such as 6h, 90m or 45s, not ${JSON.stringify(text)}`);
  }
  return { ms, text };
}

/** The lines that tell the user how to run the other shares (no secret: keys are named, never shown). */
export function sharesAnnouncement(p: SharesPlanned, location: Location, keysGiven: boolean): string {
  const where = locationArgs(location).map(shellWord).join(' ');
  const lines = [`Shares`, `    backup ${p.id} is read in ${p.shares} shares; this process reads share 0 (${p.files[0]} files, ${formatBytes(p.bytes[0]!)}) and waits for the others.`];
  lines.push(`    Run each command once, on any machine that reaches ${describeLocation(location)}:`);
  for (let i = 1; i < p.shares; i++) lines.push(`    mo_br backup --join ${p.id} --share ${i} ${where}    # ${p.files[i]} files, ${formatBytes(p.bytes[i]!)}`);
  if (location.backupDir === 's3' && keysGiven) lines.push('    (each with the same S3 keys as this backup: --access_key_id and --secret_access_key)');
  return `${lines.join('\n')}\n`;
}

function locationArgs(l: Location): string[] {
  if (l.backupDir === 'filesystem') return ['--backup_dir', 'filesystem', '--path', l.path];
  const out = ['--backup_dir', 's3'];
  if (l.endpoint) out.push('--endpoint', l.endpoint);
  out.push('--bucket', l.bucket, '--filepath', l.filepath);
  if (l.region) out.push('--region', l.region);
  if (l.roleArn) out.push('--role_arn', l.roleArn);
  if (l.isMinio) out.push('--is_minio');
  return out;
}

const shellWord = (s: string): string => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** `--join pending`: the one backup in shares waiting in the repository (an Indexed Job's pods know no ID). */
const PENDING = 'pending';

/**
 * The ID of the one plan in the repository, waiting for the coordinator to write it for up to
 * MO_BR_JOIN_WAIT_MS (default 10 min, on the monotonic clock: a clock jump neither ends nor stretches the wait); several plans need the ID.
 */
async function pendingPlan(repo: Repository, location: Location, signal?: AbortSignal): Promise<string> {
  const deadline = performance.now() + (Number(process.env.MO_BR_JOIN_WAIT_MS) || 600_000);
  for (;;) {
    const ids = await pendingPlanIds(repo);
    if (ids.length === 1) return checkBackupId(ids[0]);
    if (ids.length > 1) throw new MobrError('BAD_INPUT', `--join pending: ${ids.length} backups in shares wait in ${describeLocation(location)} (${ids.join(', ')}); give the ID`);
    if (performance.now() > deadline) {
      throw new MobrError('ENOENT_BACKUP', `--join pending: no backup in shares began in ${describeLocation(location)} (MO_BR_JOIN_WAIT_MS passed)`);
    }
    checkAborted(signal);
    await sleep(1000, signal);
  }
}

/** `mo_br backup --join <ID>|pending --share <i> …`: ingests one share and writes its part. */
export async function runJoin(flags: ShareFlags, location: Location, ctx: CliContext): Promise<void> {
  if (flags.join !== PENDING) checkBackupId(flags.join!);
  if (flags.share === undefined) throw new MobrError('BAD_INPUT', 'missing --share (the share number of this ingester, as the coordinator printed it)');
  const share = intFlag(flags.share, '--share', 1, MAX_SHARES - 1)!;
  const planned = [['--shares', flags.shares], ['--shares_timeout', flags.shares_timeout], ['--backup_type', flags.backup_type], ['--base_id', flags.base_id], ['--dry_run', flags.dry_run]] as const;
  for (const [flag, given] of [['--host', flags.host], ['--data_dir', flags.data_dir], ...planned] as const) {
    if (given !== undefined && given !== false) throw new MobrError('BAD_INPUT', `--join takes no ${flag}: the coordinator's plan says what to read`);
  }
  const parallelism = intFlag(flags.parallelism, '--parallelism', 1, 1024);
  const creds = { accessKeyId: flags.access_key_id, secretAccessKey: flags.secret_access_key };
  const repo = await openRepository(location, creds, parallelism);
  const progress = new Progress(`share ${share}`, { json: ctx.json });
  const done = storedBytes();
  let r;
  try {
    const id = flags.join === PENDING ? await pendingPlan(repo, location, ctx.signal) : checkBackupId(flags.join!);
    r = await joinShare({
      repo,
      target: location,
      credentials: creds,
      id,
      share,
      parallelism,
      beforePart: sharePauseHook(ctx.signal),
      signal: ctx.signal,
      onProgress: (p) => progress.update({ bytes: done(p), totalBytes: p.totalBytes, files: p.filesDone, totalFiles: p.totalFiles }),
    });
  } finally {
    progress.done();
    await repo.close();
  }
  ctx.log?.info('share stored', { backup: r.id, share, files: r.files, bytes: r.totalBytes, added_bytes: r.addedBytes, started: new Date(r.startedAt).toISOString(), completed: new Date(r.completedAt).toISOString() });
  if (ctx.json) printJson(ctx, 'share', { ...r, startedAt: new Date(r.startedAt).toISOString(), completedAt: new Date(r.completedAt).toISOString() });
  else ctx.stdout.write(`Share\n    ${r.share} of ${r.shares} of backup ${r.id}: ${r.files} files, ${formatBytes(r.totalBytes)} total, ${formatBytes(r.readBytes)} read, ${formatBytes(r.addedBytes)} added\n`);
}
