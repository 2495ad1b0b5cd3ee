/**
 * `mo_br backup`: a backup into the repository at --path (filesystem) or bucket+filepath (s3),
 * recorded in the catalog. Sources:
 * - `--data_dir <mo-data>`: a cold backup of a stopped MatrixOne, every file under mo-data as is;
 * - `--host/--port/--user/--password`: a backup from a running MatrixOne through its own BACKUP
 *   statement (src/mo/ingest.ts); the login is checked before anything is written.
 * A full backup reuses the chunk lists of files unchanged since the newest backup of the same
 * source (server: name, size and MatrixOne's checksum; cold: path, size, mtime, ctime and inode,
 * src/backup/backup.ts), so it costs about what an incremental does while staying a complete,
 * self-contained backup.
 * Order: the catalog is read first (a damaged catalog stops us before anything is written),
 * then the backup is stored (manifest last), then the record is added under the catalog lock.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { v1 as uuidv1 } from 'uuid';
import { MobrError, isMobrError, withContext } from '../../errors.js';
import { backupTree } from '../../backup/backup.js';
import { backupPauseHook } from '../test-pause.js';
import { systemClock } from '../../util/clock.js';
import { backupFromMatrixOne } from '../../mo/ingest.js';
import { connect, type ConnectOptions } from '../../mo/client.js';
import type { Repository } from '../../repo/repository.js';
import { fileTable, type Manifest } from '../../repo/manifest.js';
import { backupIdBlock } from '../format.js';
import { describeLocation, sameLocation, type Location, type S3Credentials } from '../../store/location.js';
import { locationFromFlags, recordableLocation } from '../location-flags.js';
import { recordJson, type BackupRecord } from '../meta.js';
import { Progress, storedBytes } from '../progress.js';
import { repositoryLabel } from '../metrics.js';
import { listedSizeNote, listedSizePaths } from '../../mo/listed-size.js';
import { compareFiles, printSummary, s3Counts, type FileCounts } from '../summary.js';
import { PLAIN_NOTE, encryptNew, openOrCreateRepository, wasCreatedPlain } from '../stores.js';
import type { WalkReport } from '../../source/walk.js';
import { fsPath, showName } from '../../util/names.js';
import type { SharesDeadline } from '../../mo/shared.js';
import { coldWalkOptions, walkSummary, walkSummaryJson } from '../walk-summary.js';
import { checkBackupId, intFlag, printJson, type CliContext } from '../context.js';
import { runBackupDryRun } from './backup-dry-run.js';
import { runJoin, sharesAnnouncement, sharesFlag, sharesTimeoutFlag } from './backup-shares.js';
import { LATEST } from '../resolve.js';
import { anchorOf, forgetRemovedFolders, recordAnchor, sharedRepositoryFor } from '../dated-path.js';

export interface BackupFlags {
  host?: string;
  port?: string;
  user?: string;
  password?: string;
  backup_dir?: string;
  path?: string;
  endpoint?: string;
  access_key_id?: string;
  secret_access_key?: string;
  bucket?: string;
  filepath?: string;
  region?: string;
  compression?: string;
  role_arn?: string;
  is_minio?: boolean;
  parallelism?: string;
  backup_type?: string;
  base_id?: string;
  data_dir?: string;
  dry_run?: boolean;
  /** a server backup read in this many shares (this process: share 0 and the manifest) */
  shares?: string;
  /** with --shares: how long to wait for the other shares (default 6h) */
  shares_timeout?: string;
  /** ingest one share of this backup (with --share) */
  join?: string;
  share?: string;
  encryption?: string;
}

