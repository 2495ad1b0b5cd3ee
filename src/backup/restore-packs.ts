/**
 * Restoring files by pack, not by file (as restic's restorer does): every chunk the files need is
 * read once, in as few ranged reads as the plan allows (src/repo/read-plan.ts), decoded and
 * checked against its id in a worker, and written into every file (and place) that uses it.
 * Chunks of files backed up side by side interleave in packs, so reading file by file would read
 * many packs in pieces; this reads each pack about once (one GET per pack on S3).
 * A file whose chunks all come in one task is checked against its size and SHA-256 before it is
 * written; one spread over several tasks is written at offsets into a temporary file created
 * here, then read back and checked whole before it is renamed into place. Either way no byte
 * that failed a check is written, and nothing is renamed into place unchecked.
 */
import { promises as fsp } from 'node:fs';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { MobrError, checkAborted, isMobrError, withContext } from '../errors.js';
import { toHex } from '../hash/hex.js';
import type { ChunkLists, FileTable } from '../repo/file-table.js';
import type { Repository } from '../repo/repository.js';
import { blobFields, planPackReads, type PackRead, type PlannedBlob } from '../repo/read-plan.js';
import { mapLimit, RESTORE_READ_AHEAD } from '../util/concurrency.js';
import { bestEffort } from '../util/best-effort.js';
import { fsPath, showName } from '../util/names.js';
import type { WorkerPool } from '../workers/pool.js';
import type { FinishFile, PackFile, FileProblem, WholeEncoding } from '../workers/tasks.js';
import type { SafeRoot } from './paths.js';
import { storeSource, type RangeSource } from './reader.js';
import { ReadBuffers, sendable } from './read-buffers.js';

const MiB = 1024 * 1024;
/** Gaps of up to this many bytes between needed chunks of a pack are read rather than cut around. */
export const READ_GAP = MiB;
/** The longest ranged read: a whole 16 MiB pack plus its last chunk fits (a store may want shorter ones: Store.rangeSize). */
export const MAX_READ = 32 * MiB;
/** Files a worker task covers at most (a pack of tiny files is split over several tasks). */
export const TASK_FILES = 256;
/** In this thread (an inline pool) a read is one task: nothing to share out, no file split between tasks. */
export const taskFiles = (pool: WorkerPool): number => (pool.inline ? Infinity : TASK_FILES);

export interface PackRestoreHooks {
  safe: SafeRoot;
  signal?: AbortSignal;
  /** File (its row in the table) is about to be written at target. */
  onFile?: (k: number, target: string) => void;
  /** A file failed (named by where it is restored); throws (and so stops the restore) when nothing else can succeed either. */
  failed: (rel: string, e: unknown) => void;
  /** Plain bytes written and files completed since the last call. */
  progress: (bytes: number, files: number) => void;
  /** Where the ranges come from (default: the repository's store). */
  source?: RangeSource;
  /** How a file (its row) is written when not as its plain bytes: at most one chunk (restoreBackup sees to it). */
  encoding?: (k: number) => WholeEncoding | undefined;
}

class FileState {
  tasksLeft = 0;
  failed = false;
  started = false;
  /** Files written in parts: their temporary file, created before the first task writes to it (to undefined, or why not). */
  created?: Promise<unknown>;
  constructor(
    /** The file's row in the manifest's table, and where it is restored (relative). */
    readonly k: number,
    readonly rel: string,
    /** The folder it is restored in (one string a folder, not one a file: issue #22). */
    private readonly dir: string,
    /** The restore's random names (one string for all files), and which one is this file's. */
    private readonly names: { hex: string },
    private readonly at: number,
  ) {}

  /** Where the file goes, made when asked. */
  get target(): string {
    return path.join(this.dir, this.rel.slice(this.rel.lastIndexOf('/') + 1));
  }

  /** Its temporary file's name, made when asked (held for every file it was ~100 bytes each: issue #22). */
  get tmp(): string {
    return path.join(this.dir, `.mobr-partial-${this.names.hex.slice(8 * this.at, 8 * this.at + 8)}`);
  }
}

/** Restores rows `ks` of table `t` (each to `rels[i]`) by pack. */
export async function restoreByPack(repo: Repository, pool: WorkerPool, t: FileTable, ks: number[], rels: string[], h: PackRestoreHooks): Promise<void> {
  const states: FileState[] = [];
  const names = { hex: randomBytes(4 * ks.length).toString('hex') };
  for (let i = 0; i < ks.length; i++) {
    try {
      states.push(new FileState(ks[i], rels[i], await h.safe.folderOf(rels[i]), names, states.length));
    } catch (e) {
      h.failed(rels[i], e);
    }
  }
  await new PackRestore(repo, pool, t, states, h).run();
}

/** One restore by pack: the plan, the state of each file, the reads and the worker tasks. */
class PackRestore {
  private readonly source: RangeSource;
  /** One slot a read in flight: reads land in reused memory (read-buffers.ts). */
  private readonly buffers: ReadBuffers;

