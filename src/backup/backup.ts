/**
 * Backing up a directory tree into a repository (the library API under `mo_br backup`).
 * Order of writes: packs, index objects, then the manifest, last (spec/repository.md §8):
 * a crash at any moment leaves no visible half-backup, and every existing backup intact.
 */
import { MobrError, checkAborted, isMobrError } from '../errors.js';
import type { CompressionPolicy } from '../chunk/codec.js';
import type { Repository } from '../repo/repository.js';
import { assertBackupId, chunkCount, chunkId, type BackupType, type FileEntry, type Manifest } from '../repo/manifest.js';
import { toHex } from '../hash/hex.js';
import { walkTree, type WalkEntry, type WalkOptions, type WalkReport } from '../source/walk.js';
import { WorkerPool } from '../workers/pool.js';
import { withSharedLock, type RepoLock } from '../repo/lock.js';
import { Ingestor, type IngestProgress } from './ingest.js';
import { batchFiles } from './batch.js';

export interface BackupProgress extends IngestProgress {
  totalBytes: number;
  totalFiles: number;
}

export interface BackupOptions {
  id: string;
  type?: BackupType;
  baseId?: string;
  backupTs?: string;
  source?: Record<string, unknown>;
  /**
   * Files whose path, size, mtime, ctime and inode match an entry of this manifest reuse its
   * chunks unread (as restic does: rewriting a file and putting its mtime back changes its ctime).
   */
  parent?: Manifest;
  /** Decides reuse itself (e.g. by a server checksum); undefined means: read the file. */
  reuse?: (e: WalkEntry) => FileEntry | undefined;
  /** Per-file facts to record (e.g. MatrixOne's checksum from tae_list). */
  metaFor?: (path: string) => Record<string, string> | undefined;
  /** Entries taken as they are from elsewhere (files MatrixOne did not copy this time). */
  carried?: FileEntry[];
  compression?: CompressionPolicy;
  pool?: WorkerPool;
  parallelism?: number;
  onProgress?: (p: BackupProgress) => void;
  extra?: Record<string, unknown>;
  /** How to walk the tree (follow top-level links to folders, paths to leave out). */
  walk?: WalkOptions;
  /** Stops the backup between files and chunks (INTERRUPTED); nothing is committed. */
  signal?: AbortSignal;
  /** Told what the walk did not store as is (links out, special files, exclusions). */
  onWalk?: (r: WalkReport) => void;
}

/** Holds a shared repository lock throughout, so no gc runs meanwhile (spec/gc.md §2). */
export async function backupTree(repo: Repository, root: string, o: BackupOptions): Promise<Manifest> {
  assertBackupId(o.id);
  return withSharedLock(repo, async (lock) => {
    await repo.refreshIndex(); // a gc before the lock may have removed chunks we loaded
    await repo.dropUnsoundPacks(); // never dedup against a pack that is gone or damaged
    return backupTreeLocked(repo, root, o, lock);
  }, { purpose: `backup ${o.id}` });
}

