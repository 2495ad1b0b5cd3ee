/**
 * `mo_br restore [ID] --restore_dir filesystem --restore_path P`: recreates P/mo-data from a
 * backup (MatrixOne must be stopped and P/mo-data removed first, as with mo_br).
 * With an ID the backup is found through the catalog, or in the repository the --backup_* flags
 * name (resolve.ts; S3 keys from --backup_access_key_id / --backup_secret_access_key); without
 * one, the newest backup of that repository is restored and named first.
 * The files go where the stopped cluster reads them (src/mo/restore.ts): object files into the
 * SHARED folder and hk_data where the log service reads it, as the cluster's configs say
 * (--dn_config_path, the launch configs the backup carries, else DISK at mo-data/shared and
 * mo-data/local; a config in P that disagrees is named in one warning line), launch configs back
 * at the places the backup's launch.toml names (else P/etc/launch); a cold backup recreates P/mo-data.
 * `--restore_dir s3` writes into the bucket and --restore_filepath a cluster's S3 fileservices
 * read (src/mo/restore-s3.ts: `<filepath>/data/<object>`, `<filepath>/hk_data`).
 * --checksum is accepted: every restored file's SHA-256 is always checked.
 * P/mo-data is not created until the backup has been found and opened (an existing P is only
 * checked empty, under the restore lock).
 */
import { checkOutputFolder } from '../../util/output-path.js';
import { promises as fsp, constants as fsc } from 'node:fs';
import * as path from 'node:path';
import { isPlainName, showName } from '../../util/names.js';
import { MobrError, deniedReason, withContext } from '../../errors.js';
import { restoreMatrixOne } from '../../mo/restore.js';
import { restoreMatrixOneToS3 } from '../../mo/restore-s3.js';
import { ownTable, type FileEntry, type Manifest } from '../../repo/manifest.js';
import type { Repository } from '../../repo/repository.js';
import { restoreHeader } from '../format.js';
import { describeLocation, type FsLocation, type Location, type S3Credentials, type S3Location } from '../../store/location.js';
import { locationFromFlags } from '../location-flags.js';
import { sourceKey } from '../../repo/prune.js';
import { nativeSource, openNativeAt } from '../native.js';
import { Progress } from '../progress.js';
import { repositoryLabel } from '../metrics.js';
import { printSummary, s3Counts } from '../summary.js';
import { openRepository } from '../stores.js';
import { readSession } from '../../repo/session.js';
import { withLock } from '../lock.js';
import { makeDirs } from '../../backup/paths.js';
import { formatDuration } from '../units.js';
import { intFlag, printJson, type CliContext } from '../context.js';
import { credentialsOf, flagLocation, newestBackup, openBackup, type BackupSideFlags } from '../resolve.js';
import { selectManifest } from '../../repo/select.js';
import { printRestoreDryRun } from './restore-dry-run.js';

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
  /** Globs choosing what to restore (spec/browse.md §1); repeatable. */
  include?: string[];
  exclude?: string[];
  dry_run?: boolean;
}

const MO_DATA = 'mo-data';
const RESTORE_LOCK = '.mo_br-restore.lock';

/** Where a restore writes: a MatrixOne folder (gets mo-data), or a bucket + filepath with its keys. */
type Target = { location: FsLocation } | { location: S3Location; credentials: S3Credentials };

export async function runRestore(id: string | undefined, flags: RestoreFlags, ctx: CliContext): Promise<void> {
  const parallelism = intFlag(flags.parallelism, '--parallelism', 1, 1024) ??
    (typeof flags.checksum === 'string' ? intFlag(flags.checksum, '--checksum', 1, 1024) : undefined);
  const target = await restoreTarget(flags);
  const src = await restoreSource(id, flags, ctx, parallelism);
  const progress = new Progress('restore', { json: ctx.json });
  try {
    const manifest = await selectFiles(src.manifest, flags, ctx.signal);
    const to = target.location;
    if (flags.dry_run) {
      if (!src.repo) throw new MobrError('BAD_INPUT', `--dry_run plans reads from a mobr repository; ${describeLocation(src.from)} is a MatrixOne backup folder (run check on it instead)`);
      return printRestoreDryRun(ctx, src.repo, manifest, src.from, to, to.backupDir === 's3' ? describeLocation(to) : path.join(to.path, MO_DATA));
    }
    const t0 = process.hrtime.bigint();
    const write = () => writeRestore(src, manifest, target, flags, parallelism, progress, ctx);
    // a shared lock on the repository: no gc deletes what the restore reads (spec/gc.md §2.4)
    const { done, tae } = src.repo ? await readSession(src.repo, { purpose: `restore ${manifest.id}`, signal: ctx.signal }, write) : await write();
    progress.done();
    printResult(ctx, src, manifest, to, done, tae, Number(process.hrtime.bigint() - t0));
  } finally {
    progress.done();
    await src.repo?.close();
    await src.closeNative?.();
  }
}

