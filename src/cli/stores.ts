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
export async function openRepository(loc: BackupLocation, creds?: S3Credentials, parallelism?: number): Promise<Repository> {
  const store = openStoreAt(loc, creds, parallelism);
  try {
    return await Repository.open(store);
  } catch (e) {
    await store.close?.().catch(() => undefined);
    throw e;
  }
}

/** Opens the repository, creating it when the place holds none (backup). */
export async function openOrCreateRepository(loc: BackupLocation, creds?: S3Credentials, parallelism?: number): Promise<Repository> {
  const store = openStoreAt(loc, creds, parallelism);
  try {
    return await Repository.openOrInit(store);
  } catch (e) {
    await store.close?.().catch(() => undefined);
    throw e;
  }
}
