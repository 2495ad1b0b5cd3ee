/**
 * Finding backups: through the catalog, or from the repository alone (its manifests).
 * The repository is the truth: every command that takes a backup ID calls openBackup, which
 * - with the repository's location on the command line (`--backup_dir filesystem --backup_path …`
 *   or `--backup_dir s3 --backup_endpoint … --backup_bucket …`), opens that repository and reads
 *   the backup's manifest there, whether or not the catalog knows the ID;
 * - without it, takes the backup's location from the catalog (mo_br.meta).
 * A record built from a manifest carries the same fields as a catalog record (spec/meta.md), so
 * `list`, `check`, `restore`… print the same table either way. `latest` stands for the newest
 * backup wherever an ID is taken (resolveAlias).
 */
import { MobrError, isMobrError } from '../errors.js';
import { bestEffort } from '../util/best-effort.js';
import type { Manifest } from '../repo/manifest.js';
import type { Repository } from '../repo/repository.js';
import { checkBackupId, type CliContext } from './context.js';
import { describeLocation, type Location, type S3Credentials } from '../store/location.js';
import { locationFromFlags } from './location-flags.js';
import type { BackupRecord } from './meta.js';
import { openRepository } from './stores.js';

/** The `--backup_*` flag family: where a repository is (restore, check, list, delete, …). */
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

/** Flags of a command that finds a backup: the location family plus mo_br's plain key flags. */
export interface RepoFlags extends BackupSideFlags {
  access_key_id?: string;
  secret_access_key?: string;
}

