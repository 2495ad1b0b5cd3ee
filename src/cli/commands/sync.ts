/**
 * `mo_br sync [ID...]`: copies backups to another repository (src/repo/sync.ts, spec/sync.md).
 * Source: the IDs' repository from the catalog (they must share one), or --backup_dir +
 * --backup_* (every backup there, or the IDs given). Target: --target_dir filesystem with
 * --target_path, or --target_dir s3 with --target_endpoint, --target_bucket, --target_filepath…
 * Resumable and idempotent: run it again after an interruption.
 */
import { realish } from '../../util/names.js';
import * as path from 'node:path';
import { MobrError } from '../../errors.js';
import { syncRepository, type SyncProgress, type SyncReport } from '../../repo/sync.js';
import { reencryptRepository, type ReencryptProgress } from '../../backup/reencrypt.js';
import type { Store } from '../../store/store.js';
import { passwordSource, repoPasswords } from '../repo-password.js';
import { WorkerPool } from '../../workers/pool.js';
import { SYNC_THREADS } from '../../util/concurrency.js';
import { describeLocation, sameLocation, type Location } from '../../store/location.js';
import { locationFromFlags, recordableLocation } from '../location-flags.js';
import { Progress } from '../progress.js';
import { repositoryLabel } from '../metrics.js';
import { printSummary, s3Counts } from '../summary.js';
import { openStore } from '../../store/open.js';
import { openOrCreateTarget, openRepository } from '../stores.js';
import { formatBytes } from '../units.js';
import { checkBackupId, printJson, type CliContext } from '../context.js';
import { backupSideLocation, catalogRecord, resolveAlias, type BackupSideFlags } from '../resolve.js';

export interface SyncFlags extends BackupSideFlags {
  access_key_id?: string;
  secret_access_key?: string;
  target_dir?: string;
  target_path?: string;
  target_endpoint?: string;
  target_access_key_id?: string;
  target_secret_access_key?: string;
  target_bucket?: string;
  target_filepath?: string;
  target_region?: string;
  target_compression?: string;
  target_role_arn?: string;
  target_is_minio?: boolean;
  /** Re-chunk and re-seal for a target of another master key, or plain <-> encrypted (spec/sync.md §8). */
  reencrypt?: boolean;
  encryption?: string;
  target_password_file?: string;
  target_password_command?: string;
}

