/**
 * What a cold backup would do, without doing it (`mo_br backup --data_dir … --dry_run`,
 * spec/browse.md §6): the folder is walked, never read; files the newest backup of the same
 * folder already holds unchanged (path, size, mtime, ctime and inode, as backupTree decides)
 * would be reused unread, every other file read, chunked and its new chunks written. The walk is
 * the backup's own (src/source/walk.ts, with the same options), so it follows and leaves out the same.
 */
import type { FileEntry, Manifest } from '../repo/manifest.js';
import { walkTree, type WalkEntry, type WalkOptions, type WalkReport } from '../source/walk.js';

interface ColdBackupPlan {
  files: number;
  bytes: number;
  /** Files that would be read (new or changed since the parent backup). */
  read: { files: number; bytes: number; paths: { path: string; size: number; why: 'new' | 'changed' }[] };
  /** Files whose chunk lists would be reused unread. */
  reused: { files: number; bytes: number };
  dirs: number;
  symlinks: number;
  /** What the walk did not store as is (special files, excluded paths, links followed or leaving the tree). */
  walk: WalkReport;
  /** Files of the parent backup that are gone. */
  removed: number;
}

/** The plan; `indexed(f)` says whether the repository still holds every chunk of a parent's entry. */
export async function planColdBackup(root: string, parent: Manifest | undefined, indexed: (f: FileEntry) => boolean, walk: WalkOptions = {}): Promise<ColdBackupPlan> {
  const { entries, report } = await walkTree(root, walk);
  const before = new Map((parent?.files ?? []).map((f) => [f.path, f]));
  const plan: ColdBackupPlan = { files: 0, bytes: 0, read: { files: 0, bytes: 0, paths: [] }, reused: { files: 0, bytes: 0 }, dirs: 0, symlinks: 0, walk: report, removed: 0 };
  const present = new Set<string>();
  for (const e of entries) {
    present.add(e.path);
    if (e.kind === 'dir') plan.dirs++;
    else if (e.kind === 'symlink') plan.symlinks++;
    else {
      plan.files++;
      plan.bytes += e.stat.size;
      const p = before.get(e.path);
      if (p && unchanged(e, p) && indexed(p)) {
        plan.reused.files++;
        plan.reused.bytes += e.stat.size;
      } else {
        plan.read.files++;
        plan.read.bytes += e.stat.size;
        plan.read.paths.push({ path: e.path, size: e.stat.size, why: p?.kind === 'file' ? 'changed' : 'new' });
      }
    }
  }
  for (const f of before.values()) if (f.kind === 'file' && !present.has(f.path)) plan.removed++;
  return plan;
}

function unchanged(e: WalkEntry, p: FileEntry): boolean {
  return p.kind === 'file' && p.size === e.stat.size && p.mtimeMs === Math.trunc(e.stat.mtimeMs) && p.meta?.ctime === String(Math.trunc(e.stat.ctimeMs)) && p.meta?.ino === String(e.stat.ino);
}
