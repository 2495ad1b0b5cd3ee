/**
 * `mo_br restore [ID] --restore_dir filesystem --restore_path P`: recreates P/mo-data from a
 * backup (MatrixOne must be stopped and P/mo-data removed first, as with mo_br).
 * With an ID the backup's place comes from the catalog (S3 keys from --backup_access_key_id /
 * --backup_secret_access_key); without one, from the --backup_* flags, restoring the newest
 * backup there. Restoring into S3 (--restore_dir s3) is not available yet.
 * The files go where MatrixOne's restore puts them (src/mo/restore.ts): object files under
 * P/mo-data/shared (or the SHARED folder the TN config at --dn_config_path names), HA keeper data
 * under mo-data/local, launch configs under P/etc/launch; a cold backup recreates P/mo-data.
 * --checksum is accepted: every restored file's SHA-256 is always checked.
 * Nothing is created at P until the backup has been found and opened.
 */
import { promises as fsp, constants as fsc } from 'node:fs';
import * as path from 'node:path';
import { MobrError, withContext } from '../../errors.js';
import { restoreMatrixOne } from '../../mo/restore.js';
import type { Manifest } from '../../repo/manifest.js';
import type { Repository } from '../../repo/repository.js';
import { restoreHeader } from '../format.js';
import type { BackupLocation } from '../location.js';
import { Progress } from '../progress.js';
import { openRepository } from '../stores.js';
import { formatDuration } from '../units.js';
import { checkBackupId, intFlag, printJson, type CliContext } from '../context.js';
import { backupSideLocation, type BackupSideFlags } from './inspect.js';

export interface RestoreFlags extends BackupSideFlags {
  restore_dir?: string;
  restore_path?: string;
  restore_endpoint?: string;
  restore_access_key_id?: string;
  restore_secret_access_key?: string;
  restore_bucket?: string;
  restore_filepath?: string;
  restore_region?: string;
  restore_compression?: string;
  restore_role_arn?: string;
  restore_is_minio?: boolean;
  dn_config_path?: string;
  checksum?: string | boolean;
  parallelism?: string;
}

const MO_DATA = 'mo-data';

export async function runRestore(id: string | undefined, flags: RestoreFlags, ctx: CliContext): Promise<void> {
  const target = await restoreTarget(flags);
  const parallelism = intFlag(flags.parallelism, '--parallelism', 1, 1024) ??
    (typeof flags.checksum === 'string' ? intFlag(flags.checksum, '--checksum', 1, 1024) : undefined);
  const creds = { accessKeyId: flags.backup_access_key_id, secretAccessKey: flags.backup_secret_access_key };

  let from: BackupLocation;
  let backupId: string | undefined;
  if (id !== undefined) {
    const record = await ctx.catalog.get(checkBackupId(id));
    from = record.location;
    backupId = record.id;
  } else {
    if (flags.backup_dir === undefined) throw new MobrError('BAD_INPUT', 'give a backup ID, or --backup_dir (s3 or filesystem) with where the backup is');
    from = backupSideLocation(flags);
  }

  const repo = await openRepository(from, creds, parallelism);
  const progress = new Progress('restore', { json: ctx.json });
  try {
    const manifest = backupId ? await repo.loadManifest(backupId) : await newestManifest(repo);
    const dest = await makeDest(target);
    const par = parallelism ?? 1;
    const tae: string[] = [];
    const t0 = process.hrtime.bigint();
    const done = await restoreMatrixOne(repo, manifest, target, {
      dnConfigPath: flags.dn_config_path,
      parallelism,
      onLayout: (l) => {
        if (ctx.json) return;
        ctx.stdout.write(restoreHeader(from, { backupDir: 'filesystem', path: target }, l.taePath));
        ctx.stdout.write(`restore tae file path ${l.taePath}, parallelism ${par},  parallel count num: ${par}\n`);
      },
      onFile: (_f, shown) => {
        if (shown.tae) tae.push(`    ${shown.from} => ${shown.to}`);
      },
      onProgress: (p) => progress.update({ bytes: p.bytes, totalBytes: p.totalBytes, files: p.files, totalFiles: p.totalFiles }),
    });
    progress.done();
    const cost = process.hrtime.bigint() - t0;
    if (ctx.json) {
      printJson(ctx, { id: manifest.id, from, to: { backupDir: 'filesystem', path: target }, dataDir: dest, taePath: done.layout.taePath, files: done.files, taeFiles: done.taeFiles, bytes: done.bytes, durationNs: Number(cost) });
    } else {
      ctx.stdout.write(`restore file num: ${done.files}, total file num: ${manifest.files.filter((f) => f.kind === 'file').length}, cost : ${formatDuration(cost)}\n`);
      if (tae.length > 0) ctx.stdout.write(`Copy tae file ${tae.length}\n${tae.sort().join('\n')}\n`);
    }
  } finally {
    progress.done();
    await repo.close();
  }
}

/** --restore_dir / --restore_path, checked before anything is read. */
async function restoreTarget(flags: RestoreFlags): Promise<string> {
  if (flags.restore_dir === undefined || flags.restore_dir === '') throw new MobrError('BAD_INPUT', 'missing --restore_dir (filesystem, or s3)');
  if (flags.restore_dir === 's3') throw new MobrError('NOT_AVAILABLE', 'restoring into s3 (--restore_dir s3) is not available yet; restore to --restore_dir filesystem');
  if (flags.restore_dir !== 'filesystem') throw new MobrError('BAD_INPUT', `bad --restore_dir ${JSON.stringify(flags.restore_dir.slice(0, 40))}: use filesystem or s3`);
  if (!flags.restore_path) throw new MobrError('BAD_INPUT', 'missing --restore_path (the MatrixOne folder that gets mo-data)');
  const target = path.resolve(flags.restore_path);
  const st = await fsp.stat(target).catch(() => undefined);
  if (st && !st.isDirectory()) throw new MobrError('BAD_INPUT', `--restore_path ${target} is not a folder`);
  const existing = await fsp.readdir(path.join(target, MO_DATA)).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [];
    if (e.code === 'ENOTDIR') throw new MobrError('BAD_INPUT', `--restore_path: ${path.join(target, MO_DATA)} is not a folder`);
    throw withContext(`--restore_path ${target}`, e);
  });
  if (existing.length > 0) {
    throw new MobrError('BAD_INPUT', `${path.join(target, MO_DATA)} already exists and is not empty; stop MatrixOne and remove it first`);
  }
  return target;
}

async function makeDest(target: string): Promise<string> {
  const dest = path.join(target, MO_DATA);
  try {
    await fsp.mkdir(dest, { recursive: true });
    await fsp.access(dest, fsc.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') throw new MobrError('ACCESS_DENIED', `cannot write to --restore_path ${target}: permission denied`);
    if (code === 'ENOTDIR') throw new MobrError('BAD_INPUT', `--restore_path ${target}: a part of it is not a folder`);
    throw withContext(`create ${dest}`, e);
  }
  return dest;
}

async function newestManifest(repo: Repository): Promise<Manifest> {
  const ids = await repo.listBackupIds();
  if (ids.length === 0) throw new MobrError('ENOENT_BACKUP', `no backup in ${repo.store.location}`);
  let newest: Manifest | undefined;
  for (const bid of ids) {
    const m = await repo.loadManifest(bid);
    if (!newest || m.completedAt > newest.completedAt) newest = m;
  }
  return newest!;
}