export async function runSync(ids: string[], flags: SyncFlags, ctx: CliContext): Promise<void> {
  const target = recordableLocation(
    locationFromFlags(
      { dir: flags.target_dir, path: flags.target_path, endpoint: flags.target_endpoint, bucket: flags.target_bucket, filepath: flags.target_filepath, region: flags.target_region, compression: flags.target_compression, roleArn: flags.target_role_arn, isMinio: flags.target_is_minio },
      { dir: '--target_dir', other: '--target_' },
    ),
    '--target_',
  );
  let source: Location;
  const wanted: string[] = [];
  for (const raw of ids) wanted.push(checkBackupId(await resolveAlias(raw, flags, ctx)));
  if (flags.backup_dir !== undefined) source = backupSideLocation(flags);
  else {
    if (wanted.length === 0) {
      // no IDs: every backup the catalog records, when they all live in one repository
      const all = await ctx.catalog.read();
      const places = all.map((r) => r.location).filter((l, i, ls) => ls.findIndex((x) => sameLocation(x, l)) === i);
      if (places.length !== 1) {
        const named = places.map(describeLocation).join('; ');
        const which = places.length === 0
          ? `${ctx.catalog.file} records no backup`
          : `${ctx.catalog.file} records backups of ${places.length} repositories (${named})`;
        throw new MobrError('BAD_INPUT', `${which}: give backup IDs, or --backup_dir (s3 or filesystem) with where the backups are`);
      }
      wanted.push(...all.map((r) => r.id));
    }
    const records = await Promise.all(wanted.map((id) => catalogRecord(id, ctx)));
    source = records[0].location;
    if (records.some((r) => !sameLocation(r.location, source))) throw new MobrError('BAD_INPUT', 'these backups are in different repositories; sync one repository at a time');
  }
  if (sameLocation(source, target)) throw new MobrError('BAD_INPUT', 'the target is the source repository');
  if (await nested(source, target)) {
    throw new MobrError('BAD_INPUT', `the target ${describeLocation(target)} and the source ${describeLocation(source)} lie one inside the other; sync to a place outside the source repository (nothing was written)`);
  }
  if (flags.encryption !== undefined && !flags.reencrypt) {
    const why = 'without --reencrypt a new target is a copy of the source';
    throw new MobrError('BAD_INPUT', `--encryption chooses what sync --reencrypt makes of a new target; ${why}`);
  }
  repoPasswords().setSource('target', passwordSource('target', flags, {}, {}));
  const src = await openRepository(source, { accessKeyId: flags.access_key_id ?? flags.backup_access_key_id, secretAccessKey: flags.secret_access_key ?? flags.backup_secret_access_key });
  const progress = new Progress('sync', { json: ctx.json });
  const t0 = process.hrtime.bigint();
  const pool = new WorkerPool(SYNC_THREADS);
  const dstCreds = { accessKeyId: flags.target_access_key_id, secretAccessKey: flags.target_secret_access_key };
  let dst: Store | undefined;
  try {
    let r: SyncReport;
    const ids = wanted.length > 0 ? wanted : undefined;
    const reTarget = flags.reencrypt ? await openOrCreateTarget(target, dstCreds, flags.encryption) : undefined;
    dst = reTarget?.store ?? openStore(target, { credentials: dstCreds });
    if (reTarget && reTarget.crypt?.keySet !== src.crypt?.keySet) {
      const onProgress = (p: ReencryptProgress) =>
        progress.update({ files: p.manifestsDone, totalFiles: p.manifestsTotal, bytes: p.bytesRead, totalBytes: p.bytesTotal, unit: 'backups' });
      r = await reencryptRepository(src, reTarget, { ids, signal: ctx.signal, onProgress });
    } else {
      const onProgress = (p: SyncProgress) =>
        progress.update({ files: p.packsDone, totalFiles: p.packsTotal, bytes: p.dataDone, totalBytes: p.dataTotal, unit: 'packs' });
      r = await syncRepository(src, dst, { pool, ids, signal: ctx.signal, onProgress });
    }
    progress.done();
    report(ctx, r, source, target, t0, s3Counts(src.store, dst));
  } finally {
    progress.done();
    await pool.close();
    await src.close();
    await dst?.close?.();
  }
}

/** The result on stdout (or --json) and the summary. */
function report(ctx: CliContext, r: SyncReport, source: Location, target: Location, t0: bigint, s3: ReturnType<typeof s3Counts>): void {
  if (ctx.json) printJson(ctx, 'sync', { from: source, to: target, ...r, durationNs: Number(process.hrtime.bigint() - t0) });
  else {
    ctx.stdout.write(`sync ${describeLocation(source)} -> ${describeLocation(target)}\n`);
    const packs = `${r.packsCopied + r.packsBuilt} packs sent (${r.packsSkipped} found there)`;
    ctx.stdout.write(`copied ${r.copied.length} backups (${r.present.length} already there), ${packs}, ${formatBytes(r.bytesSent)} sent\n`);
  }
  printSummary(ctx, {
    command: 'sync',
    subject: `${describeLocation(source)} -> ${describeLocation(target)}`,
    filesText: `${r.copied.length} backups copied, ${r.present.length} already there; ${r.packsCopied + r.packsBuilt} packs sent, ${r.packsSkipped} found there`,
    bytes: [{ label: 'sent', value: r.bytesSent }],
    durationNs: Number(process.hrtime.bigint() - t0),
    s3,
    repository: repositoryLabel(source),
    source: `to ${repositoryLabel(target)}`,
    fileCount: r.packsCopied + r.packsBuilt,
  });
}

/** True when one repository lies inside the other (a folder below, or a key prefix below). */
async function nested(a: Location, b: Location): Promise<boolean> {
  const within = (outer: string, inner: string, sep: string) => inner === outer || inner.startsWith(outer.endsWith(sep) ? outer : outer + sep);
  if (a.backupDir === 'filesystem' && b.backupDir === 'filesystem') {
    const [x, y] = [realish(a.path), realish(b.path)];
    return within(x, y, path.sep) || within(y, x, path.sep);
  }
  if (a.backupDir === 's3' && b.backupDir === 's3') {
    if (a.bucket !== b.bucket || (a.endpoint ?? '') !== (b.endpoint ?? '')) return false;
    const [x, y] = [a.filepath, b.filepath].map((f) => f.replace(/^\/+|\/+$/g, ''));
    return x === '' || y === '' || within(x, y, '/') || within(y, x, '/');
  }
  return false;
}