async function backupTreeLocked(repo: Repository, root: string, o: BackupOptions, lock: RepoLock): Promise<Manifest> {
  if (await repo.hasBackup(o.id)) throw new MobrError('REPO_EXISTS', `backup ${o.id} already exists in ${repo.store.location}`);
  const startedAt = Date.now();
  const { entries, report } = await walkTree(root, o.walk);
  checkAborted(o.signal);
  o.onWalk?.(report);
  const parentByPath = new Map((o.parent?.files ?? []).map((f) => [f.path, f]));
  // Without a reuse rule of the caller's, files carry their ctime and inode for the next backup.
  const identity = o.reuse ? undefined : (e: WalkEntry) => ({ ctime: String(Math.trunc(e.stat.ctimeMs)), ino: String(e.stat.ino) });
  const metaFor = (e: WalkEntry) => {
    const m = o.metaFor?.(e.path);
    return identity && e.kind === 'file' ? { ...m, ...identity(e) } : m;
  };
  const reuse =
    o.reuse ??
    ((e: WalkEntry) => {
      const p = parentByPath.get(e.path);
      const id = identity!(e);
      return p && p.kind === 'file' && p.size === e.stat.size && p.mtimeMs === Math.trunc(e.stat.mtimeMs) && p.meta?.ctime === id.ctime && p.meta?.ino === id.ino && allIndexed(repo, p)
        ? p
        : undefined;
    });
  const ownPool = o.pool === undefined;
  const pool = o.pool ?? new WorkerPool(o.parallelism);
  const files = entries.filter((e) => e.kind === 'file');
  const progress: BackupProgress = { bytesRead: 0, filesDone: 0, totalBytes: files.reduce((s, e) => s + e.stat.size, 0), totalFiles: files.length };
  let reusedBytes = 0;
  const ingestor = new Ingestor(repo, pool, o.compression ?? repo.config.compression, (p) => {
    checkAborted(o.signal); // inside a file: the pool stops storing its chunks and fails it
    progress.bytesRead = reusedBytes + p.bytesRead;
    o.onProgress?.(progress);
  });
  const out: FileEntry[] = new Array(entries.length);
  try {
    const work: number[] = [];
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      const base = { path: e.path, kind: e.kind as FileEntry['kind'], size: 0, mode: e.stat.mode & 0o7777, mtimeMs: Math.trunc(e.stat.mtimeMs), meta: metaFor(e) };
      if (e.kind === 'dir') out[i] = base;
      else if (e.kind === 'symlink') out[i] = { ...base, target: e.target };
      else {
        const r = reuse(e);
        if (r && r.kind === 'file') {
          out[i] = { ...base, size: r.size, sha256: r.sha256, chunks: r.chunks, meta: base.meta ?? r.meta };
          reusedBytes += r.size;
          progress.bytesRead += r.size;
          progress.filesDone++;
        } else work.push(i);
      }
    }
    const batches = batchFiles(work, (i) => entries[i].stat.size);
    let next = 0;
    let failure: unknown;
    const lane = async (stream: number) => {
      while (next < batches.length && failure === undefined) {
        checkAborted(o.signal);
        const batch = batches[next++];
        const got = await ingestor.ingestMany(batch.map((i) => entries[i].abs), batch.map((i) => entries[i].stat.size), stream);
        got.forEach((f, k) => {
          const i = batch[k];
          const e = entries[i];
          out[i] = { path: e.path, kind: 'file', size: f.size, mode: e.stat.mode & 0o7777, mtimeMs: Math.trunc(e.stat.mtimeMs), sha256: f.sha256, chunks: f.chunks, meta: metaFor(e) };
          progress.filesDone++;
        });
        o.onProgress?.(progress);
      }
    };
    // Every lane ends (or fails) before we abandon: no upload may start after that.
    await Promise.allSettled(Array.from({ length: pool.threads }, (_, k) => lane(k).catch((e) => {
      failure ??= e;
    })));
    if (failure !== undefined) throw failure;
    await ingestor.finish();
  } catch (e) {
    // stopped on request with the lock still ours: index what is stored, for the next backup
    const keep = isMobrError(e, 'INTERRUPTED') && (await lock.assertHeld().then(() => true, () => false));
    await ingestor.abandon({ index: keep }).catch(() => undefined);
    throw e;
  } finally {
    if (ownPool) await pool.close();
  }
  const seen = new Set(out.map((f) => f.path));
  const files2 = [...out, ...(o.carried ?? []).filter((f) => !seen.has(f.path))].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const f of files2) {
    if (f.kind === 'file' && !allIndexed(repo, f)) throw new MobrError('NOT_FOUND', `backup ${o.id}: ${f.path} refers to chunks the repository lacks`);
  }
  const manifest: Manifest = {
    version: 1,
    id: o.id,
    type: o.type ?? 'full',
    baseId: o.baseId,
    backupTs: o.backupTs,
    startedAt,
    completedAt: Date.now(),
    source: o.source ?? {},
    files: files2,
    logicalSize: files2.reduce((s, f) => s + (f.kind === 'file' ? f.size : 0), 0),
    addedBytes: ingestor.writer.stats.storedBytes,
    extra: o.extra,
  };
  await lock.assertHeld(); // fencing: never commit after losing the lock
  await repo.saveManifest(manifest);
  return manifest;
}

/** True when every chunk of a file entry is in the repository's index. */
export function allIndexed(repo: Repository, f: FileEntry): boolean {
  const n = chunkCount(f);
  for (let i = 0; i < n; i++) if (!repo.index.has(toHex(chunkId(f, i)))) return false;
  return true;
}