export async function runBackup(flags: BackupFlags, ctx: CliContext): Promise<void> {
  if (flags.join !== undefined) return runJoin(flags, await joinLocation(flags), ctx);
  const req = await backupRequest(flags);
  const records = await checkBeforeWriting(req, ctx);
  if (flags.dry_run) {
    const { source, baseId, location } = req;
    const src = source.kind === 'server' ? { kind: 'server' as const, host: source.conn.host, port: source.conn.port } : source;
    const parent = (r: Repository) => (baseId ? r.loadManifest(baseId) : source.kind === 'cold' ? newestBackupOf(r, records, location, sourceText(source)) : Promise.resolve(undefined));
    return runBackupDryRun({ location, creds: req.creds, type: req.type, source: src, parent }, ctx);
  }
  backupStartTime(); // a clock before 1970: refused before anything is written
  await forgetRemovedFolders(req.location, req.creds, ctx);
  const stored = await storeBackup(req, records, ctx);
  const record = await recordBackup(req, stored, ctx);
  const anchor = req.anchor ?? (req.baseId ? await anchorOf(req.location, req.creds, req.baseId) : undefined);
  if (anchor) await recordAnchor(req.location, req.creds, stored.id, anchor);
  printResult(stored, record, ctx);
}

/** What the flags ask for, checked before anything is read or written. */
interface BackupRequest {
  location: Location;
  creds: S3Credentials;
  parallelism?: number;
  type: 'full' | 'incremental';
  baseId?: string;
  source: Source;
  /** a server backup read in this many shares (spec/scale.md) */
  shares?: number;
  /** how long the coordinator waits for the other shares (--shares_timeout) */
  sharesDeadline?: SharesDeadline;
  /** the --path folder (or --filepath) of a backup stored in a shared repository (dated-path.ts) */
  anchor?: string;
  /** --encryption: none or a cipher; undefined: encrypted when a repository password is at hand */
  encryption?: string;
}

/** A backup stored in the repository (manifest written), not yet recorded in the meta file. */
interface StoredBackup {
  id: string;
  manifest: Manifest;
  /** The repository, closed: what it noticed (unsound packs) and its S3 request counts. */
  repo: Repository;
  atTime: number;
  durationNs: number;
  walked?: WalkReport;
  counts: FileCounts;
  /** Bytes actually read from the source (files reused unread from an earlier backup are not). */
  readBytes: number;
}

function backupLocation(flags: BackupFlags): Location {
  return locationFromFlags(
    {
      dir: flags.backup_dir,
      path: flags.path,
      endpoint: flags.endpoint,
      bucket: flags.bucket,
      filepath: flags.filepath,
      region: flags.region,
      compression: flags.compression,
      roleArn: flags.role_arn,
      isMinio: flags.is_minio,
    },
    { dir: '--backup_dir', other: '--' },
  );
}

/** Where an ingester of a backup in shares looks: the coordinator's repository, shared for a dated --path as for it. */
async function joinLocation(flags: BackupFlags): Promise<Location> {
  const location = backupLocation(flags);
  const shared = await sharedRepositoryFor(location, { accessKeyId: flags.access_key_id, secretAccessKey: flags.secret_access_key });
  return shared?.location ?? location;
}

async function backupRequest(flags: BackupFlags): Promise<BackupRequest> {
  let location = backupLocation(flags);
  recordableLocation(location, '--');
  const creds = { accessKeyId: flags.access_key_id, secretAccessKey: flags.secret_access_key };
  // mo_ctl's dated folders (and any folder below a .mobr repository) share one repository
  const shared = flags.dry_run ? undefined : await sharedRepositoryFor(location, creds);
  if (shared) location = shared.location;
  if (flags.share !== undefined) throw new MobrError('BAD_INPUT', '--share goes with --join <ID> (an ingester of a backup in shares)');
  const shares = sharesFlag(flags);
  const sharesDeadline = sharesTimeoutFlag(flags, shares);
  const parallelism = intFlag(flags.parallelism, '--parallelism', 1, 1024);
  const type = backupType(flags.backup_type);
  let baseId: string | undefined;
  if (type === 'incremental') {
    if (!flags.base_id) throw new MobrError('BAD_INPUT', 'missing --base_id (the ID of the backup this incremental backup builds on)');
    baseId = flags.base_id === LATEST ? LATEST : checkBackupId(flags.base_id); // latest: resolved against the catalog (checkBeforeWriting)
  } else if (flags.base_id) {
    throw new MobrError('BAD_INPUT', '--base_id needs --backup_type incremental');
  }
  encryptNew(flags.encryption); // a bad --encryption, or a cipher without a password: before anything is read
  const source = await backupSource(flags);
  return { location, creds, parallelism, type, baseId, source, shares, sharesDeadline, anchor: shared?.anchor, encryption: flags.encryption };
}

