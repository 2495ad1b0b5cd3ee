/**
 * `mo_br list [ID]` and `mo_br check [ID]`.
 * - list: the catalog as a table; with an ID, also checks that every file's data exists
 *   (`Checking the backup data(currently,no checksum)...`) unless --not_check_data.
 * - check ID: the table, then every file's data read back and its SHA-256 compared.
 * - check --backup_dir ...: every backup in that repository, check lines only.
 * A missing or damaged file prints `check: <file> FAILED: <problem>` and the command ends with
 * CHECK_FAILED (exit 1) naming the files.
 */
import { MobrError, isMobrError } from '../../errors.js';
import { verifyBackup } from '../../backup/verify.js';
import { repairIndex, type RepairReport } from '../../repo/repair.js';
import type { Repository } from '../../repo/repository.js';
import { checkLine, checkingBanner, renderBackupTable } from '../format.js';
import { locationFromFlags, type BackupLocation, type S3Credentials } from '../location.js';
import { Progress } from '../progress.js';
import { openRepository } from '../stores.js';
import { checkBackupId, printJson, type CliContext } from '../context.js';

export interface ListFlags {
  access_key_id?: string;
  secret_access_key?: string;
  not_check_data?: boolean;
}

export interface BackupSideFlags {
  backup_dir?: string;
  backup_path?: string;
  backup_endpoint?: string;
  backup_access_key_id?: string;
  backup_secret_access_key?: string;
  backup_bucket?: string;
  backup_filepath?: string;
  backup_region?: string;
  backup_compression?: string;
  backup_role_arn?: string;
  backup_is_minio?: boolean;
}

interface CheckResult {
  id: string;
  files: number;
  damaged: { path: string; problem: string }[];
  /** Packs whose bytes differ from their header's hash (with or without a damaged file). */
  damagedPacks?: { pack: string; problem: string }[];
}

export async function runList(id: string | undefined, flags: ListFlags, ctx: CliContext): Promise<void> {
  if (id === undefined) {
    const records = await ctx.catalog.read();
    if (ctx.json) printJson(ctx, { backups: records });
    else ctx.stdout.write(renderBackupTable(records));
    return;
  }
  const record = await ctx.catalog.get(checkBackupId(id));
  if (!ctx.json) ctx.stdout.write(renderBackupTable([record]));
  let result: CheckResult | undefined;
  if (!flags.not_check_data) {
    if (!ctx.json) ctx.stdout.write(checkingBanner('exists'));
    const creds = { accessKeyId: flags.access_key_id, secretAccessKey: flags.secret_access_key };
    result = await checkOne(record.location, creds, record.id, false, ctx);
  }
  if (ctx.json) printJson(ctx, { backup: record, check: result ?? null });
  if (result) failIfDamaged([result]);
}

export async function runCheck(id: string | undefined, flags: BackupSideFlags & { repair?: boolean }, ctx: CliContext): Promise<void> {
  const creds = { accessKeyId: flags.backup_access_key_id, secretAccessKey: flags.backup_secret_access_key };
  let repaired: RepairReport | undefined;
  if (flags.repair) {
    if (id === undefined && flags.backup_dir === undefined) throw new MobrError('BAD_INPUT', '--repair needs a backup ID, or --backup_dir (s3 or filesystem) with where the backups are');
    const where = id !== undefined ? (await ctx.catalog.get(checkBackupId(id))).location : backupSideLocation(flags);
    const repo = await openRepository(where, creds);
    try {
      repaired = await repairIndex(repo);
    } finally {
      await repo.close();
    }
    if (!ctx.json) ctx.stdout.write(repairLines(repaired));
  }
  if (id !== undefined) {
    const record = await ctx.catalog.get(checkBackupId(id));
    if (!ctx.json) ctx.stdout.write(renderBackupTable([record]) + checkingBanner('checksum'));
    const result = await checkOne(record.location, creds, record.id, true, ctx);
    if (ctx.json) printJson(ctx, { backup: record, check: result, repair: repaired });
    failIfDamaged([result]);
    return;
  }
  if (flags.backup_dir === undefined) {
    throw new MobrError('BAD_INPUT', 'give a backup ID, or --backup_dir (s3 or filesystem) with where the backups are');
  }
  const location = backupSideLocation(flags);
  const repo = await openRepository(location, creds);
  const results: CheckResult[] = [];
  try {
    for (const bid of await repo.listBackupIds()) {
      try {
        results.push(await verifyOne(repo, bid, true, ctx));
      } catch (e) {
        // A damaged manifest is one damaged backup: report it and check the others.
        if (!isMobrError(e, 'CORRUPT_MANIFEST') && !isMobrError(e, 'ENOENT_BACKUP')) throw e;
        if (!ctx.json) ctx.stdout.write(checkLine(`manifest of backup ${bid}`, e.message));
        results.push({ id: bid, files: 1, damaged: [{ path: `manifest of backup ${bid}`, problem: e.message }] });
      }
    }
  } finally {
    await repo.close();
  }
  if (ctx.json) printJson(ctx, { checks: results, repair: repaired });
  failIfDamaged(results);
}

