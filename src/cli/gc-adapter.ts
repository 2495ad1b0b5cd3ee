/**
 * Deleting a backup's data through src/repo/gc.ts: the manifest is removed, then gc frees the
 * chunks no other backup references (spec/gc.md). If backups are running against the repository,
 * gc is deferred (a later delete or prune frees the data); packs younger than gc's safety window
 * (1 h) are freed by a later gc too.
 */
import { deleteBackup } from '../repo/gc.js';
import type { Repository } from '../repo/repository.js';

/** Removes backup `id` from repo; returns the bytes freed when known. */
export async function deleteBackupData(repo: Repository, id: string): Promise<number | undefined> {
  // No manifest: a delete of this backup was interrupted after removing it (crash, Ctrl-C), or
  // its data is gone otherwise. Either way there is nothing left to delete; the caller removes
  // the record, so running the same delete again finishes the job.
  if (!(await repo.hasBackup(id))) return undefined;
  const r = await deleteBackup(repo, id, { gc: true });
  return r.gc && r.gc !== 'deferred' ? Math.max(0, r.gc.bytesFreed) : undefined;
}