/** The backup a restore reads: its manifest, where it is, and how its files are read. */
interface RestoreSource {
  from: Location;
  manifest: Manifest;
  /** The mobr repository it is in; absent for a folder in MatrixOne's own layout. */
  repo?: Repository;
  /** Reads a file of a folder in MatrixOne's own layout. */
  read?: (f: FileEntry) => AsyncIterable<Uint8Array>;
  closeNative?: () => Promise<void>;
}

type Done = { files: number; taeFiles: number; bytes: number; taePath: string; dataDir?: string };

/**
 * The backup to restore: a folder in MatrixOne's own layout (BACKUP, mo_br, export), checked whole
 * before anything is written; with an ID, the backup found through the catalog or in the
 * repository the --backup_* flags name (resolve.ts); without one, the newest backup of that
 * repository, named before anything is written.
 */
async function restoreSource(id: string | undefined, flags: RestoreFlags, ctx: CliContext, parallelism: number | undefined): Promise<RestoreSource> {
  const given = flagLocation(flags);
  const native = given ? await openNativeAt(given, credentialsOf(flags), parallelism) : undefined;
  if (native) {
    const { manifest, read } = await nativeSource(native, given!, id).catch(async (e: unknown) => {
      await native.close();
      throw e;
    });
    return { from: given!, manifest, read, closeNative: native.close };
  }
  if (id !== undefined) {
    const found = await openBackup(id, flags, ctx, parallelism);
    const manifest = await found.manifest().catch(async (e: unknown) => {
      await found.repo.close();
      throw e;
    });
    return { from: found.location, repo: found.repo, manifest };
  }
  if (given === undefined) throw new MobrError('BAD_INPUT', 'give a backup ID, or --backup_dir (s3 or filesystem) with where the backup is');
  const repo = await openRepository(given, credentialsOf(flags), parallelism);
  const manifest = await newestBackup(repo, given).catch(async (e: unknown) => {
    await repo.close();
    throw e;
  });
  if (!ctx.json) ctx.stdout.write(`no backup ID given: restoring the newest backup in ${describeLocation(given)}\nBackup ID\n    ${manifest.id}\n`);
  return { from: given, repo, manifest };
}

/** The files --include/--exclude choose (all without them); NOT_FOUND when they leave no file. */
async function selectFiles(whole: Manifest, flags: RestoreFlags, signal: AbortSignal | undefined): Promise<Manifest> {
  const manifest = await selectManifest(whole, { include: flags.include ?? [], exclude: flags.exclude ?? [] }, signal);
  if (manifest === whole) return whole; // nothing left out (and no entry object made: issue #22)
  if (!manifest.files.some((f) => f.kind === 'file') && whole.files.some((f) => f.kind === 'file')) {
    throw new MobrError('NOT_FOUND', `no file of backup ${whole.id} matches --include/--exclude`);
  }
  return manifest;
}

/** Writes the files where the target's cluster reads them; returns the counts and mo_br's tae lines. */
/** mo_br's `Copy tae file` lines: how many, and the lines in sorted order, made when printed. */
interface TaeLines {
  count: number;
  lines: () => Iterable<string>;
}

const taeLine = (s: { from: string; to: string }) => `    ${s.from} => ${s.to}`;

/**
 * The lines sorted: in the order given when it already is (a manifest's path order nearly always
 * is; checked in one pass), else collected and sorted.
 */