/** The location given by the --backup_* flag family (restore and check without an ID). */
export function backupSideLocation(flags: BackupSideFlags): BackupLocation {
  return locationFromFlags(
    {
      dir: flags.backup_dir,
      path: flags.backup_path,
      endpoint: flags.backup_endpoint,
      bucket: flags.backup_bucket,
      filepath: flags.backup_filepath,
      region: flags.backup_region,
      compression: flags.backup_compression,
      roleArn: flags.backup_role_arn,
      isMinio: flags.backup_is_minio,
    },
    { dir: '--backup_dir', other: '--backup_' },
  );
}

async function checkOne(location: BackupLocation, creds: S3Credentials, id: string, readData: boolean, ctx: CliContext): Promise<CheckResult> {
  const repo = await openRepository(location, creds);
  try {
    return await verifyOne(repo, id, readData, ctx);
  } finally {
    await repo.close();
  }
}

async function verifyOne(repo: Repository, id: string, readData: boolean, ctx: CliContext): Promise<CheckResult> {
  const manifest = await repo.loadManifest(id);
  const progress = new Progress(readData ? `check ${id}` : `list ${id}`, { json: ctx.json });
  let done = 0;
  try {
    const report = await verifyBackup(repo, manifest, {
      readData,
      onFile: (f, problem) => {
        done++;
        progress.update({ files: done, totalFiles: manifest.files.length });
        if (!ctx.json) ctx.stdout.write(checkLine(f.path, problem));
      },
    });
    if (!ctx.json) for (const d of report.damagedPacks) ctx.stdout.write(`check: pack ${d.pack} FAILED: ${d.problem}\n`);
    const result: CheckResult = { id, files: report.files, damaged: report.damaged.map((d) => ({ path: d.path, problem: d.problem })) };
    if (report.damagedPacks.length > 0) result.damagedPacks = report.damagedPacks;
    return result;
  } finally {
    progress.done();
  }
}

function failIfDamaged(results: CheckResult[]): void {
  const bad = results.flatMap((r) => r.damaged.map((d) => ({ ...d, id: r.id })));
  const packs = [...new Map(results.flatMap((r) => r.damagedPacks ?? []).map((d) => [d.pack, d])).values()];
  if (bad.length === 0 && packs.length > 0) {
    throw new MobrError('CHECK_FAILED', `check failed: every file reads back right, but ${packs.length} pack(s) hold damaged bytes: ${packs.slice(0, 3).map((d) => d.pack.slice(0, 16)).join(', ')}`);
  }
  if (bad.length === 0) return;
  const total = results.reduce((n, r) => n + r.files, 0);
  const shown = bad.slice(0, 5).map((d) => `${d.path} (${d.problem})`).join(', ');
  const more = bad.length > 5 ? ` and ${bad.length - 5} more (see the check lines above)` : '';
  const which = results.length === 1 ? `backup ${results[0].id}` : `${new Set(bad.map((d) => d.id)).size} backup(s)`;
  throw new MobrError('CHECK_FAILED', `check failed: ${bad.length} of ${total} files of ${which} missing or damaged: ${shown}${more}`);
}

/** `repair:` lines: what --repair did, before the check lines. */
function repairLines(r: RepairReport): string {
  const out = r.damagedIndexes.map((d) => `repair: removed damaged ${d.key.slice(0, 22)}… (${d.problem})\n`);
  out.push(`repair: re-indexed ${r.packsReindexed} pack(s), ${r.chunksReindexed} chunk(s) from their headers\n`);
  for (const d of r.damagedPacks) out.push(`repair: pack ${d.pack.slice(0, 16)} FAILED: ${d.problem}\n`);
  return out.join('');
}
