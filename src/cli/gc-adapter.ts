/**
 * Deleting a backup's data. src/repo/gc.ts (freeing chunks no other backup references) is not
 * written yet: until it is, only the manifest is removed, so the backup is gone from the
 * repository but its unshared chunks stay in their packs until gc exists.
 */
import { MobrError } from '../errors.js';
import type { Repository } from '../repo/repository.js';

/** Removes backup `id` from repo; returns the bytes freed when known. */
export async function deleteBackupData(repo: Repository, id: string): Promise<number | undefined> {
  if (!(await repo.hasBackup(id))) throw new MobrError('ENOENT_BACKUP', `backup ${id} is not in ${repo.store.location}; use --not_delete_data to remove its record only`);
  await repo.deleteManifest(id);
  return undefined;
}