/**
 * Fails on a damaged catalog, an unknown base or a server that refuses the login before anything
 * is written (no new, empty repository is left behind); returns the catalog's records.
 */
async function checkBeforeWriting(req: BackupRequest, ctx: CliContext): Promise<BackupRecord[]> {
  const records = await ctx.catalog.read();
  if (req.baseId === LATEST) {
    // the newest backup of the same source in the same repository
    const same = records.filter((r) => r.source === sourceText(req.source) && sameLocation(r.location, req.location));
    if (same.length === 0) throw new MobrError('ENOENT_BACKUP', `--base_id latest: ${ctx.catalog.file} records no backup of ${sourceText(req.source)} in ${describeLocation(req.location)}`);
    req.baseId = same.reduce((a, b) => (b.completeTime > a.completeTime ? b : a)).id;
  }
  if (req.baseId) {
    const base = records.find((r) => r.id === req.baseId);
    if (!base) throw new MobrError('ENOENT_BACKUP', `no backup with ID ${req.baseId} in ${ctx.catalog.file} (--base_id)`);
    if (!sameLocation(base.location, req.location)) {
      throw new MobrError('BAD_INPUT', `base backup ${req.baseId} is in ${describeLocation(base.location)}; an incremental backup goes to the same place`);
    }
  }
  if (req.source.kind === 'server') await (await connect(req.source.conn)).close();
  return records;
}

/** Opens (or creates) the repository and stores the backup there, manifest last. */
async function storeBackup(req: BackupRequest, records: BackupRecord[], ctx: CliContext): Promise<StoredBackup> {
  const { location, type, baseId, parallelism, source } = req;
  const repo = await openOrCreateRepository(location, req.creds, parallelism, req.encryption);
  const progress = new Progress('backup', { json: ctx.json });
  const done = storedBytes();
  let manifest: Manifest;
  let walked: WalkReport | undefined;
  let counts: FileCounts;
  let parent: Manifest | undefined; // a cold backup's: also what its summary compares with
  let readBytes = 0;
  const noteRead = (p: { bytesRead: number; reusedBytes?: number }) => (readBytes = p.bytesRead - (p.reusedBytes ?? 0));
  const id = uuidv1();
  if (ctx.log) ctx.log.backupId = id;
  ctx.log?.info('backup started', { to: describeLocation(location), type });
  const atTime = backupStartTime();
  const t0 = process.hrtime.bigint();
  let waiting = false; // a coordinator has read its own share (--shares)
  try {
    if (source.kind === 'server') {
      manifest = await backupFromMatrixOne({
        conn: source.conn,
        repo,
        target: location,
        credentials: req.creds,
        id,
        type,
        baseId,
        parallelism,
        shares: req.shares,
        sharesDeadline: req.sharesDeadline,
        signal: ctx.signal,
        afterServerBackup: backupPauseHook(ctx.signal, process.env, 'server backup staged'),
        onPlanned: (p) => (ctx.json ? ctx.stderr : ctx.stdout).write(sharesAnnouncement(p, location, !!req.creds.accessKeyId)),
        onProgress: (p) => {
          if (p.phase === 'shares' && !waiting) ctx.log?.info('waiting for shares', { files: p.filesDone, bytes: p.bytesRead });
          waiting ||= p.phase === 'shares';
          noteRead(p);
          // a phase of its own restarts the rate: the server's wait is not read at 0 B/s
          const phase = p.phase === 'server' ? 'server writing its backup' : p.phase === 'shares' ? 'waiting for the other shares' : undefined;
          progress.update({ bytes: done(p), totalBytes: p.totalBytes, files: p.filesDone, totalFiles: p.totalFiles, phase });
        },
      });
    } else {
      parent = baseId ? await repo.loadManifest(baseId) : await newestBackupOf(repo, records, location, sourceText(source));
      manifest = await backupTree(repo, source.dataDir, {
        id,
        type,
        baseId,
        parent,
        parallelism,
        source: { kind: 'cold', dataDir: source.dataDir },
        // mo-data/shared on another disk is a link: follow it; never back up the repository or catalog
        walk: coldWalkOptions(location, ctx.catalog.file),
        signal: ctx.signal,
        beforeCommit: backupPauseHook(ctx.signal),
        onWalk: (r) => (walked = r),
        onProgress: (p) => {
          noteRead(p);
          progress.update({ bytes: done(p), totalBytes: p.totalBytes, files: p.filesDone, totalFiles: p.totalFiles });
        },
      });
    }
    // a cold backup's parent is what its summary compares with (the same base, or the newest of
    // the same source): not loaded a second time
    counts = compareFiles(source.kind === 'cold' ? parent : await previousBackup(repo, records, location, sourceText(source), baseId), manifest);
  } finally {
    progress.done();
    await repo.close();
  }
  return { id, manifest, repo, atTime, durationNs: Number(process.hrtime.bigint() - t0), walked, counts, readBytes };
}