  constructor(
    private readonly repo: Repository,
    private readonly pool: WorkerPool,
    private readonly t: FileTable,
    private readonly states: FileState[],
    private readonly h: PackRestoreHooks,
  ) {
    this.source = h.source ?? storeSource(repo);
    this.buffers = new ReadBuffers(this.maxRead, this.lanes);
  }

  /** The longest read planned: the store's own limit where it has one (a local folder's few MiB), else MAX_READ. */
  private get maxRead(): number {
    return Math.min(MAX_READ, this.repo.packRangeSize ?? MAX_READ);
  }

  /** Reads in flight at once: one a worker thread, and a few read ahead. */
  private get lanes(): number {
    return this.pool.threads + RESTORE_READ_AHEAD;
  }

  async run(): Promise<void> {
    const { states } = this;
    const t = this.t;
    const lists: ChunkLists = { length: states.length, chunkCount: (j) => t.chunkCount(states[j].k), chunkId: (j, i) => t.chunkId(states[j].k, i) };
    const plan = planPackReads(lists, (id) => this.repo.location(id), { gap: READ_GAP, maxRead: this.maxRead, maxFiles: taskFiles(this.pool) });
    try {
      plan.missing.forEach((id, k) => this.fail(k, new MobrError('NOT_FOUND', `chunk ${toHex(id).slice(0, 16)} is missing from the repository`)));
      states.forEach((s, k) => (s.tasksLeft = plan.tasksOf[k]));
      // files without chunks: created empty and finished like files written in parts
      const empty = states.flatMap((s, k) => (s.tasksLeft === 0 && !plan.missing.has(k) ? [k] : []));
      for (const k of empty) {
        this.start(k);
        await this.create(k);
      }
      if (empty.length > 0) await this.finish(empty.filter((k) => !states[k].failed));
      await mapLimit(plan.reads, this.lanes, (span) => this.runRead(plan.read(span)));
    } finally {
      // whatever did not finish (failed, or stopped by a fatal error) leaves no temporary file
      await Promise.all(states.map(async (s) => {
        if (s.created === undefined || s.tasksLeft === -1) return;
        await s.created; // settles, never rejects; a failed open leaves nothing, rm is then a no-op
        await bestEffort(fsp.rm(fsPath(s.tmp), { force: true }), `remove ${showName(s.tmp)}`);
      }));
    }
  }

  /** One ranged read and its tasks; then the files it completed are checked and renamed. */
  private async runRead(read: PackRead): Promise<void> {
    checkAborted(this.h.signal);
    const live = (b: PlannedBlob) => b.uses.some((u) => !this.states[u.file].failed);
    if (!read.tasks.some((t) => t.some(live))) return;
    const into = this.buffers.take(read.length);
    let bytes: Uint8Array;
    try {
      bytes = await this.source(read.pack, read.offset, read.length, into);
    } catch (e) {
      this.buffers.give(into);
      for (const t of read.tasks) for (const b of t) for (const u of b.uses) this.fail(u.file, e);
      return;
    }
    const ready: number[] = [];
    // every task of the read ends before a failure goes on (none may write after we return), and before its slot is reused
    const ran = await Promise.allSettled(read.tasks.map((t) => this.runTask(read, t, bytes, read.tasks.length === 1, ready)));
    this.buffers.give(into);
    for (const r of ran) if (r.status === 'rejected') throw r.reason;
    if (ready.length > 0) await this.finish(ready);
  }

  /** One worker task: the chunks of `blobs` (consecutive in the read) written where they are used. */
  private async runTask(read: PackRead, blobs: PlannedBlob[], bytes: Uint8Array, only: boolean, ready: number[]): Promise<void> {
    const base = blobs[0].loc.offset;
    const end = blobs[blobs.length - 1].loc.offset + blobs[blobs.length - 1].loc.length;
    // the whole read when this is its only task (no copy of a read buffer of its own), else this task's slice
    const [from, to] = only ? [0, bytes.length] : [base - read.offset, end - read.offset];
    const data = sendable(bytes, from, to);
    const shift = read.offset + from;
    const { ks, files, shas } = await this.taskFiles(blobs);
    if (files.length === 0) return;
    const problems = await this.pool.packWrites({
      keys: this.repo.crypt?.master,
      data,
      ...blobFields(blobs, shift),
      files,
      sha256s: packed(shas),
    });
    let written = 0;
    problems.forEach((p, i) => {
      const k = ks[i];
      const s = this.states[k];
      if (p) return this.fail(k, problemError(p, (j) => `chunk ${toHex(blobs[j].id).slice(0, 16)} in pack ${read.pack.slice(0, 16)}`));
      if (s.failed) return;
      for (const j of files[i].blobs) written += blobs[j].loc.rawLength;
      if (files[i].whole) {
        s.tasksLeft = -1;
        this.h.progress(0, 1);
      } else if (--s.tasksLeft === 0) ready.push(k);
    });
    this.h.progress(written, 0);
  }

