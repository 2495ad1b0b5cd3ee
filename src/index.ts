/**
 * mobr as a library: the package's entry point (`import { openRepository, backup } from 'mobr'`).
 * The same operations `./mo_br` runs, without the command line: open or create a repository on a
 * folder or an S3 bucket, back up a folder, restore or check a backup. Every failure is a
 * `MobrError` with a stable `code` (src/errors.ts). Formats: spec/repository.md.
 */
import { checkOutputFolder } from './util/output-path.js';
import { backupTree, type BackupOptions } from './backup/backup.js';
import { restoreBackup, type RestoreOptions, type RestoreProgress } from './backup/restore.js';
import { verifyBackup, type VerifyOptions, type VerifyReport } from './backup/verify.js';
import type { RepoOptions } from './repo/config.js';
import type { Manifest } from './repo/manifest.js';
import { Repository, type RepoKeys } from './repo/repository.js';
import { readSession } from './repo/session.js';
import type { Location, S3Credentials } from './store/location.js';
import { openStore } from './store/open.js';
import { v1 as uuidv1 } from 'uuid';
import { checkBackupId } from './repo/manifest.js';

export { MobrError, isMobrError, type ErrorCode } from './errors.js';
export { Repository } from './repo/repository.js';
export { checkBackupId, isBackupId } from './repo/manifest.js';
export type { Manifest, FileEntry, BackupType, EntryKind } from './repo/manifest.js';
export type { RepoOptions, RepoConfig } from './repo/config.js';
export type { RepoKeys } from './repo/repository.js';
export type { MasterKey } from './crypto/master.js';
export type { Location, FsLocation, S3Location, S3Credentials } from './store/location.js';
export type { Store, StoreEntry } from './store/store.js';
export type { BackupOptions, BackupProgress } from './backup/backup.js';
export type { RestoreOptions, RestoreProgress } from './backup/restore.js';
export type { VerifyOptions, VerifyReport, Damage } from './backup/verify.js';

export interface OpenOptions extends RepoOptions {
  /** Create the repository when the location holds none (default false: NO_REPO). */
  create?: boolean;
  /** Keys for an S3 location (both or neither); without them the AWS SDK's default chain. */
  credentials?: S3Credentials;
  /** S3 requests in flight at once (default 4). */
  parallelism?: number;
  /** An encrypted repository's master key (or a callback yielding it); with `create`, a new repository is encrypted under it (spec/encryption.md). */
  masterKey?: RepoKeys['masterKey'];
}

/**
 * Opens the repository at a folder path or a Location (`{ backupDir: 's3', bucket, filepath,
 * isMinio }`). Call `repo.store.close?.()` when done with an S3 repository.
 */
export async function openRepository(location: string | Location, o: OpenOptions = {}): Promise<Repository> {
  const { create, credentials, parallelism, masterKey, ...repoOptions } = o;
  const store = openStore(typeof location === 'string' ? { backupDir: 'filesystem', path: location } : location, { credentials, parallelism });
  return create ? Repository.openOrInit(store, repoOptions, { masterKey }) : Repository.open(store, { masterKey });
}

/**
 * Backs up the folder `dir` as backup `o.id` (default: a new time-based UUID, as mo_br's IDs);
 * returns its manifest (written last). The ID follows the one rule of `checkBackupId`, so every
 * `mo_br` command takes it.
 */
export async function backup(repo: Repository, dir: string, o: Omit<BackupOptions, 'id'> & { id?: string } = {}): Promise<Manifest> {
  return backupTree(repo, dir, { ...o, id: o.id === undefined ? uuidv1() : checkBackupId(o.id) });
}

/** Restores backup `id` into `dest`, byte-identical, with modes and mtimes, holding a shared lock (no gc deletes what it reads). */
export async function restore(repo: Repository, id: string, dest: string, o: RestoreOptions = {}): Promise<RestoreProgress> {
  checkOutputFolder(dest, 'restore target'); // never inside a repository (the output rule)
  return readSession(repo, { purpose: `restore ${id}`, signal: o.signal }, async () => restoreBackup(repo, await repo.loadManifest(id), dest, o));
}

/** Checks backup `id`: every chunk exists (and with `readData`, every byte and SHA-256). */
export async function check(repo: Repository, id: string, o: VerifyOptions = {}): Promise<VerifyReport> {
  return verifyBackup(repo, await repo.loadManifest(id), o);
}