/**
 * Now, as the catalog's start time (ms since 1970). A clock before 1970 is refused (exit 2): the
 * catalog's times are whole numbers that mo_br and mo_ctl read, and a negative one would be a
 * record every later command refuses (issue #26.9).
 */
function backupStartTime(): number {
  const now = systemClock.now();
  if (now >= 0) return now;
  const when = new Date(now).toISOString();
  throw new MobrError('BAD_INPUT', `the system clock reads ${when}, before 1970: set the clock, then back up (a backup's start time must be after 1970)`);
}

/** Adds the stored backup's record to the meta file (under its lock). */
async function recordBackup(req: BackupRequest, b: StoredBackup, ctx: CliContext): Promise<BackupRecord> {
  const record: BackupRecord = {
    id: b.id,
    size: b.manifest.logicalSize,
    location: req.location,
    atTime: b.atTime,
    durationNs: b.durationNs,
    completeTime: b.atTime + Math.round(b.durationNs / 1e6),
    backupTs: b.manifest.backupTs ?? `${BigInt(b.atTime) * 1_000_000n}-0`,
    backupType: req.type,
    source: sourceText(req.source),
  };
  if (req.baseId) record.baseId = req.baseId;
  const u = b.repo.unsoundPacks;
  if (u.length > 0) {
    ctx.stderr.write(`mo_br: warning: ${u.length} pack(s) the index names are missing or damaged (${u.slice(0, 2).map((x) => `${x.pack.slice(0, 16)} ${x.problem}`).join(', ')}); this backup stored their data again. Run mo_br check --repair on ${describeLocation(req.location)}\n`);
  }
  try {
    await ctx.catalog.add(record);
  } catch (e) {
    throw withContext(`backup ${b.id} is stored in ${describeLocation(req.location)} but was not recorded in the meta file`, e);
  }
  return record;
}

/** mo_br's `Backup ID` block (or the JSON document), then the summary. */
function printResult(b: StoredBackup, record: BackupRecord, ctx: CliContext): void {
  const { id, manifest, walked, counts, readBytes } = b;
  const t = fileTable(manifest); // the backup's own table: no entry object a file (issue #22)
  const files = t.fileCount; // regular files, as the summary and mobr_files count
  const listed = listedSizePaths(t.pathsAndMeta());
  ctx.log?.info('backup stored', { files, entries: t.length, bytes: manifest.logicalSize, added_bytes: manifest.addedBytes });
  if (ctx.json) {
    printJson(ctx, 'backup', { id, backup: recordJson(record), files, entries: t.length, totalBytes: manifest.logicalSize,
      addedBytes: manifest.addedBytes, readBytes, newFiles: counts.new, changedFiles: counts.changed, unchangedFiles: counts.unchanged,
      listedSize: listed, ...(walked ? { walk: walkSummaryJson(walked) } : {}) });
  } else ctx.stdout.write(backupIdBlock(id) + (walked ? walkSummary(walked) : ''));
  printSummary(ctx, {
    command: 'backup',
    subject: id,
    files: counts,
    bytes: [
      { label: 'total', value: manifest.logicalSize },
      { label: 'read', value: readBytes },
      { label: 'added', value: manifest.addedBytes },
    ],
    durationNs: b.durationNs,
    s3: s3Counts(b.repo.store),
    repository: repositoryLabel(record.location),
    source: record.source,
    fileCount: files,
    notes: [listedSizeNote(listed.length), wasCreatedPlain(b.repo) ? PLAIN_NOTE : undefined].filter((n): n is string => n !== undefined),
  });
}