function* sortedLines(shown: () => Iterable<{ from: string; to: string }>): Iterable<string> {
  let last = '';
  let sorted = true;
  for (const s of shown()) {
    const l = taeLine(s);
    if (l < last) {
      sorted = false;
      break;
    }
    last = l;
  }
  if (sorted) for (const s of shown()) yield taeLine(s);
  else yield* [...shown()].map(taeLine).sort();
}

async function writeRestore(src: RestoreSource, manifest: Manifest, target: Target, flags: RestoreFlags, parallelism: number | undefined, progress: Progress, ctx: CliContext): Promise<{ done: Done; tae: TaeLines }> {
  const { repo, read } = src;
  const par = parallelism ?? 1;
  const tae: string[] = [];
  const onLayout = (l: { taePath: string; cluster?: { notes: string[] } }) => {
    for (const n of l.cluster?.notes ?? []) ctx.stderr.write(`mo_br: warning: ${n}\n`);
    if (ctx.json) return;
    ctx.stdout.write(restoreHeader(src.from, target.location, l.taePath));
    ctx.stdout.write(`restore tae file path ${l.taePath}, parallelism ${par},  parallel count num: ${par}\n`);
  };
  const onProgress = (p: { bytes: number; totalBytes: number; files: number; totalFiles: number }) => progress.update(p);
  if ('credentials' in target) {
    const onFile = (_f: unknown, shown: { from: string; to: string; tae: boolean }) => {
      if (shown.tae) tae.push(taeLine(shown));
    };
    const o = { credentials: target.credentials, parallelism, read, onLayout, onFile, onProgress, signal: ctx.signal };
    return { done: await restoreMatrixOneToS3(repo, manifest, target.location, o), tae: { count: tae.length, lines: () => tae.sort() } };
  }
  const fsTarget = target.location.path;
  const dataDir = await makeDest(fsTarget);
  const r = await lockTarget(fsTarget, async () => {
    await assertEmptyDest(fsTarget); // again, now that no other restore can start writing here
    return restoreMatrixOne(repo, manifest, fsTarget, { dnConfigPath: flags.dn_config_path, parallelism, read, onLayout, onProgress, signal: ctx.signal });
  });
  // the TAE lines are made from the backup's table when printed, not kept a file (issue #22)
  return { done: { ...r, taePath: r.layout.taePath, dataDir }, tae: { count: r.taeFiles, lines: () => sortedLines(r.taeShown) } };
}

/** mo_br's closing lines (or the JSON document), then the summary. */
function printResult(ctx: CliContext, src: RestoreSource, manifest: Manifest, to: Location, done: Done, tae: TaeLines, durationNs: number): void {
  if (ctx.json) {
    printJson(ctx, 'restore', { id: manifest.id, from: src.from, to, dataDir: done.dataDir, taePath: done.taePath, files: done.files, taeFiles: done.taeFiles, bytes: done.bytes, durationNs });
  } else {
    const own = ownTable(manifest);
    const files = own ? own.fileCount : manifest.files.filter((f) => f.kind === 'file').length;
    ctx.stdout.write(`restore file num: ${done.files}, total file num: ${files}, cost : ${formatDuration(durationNs)}\n`);
    if (tae.count > 0) writeLines(ctx, `Copy tae file ${tae.count}`, tae.lines());
  }
  printSummary(ctx, {
    command: 'restore',
    subject: manifest.id,
    filesText: `${done.files} restored (${done.taeFiles} tae)`,
    bytes: [{ label: 'written', value: done.bytes }],
    durationNs,
    s3: s3Counts(src.repo?.store),
    repository: repositoryLabel(src.from),
    source: sourceKey(manifest.source),
    fileCount: done.files,
  });
}

/** A heading and lines, each ending in a newline, written in pieces of ~64 KiB (a million lines are never one string). */
function writeLines(ctx: CliContext, heading: string, lines: Iterable<string>): void {
  let out = `${heading}\n`;
  for (const l of lines) {
    out += `${l}\n`;
    if (out.length >= 1 << 16) {
      ctx.stdout.write(out);
      out = '';
    }
  }
  if (out !== '') ctx.stdout.write(out);
}

