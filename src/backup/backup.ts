/**
 * Backing up a directory tree into a repository (the library API under `mo_br backup`).
 * Order of writes: packs, index objects, then the manifest, last (spec/repository.md §8):
 * a crash at any moment leaves no visible half-backup, and every existing backup intact.
 */
import { MobrError, checkAborted } from '../errors.js';
import type { CompressionPolicy } from '../chunk/codec.js';
import type { Repository } from '../repo/repository.js';
import { assertBackupId, ownTable, withTable, type BackupType, type FileEntry, type Manifest } from '../repo/manifest.js';
import { FileTable } from '../repo/file-table.js';
import { absPath, walkTree, type WalkEntry, type WalkOptions, type WalkReport } from '../source/walk.js';
import { jobPool, type WorkerPool } from '../workers/pool.js';
import { writeSession, type WriteSession } from '../repo/session.js';
import { Ingestor, type IngestProgress } from './ingest.js';
import { batchFiles } from './batch.js';
import { mapLimit } from '../util/concurrency.js';
import { systemClock, type Clock } from '../util/clock.js';

export interface BackupProgress extends IngestProgress {
  totalBytes: number;
  totalFiles: number;
  /** Bytes of the files reused unread (counted in bytesRead, which is progress, not reading). */
  reusedBytes?: number;
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
  /** Our wall clock, on which the lock's refreshes are timed (spec/gc.md §2.1). Default: the system's. */
  clock?: Clock;
  /** Runs once every chunk is stored and indexed, before the manifest is written (a test hook pauses there). */
  beforeCommit?: () => Promise<void>;
  /** Told what the walk did not store as is (links out, special files, exclusions). */
  onWalk?: (r: WalkReport) => void;
}

/** Runs in a write session (shared lock) throughout, so no gc runs meanwhile (spec/gc.md §2). */
export async function backupTree(repo: Repository, root: string, o: BackupOptions): Promise<Manifest> {
  assertBackupId(o.id);
  // one signal: Ctrl-C or the loss of the lock stops the backup
  return writeSession(repo, { purpose: `backup ${o.id}`, signal: o.signal, clock: o.clock }, (session) => backupTreeLocked(repo, root, { ...o, signal: session.signal }, session));
}

async function backupTreeLocked(repo: Repository, root: string, o: BackupOptions, session: WriteSession): Promise<Manifest> {
  if (await repo.hasBackup(o.id)) throw new MobrError('REPO_EXISTS', `backup ${o.id} already exists in ${repo.store.location}`);
  const startedAt = (o.clock ?? systemClock).now();
  const walked = await walkTree(root, o.walk);
  const { report } = walked;
  // each entry is dropped once its manifest entry is made (issue #22: the walk's ~340 bytes a file
  // and the manifest's are never both held for every file)
  const entries: Walked = walked.entries;
  checkAborted(o.signal);
  o.onWalk?.(report);
  const plan = planEntries(session, entries, o);
  const ownPool = o.pool === undefined;
  // a small backup (or one on a busy machine) chunks in this thread: a worker's start-up costs more than it saves
  const pool = o.pool ?? await jobPool(plan.work.reduce((s, i) => s + entries[i]!.stat.size, 0), o.parallelism);
  const ingestor = new Ingestor(repo, pool, {
    policy: o.compression,
    signal: o.signal, // Ctrl-C or a lost lock: the file being read fails, no other starts
    writer: session.writer(), // on failure the session abandons it (indexing what is stored after Ctrl-C)
    onProgress: (p) => {
      plan.progress.bytesRead = plan.reusedBytes + p.bytesRead;
      plan.progress.bytesUnstored = p.bytesUnstored;
      o.onProgress?.(plan.progress);
    },
  });
  try {
    await ingestFiles(ingestor, pool.threads, entries, plan, o);
    await ingestor.finish();
  } finally {
    if (ownPool) await pool.close();
  }
  await o.beforeCommit?.();
  if (o.carried?.length) {
    const seen = new Set(Array.from({ length: plan.out.length }, (_, k) => plan.out.path(k)));
    for (const f of o.carried) if (!seen.has(f.path)) plan.out.push(f);
  }
  return commitManifest(session, o, plan.out, { startedAt, addedBytes: ingestor.writer.stats.storedBytes });
}

/** The walk's entries; one is set to undefined once its manifest entry is made. */
type Walked = (WalkEntry | undefined)[];

/**
 * What the walk found, as manifest entries (row i: the walk's entry i; issue #22: a table, not an
 * object a file); files to read are set once read, and listed in `work`.
 */
interface Plan {
  out: FileTable;
  work: number[];
  metaFor: (e: WalkEntry) => Record<string, string> | undefined;
  progress: BackupProgress;
  reusedBytes: number;
}

