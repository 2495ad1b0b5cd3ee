/**
 * `mo_br restore [ID] --restore_dir filesystem --restore_path P`: recreates P/mo-data from a
 * backup (MatrixOne must be stopped and P/mo-data removed first, as with mo_br).
 * With an ID the backup is found through the catalog, or in the repository the --backup_* flags
 * name (resolve.ts; S3 keys from --backup_access_key_id / --backup_secret_access_key); without
 * one, the newest backup of that repository is restored and named first. Restoring into S3 (--restore_dir s3) is not available yet.
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
import { describeLocation, type BackupLocation } from '../location.js';
import { Progress } from '../progress.js';
import { openRepository } from '../stores.js';
import { formatDuration } from '../units.js';
import { intFlag, printJson, type CliContext } from '../context.js';
import { backupSideLocation, credentialsOf, newestBackup, openBackup, type BackupSideFlags } from '../resolve.js';

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

  // With an ID: the catalog, or the repository the --backup_* flags name (resolve.ts).
  // Without one: the newest backup of that repository, named before anything is written.
  let from: BackupLocation;
  let repo: Repository;
  let manifest: Manifest;
  if (id !== undefined) {
    const found = await openBackup(id, flags, ctx, parallelism);
    ({ location: from, repo } = found);
    manifest = await found.manifest().catch(async (e: unknown) => {
      await repo.close();
      throw e;
    });
  } else {
    if (flags.backup_dir === undefined) throw new MobrError('BAD_INPUT', 'give a backup ID, or --backup_dir (s3 or filesystem) with where the backup is');
    from = backupSideLocation(flags);
    repo = await openRepository(from, credentialsOf(flags), parallelism);
    manifest = await newestBackup(repo, from).catch(async (e: unknown) => {
      await repo.close();
      throw e;
    });
    if (!ctx.json) ctx.stdout.write(`no backup ID given: restoring the newest backup in ${describeLocation(from)}\nBackup ID\n    ${manifest.id}\n`);
  }

  const progress = new Progress('restore', { json: ctx.json });
  try {
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
      printJson(ctx, 'restore', { id: manifest.id, from, to: { backupDir: 'filesystem', path: target }, dataDir: dest, taePath: done.layout.taePath, files: done.files, taeFiles: done.taeFiles, bytes: done.bytes, durationNs: Number(cost) });
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