  /**
   * The files a task writes (those not failed) and their chunks in file order. A file all in this
   * task is written whole; for the others the temporary file is created first.
   */
  private async taskFiles(blobs: PlannedBlob[]): Promise<{ ks: number[]; files: PackFile[]; shas: Uint8Array[] }> {
    const uses = new Map<number, { blobs: number[]; ats: number[] }>();
    blobs.forEach((b, j) => {
      for (const u of b.uses) {
        if (this.states[u.file].failed) continue;
        let e = uses.get(u.file);
        if (!e) uses.set(u.file, (e = { blobs: [], ats: [] }));
        e.blobs.push(j);
        e.ats.push(u.at);
      }
    });
    const ks: number[] = [];
    const files: PackFile[] = [];
    const shas: Uint8Array[] = [];
    for (const [k, e] of uses) {
      const s = this.states[k];
      this.start(k);
      const file: PackFile = { tmp: s.tmp, ...inFileOrder(e) };
      if (s.tasksLeft === 1 && s.created === undefined) {
        file.whole = this.placed(s, shas);
        const encoding = this.h.encoding?.(s.k);
        if (encoding !== undefined) file.whole.encoding = encoding;
      } else {
        if (!(await this.create(k)) || s.failed) continue;
      }
      ks.push(k);
      files.push(file);
    }
    return { ks, files, shas };
  }

  /** Where a file goes and what it must be (its SHA-256 added to `shas`, its place there given). */
  private placed(s: FileState, shas: Uint8Array[]): FinishFile {
    const sha = this.t.sha256(s.k);
    return { target: s.target, size: this.t.size(s.k), mode: this.t.mode(s.k), mtimeMs: this.t.mtimeMs(s.k), sha: sha ? shas.push(sha) - 1 : undefined };
  }

  /** Files written in parts, all chunks in: read back, checked, renamed into place. */
  private async finish(ks: number[]): Promise<void> {
    const files: (FinishFile & { tmp: string })[] = [];
    const shas: Uint8Array[] = [];
    for (const k of ks) {
      files.push({ tmp: this.states[k].tmp, ...this.placed(this.states[k], shas) });
    }
    const problems = await this.pool.finishFiles({ files, sha256s: packed(shas) });
    problems.forEach((p, i) => {
      if (p) this.fail(ks[i], problemError(p, () => ''));
      else {
        this.states[ks[i]].tasksLeft = -1; // done: nothing to sweep
        this.h.progress(0, 1);
      }
    });
  }

  private fail(k: number, e: unknown): void {
    const s = this.states[k];
    if (s.failed) return;
    s.failed = true;
    const p = showName(this.t.path(s.k));
    this.h.failed(s.rel, isMobrError(e) ? new MobrError(e.code, `restore ${p}: ${e.message}`, { cause: e }) : withContext(`restore ${p}`, e));
  }

  /** Tells the caller a file is about to be written (once). */
  private start(k: number): void {
    const s = this.states[k];
    if (s.started) return;
    s.started = true;
    this.h.onFile?.(s.k, s.target);
  }

  /** Creates the temporary file a file written in parts gets its chunks in (once); false (the file failed) if it cannot. */
  private async create(k: number): Promise<boolean> {
    const s = this.states[k];
    s.created ??= fsp.open(fsPath(s.tmp), 'wx', 0o600).then(
      (fh) => fh.close().then(() => undefined, (e: unknown) => e ?? new Error('close failed')),
      (e: unknown) => e ?? new Error('create failed'),
    );
    const why = await s.created;
    if (why !== undefined) this.fail(k, why);
    return why === undefined;
  }
}

/** A file's chunks in this task sorted by their place in the file (one chunk, most small files: as is). */
function inFileOrder(e: { blobs: number[]; ats: number[] }): { blobs: number[]; ats: number[] } {
  if (e.ats.length === 1) return e;
  const order = e.ats.map((_, i) => i).sort((a, b) => e.ats[a] - e.ats[b]);
  return { blobs: order.map((i) => e.blobs[i]), ats: order.map((i) => e.ats[i]) };
}

/** Whole SHA-256s side by side in one buffer of their own (views into a manifest are never sent). */
function packed(shas: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(shas.length * 32);
  shas.forEach((x, i) => out.set(x, i * 32));
  return out;
}

function problemError(p: NonNullable<FileProblem>, chunkName: (j: number) => string): Error {
  if (p.kind === 'chunk') return new MobrError('CORRUPT_PACK', `${chunkName(p.chunk)}: ${p.message} (damaged)`);
  if (p.kind === 'content') return new MobrError('CORRUPT', p.message);
  return Object.assign(new Error(p.message), { code: p.code });
}