/** The catalog's `source` text of a source (never a password). */
function sourceText(source: Source): string {
  return source.kind === 'server' ? `matrixone ${source.conn.host}:${source.conn.port}` : `cold ${source.dataDir}`;
}

/**
 * What a new backup is compared with in its summary: its base, else the newest of the same source
 * there. Read after the commit: one a concurrent delete removed meanwhile is passed over (a
 * committed backup never fails for its summary).
 */
async function previousBackup(repo: Repository, records: BackupRecord[], location: Location, source: string, baseId?: string): Promise<Manifest | undefined> {
  return baseId ? manifestIfThere(repo, baseId) : newestBackupOf(repo, records, location, source);
}

/** The manifest of backup `id`, or undefined when it is gone from the repository. */
async function manifestIfThere(repo: Repository, id: string): Promise<Manifest | undefined> {
  try {
    return await repo.loadManifest(id);
  } catch (e) {
    if (isMobrError(e, 'ENOENT_BACKUP')) return undefined;
    throw e;
  }
}

/**
 * The newest backup of `source` (the catalog's source text) in this repository. The catalog may
 * name backups a concurrent `delete` has just removed (it removes the manifest first, then the
 * record): those are passed over, as they would be a moment later, where a look-then-load failed
 * the new backup with "no backup … in …" (seen with backups and deletes at once).
 */
export async function newestBackupOf(repo: Repository, records: BackupRecord[], location: Location, source: string): Promise<Manifest | undefined> {
  const same = records.filter((r) => r.source === source && sameLocation(r.location, location)).sort((a, b) => b.completeTime - a.completeTime);
  for (const r of same) {
    const m = await manifestIfThere(repo, r.id);
    if (m) return m;
  }
  return undefined;
}

function backupType(v: string | undefined): 'full' | 'incremental' {
  if (v === undefined || v === '' || v === 'full') return 'full';
  if (v === 'incremental') return 'incremental';
  throw new MobrError('BAD_INPUT', `bad --backup_type ${JSON.stringify(v.slice(0, 40))}: use incremental (or leave it out for a full backup)`);
}

type Source = { kind: 'cold'; dataDir: string } | { kind: 'server'; conn: ConnectOptions };

/** A running MatrixOne (--host ...) or the mo-data folder of a stopped one (--data_dir), checked. */
async function backupSource(flags: BackupFlags): Promise<Source> {
  if (flags.data_dir === undefined) {
    if (!flags.host) throw new MobrError('BAD_INPUT', 'missing --host (the MatrixOne to back up), or --data_dir for a cold backup of a stopped MatrixOne');
    const port = intFlag(flags.port, '--port', 1, 65535) ?? 6001;
    if (flags.user === undefined) throw new MobrError('BAD_INPUT', 'missing --user (a MatrixOne user of the sys tenant)');
    return { kind: 'server', conn: { host: flags.host, port, user: flags.user, password: flags.password ?? '' } };
  }
  if (flags.host) throw new MobrError('BAD_INPUT', 'give --data_dir (cold backup) or --host (running MatrixOne), not both');
  const dir = path.resolve(flags.data_dir);
  const st = await fsp.stat(fsPath(dir)).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') throw new MobrError('NOT_FOUND', `--data_dir ${showName(dir)} does not exist`);
    throw withContext(`--data_dir ${showName(dir)}`, e);
  });
  if (!st.isDirectory()) throw new MobrError('BAD_INPUT', `--data_dir ${showName(dir)} is not a folder`);
  return { kind: 'cold', dataDir: dir };
}