/** --restore_dir / --restore_path, checked before anything is read. */
async function restoreTarget(flags: RestoreFlags): Promise<Target> {
  if (flags.restore_dir === undefined || flags.restore_dir === '') throw new MobrError('BAD_INPUT', 'missing --restore_dir (filesystem, or s3)');
  if (flags.restore_dir === 's3') {
    if (flags.dn_config_path !== undefined) throw new MobrError('BAD_INPUT', '--dn_config_path is for --restore_dir filesystem; with s3 the objects go to <restore_filepath>/data');
    const location = locationFromFlags(
      { dir: 's3', endpoint: flags.restore_endpoint, bucket: flags.restore_bucket, filepath: flags.restore_filepath, region: flags.restore_region, compression: flags.restore_compression, roleArn: flags.restore_role_arn, isMinio: flags.restore_is_minio },
      { dir: '--restore_dir', other: '--restore_' },
    ) as S3Location;
    return { location, credentials: { accessKeyId: flags.restore_access_key_id, secretAccessKey: flags.restore_secret_access_key } };
  }
  if (flags.restore_dir !== 'filesystem') throw new MobrError('BAD_INPUT', `bad --restore_dir ${JSON.stringify(flags.restore_dir.slice(0, 40))}: use filesystem or s3`);
  if (!flags.restore_path) throw new MobrError('BAD_INPUT', 'missing --restore_path (the MatrixOne folder that gets mo-data)');
  const target = path.resolve(flags.restore_path);
  // a folder whose path is not UTF-8 (argv is read as bytes, spec/cli.md): refused, not half made
  if (!isPlainName(target)) {
    throw new MobrError('BAD_INPUT', `bad --restore_path ${showName(target)}: bytes that are not UTF-8 (shown as \\xNN); give a UTF-8 path`);
  }
  checkOutputFolder(target, '--restore_path'); // never inside a repository (the output rule)
  const st = await fsp.stat(target).catch(() => undefined);
  if (st && !st.isDirectory()) throw new MobrError('BAD_INPUT', `--restore_path ${target} is not a folder`);
  // A restore running there holds the lock: say so, rather than "not empty" (or, worse, nothing).
  if (st) await lockTarget(target, () => assertEmptyDest(target));
  return { location: { backupDir: 'filesystem', path: target } };
}

/**
 * One restore at a time into a folder: `<restore_path>/.mo_br-restore.lock` (O_EXCL, holding the
 * pid), taken before the emptiness check is repeated and held until the restore ends. A second
 * restore fails at once (LOCKED); a lock whose process is gone is broken.
 */
async function lockTarget<T>(target: string, fn: () => Promise<T>): Promise<T> {
  const file = path.join(target, RESTORE_LOCK);
  try {
    return await withLock(file, fn, 0, Infinity);
  } catch (e) {
    if (e instanceof MobrError && e.code === 'LOCKED' && e.message.startsWith(file)) {
      throw new MobrError('LOCKED', `another restore into ${target} is running (${file}); wait for it to end`, { cause: e });
    }
    throw e;
  }
}

/** <target>/mo-data is missing or empty. */
async function assertEmptyDest(target: string): Promise<void> {
  const existing = await fsp.readdir(path.join(target, MO_DATA)).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [];
    if (e.code === 'ENOTDIR') throw new MobrError('BAD_INPUT', `--restore_path: ${path.join(target, MO_DATA)} is not a folder`);
    throw withContext(`--restore_path ${target}`, e);
  });
  if (existing.length > 0) {
    throw new MobrError('BAD_INPUT', `${path.join(target, MO_DATA)} already exists and is not empty; stop MatrixOne and remove it first`);
  }
}

async function makeDest(target: string): Promise<string> {
  const dest = path.join(target, MO_DATA);
  try {
    await makeDirs(dest); // never Node's recursive mkdir: it loops forever under /proc
    await fsp.access(dest, fsc.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (deniedReason(e)) throw new MobrError('ACCESS_DENIED', `cannot write to --restore_path ${target}: ${deniedReason(e)}`);
    if (code === 'ENOTDIR') throw new MobrError('BAD_INPUT', `--restore_path ${target}: a part of it is not a folder`);
    throw withContext(`create ${dest}`, e);
  }
  return dest;
}
