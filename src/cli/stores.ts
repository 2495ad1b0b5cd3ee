/**
 * Opening the repository a catalog record or a set of flags points at. Filesystem locations are
 * folders; S3 locations are bucket + filepath, with keys from the command line (never stored).
 */
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';
import { Repository } from '../repo/repository.js';
import { locationToSpec, type BackupLocation, type S3Credentials } from './location.js';

export function openStoreAt(loc: BackupLocation, creds: S3Credentials = {}, parallelism?: number): Store {
  return openStore(locationToSpec(loc, creds, parallelism));
}

/** Opens an existing repository (NO_REPO if the place holds none). */
export function openRepository(loc: BackupLocation, creds?: S3Credentials, parallelism?: number): Promise<Repository> {
  return openWith(loc, creds, parallelism, (store) => Repository.open(store));
}

/** Opens the repository, creating it when the place holds none (backup). */
export function openOrCreateRepository(loc: BackupLocation, creds?: S3Credentials, parallelism?: number): Promise<Repository> {
  return openWith(loc, creds, parallelism, (store) => Repository.openOrInit(store));
}

/** Opens the store and the repository on it; a failure closes the store again. */
async function openWith(loc: BackupLocation, creds: S3Credentials | undefined, parallelism: number | undefined, open: (s: Store) => Promise<Repository>): Promise<Repository> {
  const store = openStoreAt(loc, creds, parallelism);
  try {
    return await open(store);
  } catch (e) {
    await store.close?.().catch(() => undefined);
    throw e;
  }
}