/** Entries for folders, links and files whose chunks can be reused; the rest are to be read. */
function planEntries(session: WriteSession, entries: Walked, o: BackupOptions): Plan {
  const parentRow = parentRows(o.parent);
  // Without a reuse rule of the caller's, files carry their ctime and inode for the next backup.
  const identity = o.reuse ? undefined : (e: WalkEntry) => ({ ctime: String(Math.trunc(e.stat.ctimeMs)), ino: String(e.stat.ino) });
  const metaFor = (e: WalkEntry) => {
    const m = o.metaFor?.(e.path);
    return identity && e.kind === 'file' ? { ...m, ...identity(e) } : m;
  };
  const reuse =
    o.reuse ??
    ((e: WalkEntry) => {
      const p = parentRow(e.path);
      const id = identity!(e);
      return p && p.kind === 'file' && p.size === e.stat.size && p.mtimeMs === Math.trunc(e.stat.mtimeMs) && p.meta?.ctime === id.ctime && p.meta?.ino === id.ino && session.indexed(p)
        ? p
        : undefined;
    });
  let totalBytes = 0;
  let totalFiles = 0;
  const plan: Plan = { out: new FileTable(entries.length), work: [], metaFor, progress: { bytesRead: 0, filesDone: 0, totalBytes: 0, totalFiles: 0 }, reusedBytes: 0 };
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const base = { path: e.path, kind: e.kind as FileEntry['kind'], size: 0, mode: e.stat.mode & 0o7777, mtimeMs: Math.trunc(e.stat.mtimeMs), meta: metaFor(e) };
    if (e.kind === 'dir') plan.out.set(i, base);
    else if (e.kind === 'symlink') plan.out.set(i, { ...base, target: e.target });
    else {
      totalFiles++;
      totalBytes += e.stat.size;
      const r = reuse(e);
      if (r && r.kind === 'file') {
        plan.out.set(i, { ...base, size: r.size, sha256: r.sha256, chunks: r.chunks, meta: base.meta ?? r.meta });
        plan.reusedBytes += r.size;
        plan.progress.bytesRead += r.size;
        plan.progress.filesDone++;
      } else {
        plan.work.push(i);
        continue;
      }
    }
    entries[i] = undefined;
  }
  plan.progress.totalBytes = totalBytes;
  plan.progress.totalFiles = totalFiles;
  plan.progress.reusedBytes = plan.reusedBytes;
  return plan;
}

/**
 * Reads the files to read, in units (batchFiles), one lane per worker thread: each lane fills
 * its own packs, so a file's chunks lie together. After a failure no unit starts and the running
 * ones end (no upload starts after the caller abandons); the first failure is thrown.
 */
async function ingestFiles(ingestor: Ingestor, lanes: number, entries: Walked, plan: Plan, o: BackupOptions): Promise<void> {
  const batches = batchFiles(plan.work, (i) => entries[i]!.stat.size);
  await mapLimit(batches, lanes, async (batch, _, lane) => {
    checkAborted(o.signal);
    const walked = batch.map((i) => entries[i]!);
    const got = await ingestor.ingestMany(walked.map(absPath), walked.map((e) => e.stat.size), lane, walked.flatMap((e) => [e.stat.dev, e.stat.ino]));
    got.forEach((f, k) => {
      const e = walked[k];
      entries[batch[k]] = undefined;
      plan.out.set(batch[k], { path: e.path, kind: 'file', size: f.size, mode: e.stat.mode & 0o7777, mtimeMs: Math.trunc(e.stat.mtimeMs), sha256: f.sha256, chunks: f.chunks, meta: plan.metaFor(e) });
      plan.progress.filesDone++;
    });
    ingestor.report();
  });
}

/** Writes the manifest, last, through the session (every chunk indexed, the lock still ours). */
async function commitManifest(session: WriteSession, o: BackupOptions, entries: FileTable, t: { startedAt: number; addedBytes: number }): Promise<Manifest> {
  const files = entries.sortedByPath();
  let logicalSize = 0;
  for (let k = 0; k < files.length; k++) if (files.kind(k) === 'file') logicalSize += files.size(k);
  const manifest = withTable(files, {
    version: 1,
    id: o.id,
    type: o.type ?? 'full',
    baseId: o.baseId,
    backupTs: o.backupTs,
    startedAt: t.startedAt,
    completedAt: (o.clock ?? systemClock).now(),
    source: o.source ?? {},
    logicalSize,
    addedBytes: t.addedBytes,
    extra: o.extra,
  });
  return session.commit(manifest);
}

/**
 * The parent manifest's file at a path, as an entry made now: from its table by row number when it
 * holds one (no entry object kept a file), else from its entries.
 */
function parentRows(parent: Manifest | undefined): (path: string) => FileEntry | undefined {
  const t = parent && ownTable(parent);
  if (t) {
    const rows = new Map<string, number>();
    for (let k = 0; k < t.length; k++) rows.set(t.path(k), k);
    return (p) => {
      const k = rows.get(p);
      return k === undefined ? undefined : t.entry(k);
    };
  }
  const byPath = new Map((parent?.files ?? []).map((f) => [f.path, f]));
  return (p) => byPath.get(p);
}

/** True when every chunk of a file entry is in the repository's index. */
export function allIndexed(repo: Repository, f: FileEntry): boolean {
  return repo.indexesAll(f);
}
