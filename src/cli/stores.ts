/**
 * Opening the repository a catalog record or a set of flags points at. Filesystem locations are
 * folders; S3 locations are bucket + filepath, with keys from the command line (never stored).
 */
import type { S3Credentials, Location } from '../store/location.js';
import { openStore } from '../store/open.js';
import { bestEffort } from '../util/best-effort.js';
import type { Store } from '../store/store.js';
import { Repository } from '../repo/repository.js';

/** Opens an existing repository (NO_REPO if the place holds none). */
export function openRepository(loc: Location, creds?: S3Credentials, parallelism?: number): Promise<Repository> {
  return openWith(loc, creds, parallelism, (store) => Repository.open(store));
}

/** Opens the repository, creating it when the place holds none (backup). */
export function openOrCreateRepository(loc: Location, creds?: S3Credentials, parallelism?: number): Promise<Repository> {
  return openWith(loc, creds, parallelism, (store) => Repository.openOrInit(store));
}

/** Opens the store and the repository on it; a failure closes the store again. */
async function openWith(loc: Location, credentials: S3Credentials | undefined, parallelism: number | undefined, open: (s: Store) => Promise<Repository>): Promise<Repository> {
  const store = openStore(loc, { credentials, parallelism });
  try {
    return await open(store);
  } catch (e) {
    await bestEffort(async () => store.close?.(), `close ${store.location}`);
    throw e;
  }
}