/** The location given by the --backup_* flag family. */
export function backupSideLocation(flags: BackupSideFlags): Location {
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

/** The repository named on the command line, or undefined without --backup_dir. */
export function flagLocation(flags: BackupSideFlags): Location | undefined {
  return flags.backup_dir === undefined || flags.backup_dir === '' ? undefined : backupSideLocation(flags);
}

/** S3 keys: `--backup_access_key_id` / `--backup_secret_access_key`, or mo_br's plain `--access_key_id` / `--secret_access_key`. */
export function credentialsOf(flags: RepoFlags): S3Credentials {
  return {
    accessKeyId: flags.backup_access_key_id || flags.access_key_id || undefined,
    secretAccessKey: flags.backup_secret_access_key || flags.secret_access_key || undefined,
  };
}

/** What a manifest's `source` says was backed up, as the catalog's `source` text. */
function sourceText(source: Record<string, unknown>): string | undefined {
  if (source.kind === 'matrixone' && typeof source.host === 'string') return `matrixone ${source.host}:${String(source.port ?? '')}`;
  if (source.kind === 'cold' && typeof source.dataDir === 'string') return `cold ${source.dataDir}`;
  return undefined;
}

/** The catalog record of a backup, rebuilt from its manifest (times have millisecond precision). */
function recordFromManifest(m: Manifest, location: Location): BackupRecord {
  const durationMs = Math.max(0, m.completedAt - m.startedAt);
  const r: BackupRecord = {
    id: m.id,
    size: m.logicalSize,
    location,
    atTime: m.startedAt,
    durationNs: durationMs * 1_000_000,
    completeTime: m.completedAt,
    backupTs: m.backupTs ?? `${BigInt(Math.max(0, Math.trunc(m.startedAt))) * 1_000_000n}-0`,
    backupType: m.type,
  };
  if (m.baseId !== undefined) r.baseId = m.baseId;
  const source = sourceText(m.source);
  if (source !== undefined) r.source = source;
  return r;
}

/** A backup found by ID, with its repository open: the caller closes it. */
export interface OpenedBackup {
  record: BackupRecord;
  location: Location;
  repo: Repository;
  /** True when the catalog named the backup; false when found in the repository alone. */
  fromCatalog: boolean;
  /** The backup's manifest (read once, then kept). */
  manifest(): Promise<Manifest>;
  close(): Promise<void>;
}

function cachedManifest(repo: Repository, id: string, first?: Manifest): () => Promise<Manifest> {
  let p: Promise<Manifest> | undefined = first ? Promise.resolve(first) : undefined;
  return () => (p ??= repo.loadManifest(id));
}

/** The catalog record of an ID, or ENOENT_BACKUP saying how to look in a repository instead. */
export async function catalogRecord(id: string, ctx: CliContext): Promise<BackupRecord> {
  const r = (await ctx.catalog.read()).find((x) => x.id === id);
  if (!r) {
    throw new MobrError('ENOENT_BACKUP', `no backup with ID ${id} in ${ctx.catalog.file}; to find it in its repository, give --backup_dir filesystem --backup_path <folder> (or --backup_dir s3 with --backup_endpoint, --backup_bucket, --backup_filepath)`);
  }
  return r;
}

/** The alias every command that takes a backup ID accepts: the newest backup (by completion time). */
export const LATEST = 'latest';

/**
 * `latest`: the newest backup of the repository the flags name, else the newest the catalog
 * records (ENOENT_BACKUP when there is none); any other ID is returned as given.
 */
export async function resolveAlias(raw: string, flags: RepoFlags, ctx: CliContext): Promise<string> {
  if (raw !== LATEST) return raw;
  const given = flagLocation(flags);
  if (given !== undefined) {
    const repo = await openRepository(given, credentialsOf(flags));
    try {
      return (await newestBackup(repo, given)).id;
    } finally {
      await repo.close();
    }
  }
  const records = await ctx.catalog.read();
  if (records.length === 0) throw new MobrError('ENOENT_BACKUP', `no backups in ${ctx.catalog.file}: "latest" names none`);
  return records.reduce((a, b) => (b.completeTime > a.completeTime ? b : a)).id;
}

/**
 * Finds the backup `id` (see the file comment) and opens its repository. Not found anywhere:
 * ENOENT_BACKUP naming where it looked.
 */
export async function openBackup(rawId: string, flags: RepoFlags, ctx: CliContext, parallelism?: number): Promise<OpenedBackup> {
  const id = checkBackupId(await resolveAlias(rawId, flags, ctx));
  const creds = credentialsOf(flags);
  const given = flagLocation(flags);
  if (given === undefined) {
    const record = await catalogRecord(id, ctx);
    const repo = await openRepository(record.location, creds, parallelism);
    return { record, location: record.location, repo, fromCatalog: true, manifest: cachedManifest(repo, id), close: () => repo.close() };
  }
  const repo = await openRepository(given, creds, parallelism);
  try {
    let manifest: Manifest;
    try {
      manifest = await repo.loadManifest(id);
    } catch (e) {
      if (isMobrError(e, 'ENOENT_BACKUP')) throw new MobrError('ENOENT_BACKUP', `no backup with ID ${id} in ${describeLocation(given)}`, { cause: e });
      throw e;
    }
    const record = recordFromManifest(manifest, given);
    return { record, location: given, repo, fromCatalog: false, manifest: cachedManifest(repo, id, manifest), close: () => repo.close() };
  } catch (e) {
    await bestEffort(repo.close(), `close ${describeLocation(given)}`);
    throw e;
  }
}

/** Every backup of an open repository, oldest first; manifests that cannot be read are returned apart. */
export async function repositoryRecords(repo: Repository, location: Location): Promise<{ records: BackupRecord[]; unreadable: { id: string; problem: string }[] }> {
  const records: BackupRecord[] = [];
  const unreadable: { id: string; problem: string }[] = [];
  for (const id of await repo.listBackupIds()) {
    try {
      records.push(recordFromManifest(await repo.loadManifest(id), location));
    } catch (e) {
      if (!isMobrError(e, 'CORRUPT_MANIFEST') && !isMobrError(e, 'CORRUPT') && !isMobrError(e, 'ENOENT_BACKUP') && !isMobrError(e, 'BAD_INPUT')) throw e;
      unreadable.push({ id, problem: e.message });
    }
  }
  records.sort((a, b) => a.completeTime - b.completeTime || a.id.localeCompare(b.id));
  return { records, unreadable };
}

/** The newest backup of a repository (by completion time), or ENOENT_BACKUP. */
export async function newestBackup(repo: Repository, location: Location): Promise<Manifest> {
  const ids = await repo.listBackupIds();
  if (ids.length === 0) throw new MobrError('ENOENT_BACKUP', `no backup in ${describeLocation(location)}`);
  let newest: Manifest | undefined;
  for (const bid of ids) {
    const m = await repo.loadManifest(bid);
    if (!newest || m.completedAt > newest.completedAt) newest = m;
  }
  return newest!;
}
