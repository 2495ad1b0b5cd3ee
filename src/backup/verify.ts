/**
 * Verifying a backup. Without data: every chunk of every file is indexed and its pack exists.
 * With data (verify-packs.ts): each pack is read whole once, its header checked against its name
 * and its bytes against the header's hash, every chunk the files need checked against its id,
 * and every file's bytes against its recorded SHA-256. Damage is reported per file.
 */
import { checkAborted, isMobrError } from '../errors.js';
import { toHex } from '../hash/hex.js';
import { fileTable, ownTable, type FileEntry, type Manifest } from '../repo/manifest.js';
import type { ChunkLists } from '../repo/file-table.js';
import type { Repository } from '../repo/repository.js';
import { jobPool, type WorkerPool } from '../workers/pool.js';
import { mapLimit, SMALL_READS } from '../util/concurrency.js';
import { PackChecker, type CheckedFiles } from './verify-packs.js';

export interface Damage {
  path: string;
  problem: string;
}

export interface VerifyReport {
  ok: boolean;
  files: number;
  bytes: number;
  damaged: Damage[];
  /**
   * Packs (read with readData) whose bytes differ from their header's hash. A byte a decoder
   * reads shows up as a damaged file too; one it ignores (a zstd frame header bit) only here.
   */
  damagedPacks: { pack: string; problem: string }[];
  /** Whole-pack reads (with readData): each pack the files need, once. */
  packReads: number;
}

export interface VerifyOptions {
  readData?: boolean;
  pool?: WorkerPool;
  parallelism?: number;
  /** Called once per file, in manifest order, with the problem if it is damaged (a report only). */
  onFile?: (f: FileEntry, problem?: string) => void;
  /** Ctrl-C: stops the check with INTERRUPTED before its next file or pack read. */
  signal?: AbortSignal;
  /** The order of the paths for onFile and the report (default: the manifest's); the rows are sorted, no entry is copied. */
  order?: (a: string, b: string) => number;
}

/** The manifest's regular files as CheckedFiles over its table, and each as an entry for onFile (its own, when it has one). */
function regularFiles(m: Manifest, order: VerifyOptions['order']): { files: CheckedFiles; path: (k: number) => string; entry: (k: number) => FileEntry } {
  const own = ownTable(m);
  const t = own ?? fileTable(m);
  const rows: number[] = [];
  for (let k = 0; k < t.length; k++) if (t.kind(k) === 'file') rows.push(k);
  if (order) rows.sort((a, b) => order(t.path(a), t.path(b)));
  const files: CheckedFiles = {
    length: rows.length,
    chunkCount: (k) => t.chunkCount(rows[k]),
    chunkId: (k, i) => t.chunkId(rows[k], i),
    size: (k) => t.size(rows[k]),
    sha256: (k) => t.sha256(rows[k]),
  };
  return { files, path: (k) => t.path(rows[k]), entry: (k) => (own ? t.entry(rows[k]) : m.files[rows[k]]) };
}

export async function verifyBackup(repo: Repository, m: Manifest, o: VerifyOptions = {}): Promise<VerifyReport> {
  const { files, path, entry } = regularFiles(m, o.order);
  const problems: (string | undefined)[] = new Array(files.length);
  let reported = 0;
  let bytes = 0;
  const verdict = (k: number, problem: string | undefined) => {
    problems[k] = problem ?? '';
    if (!problem) bytes += files.size(k);
    while (reported < files.length && problems[reported] !== undefined) {
      o.onFile?.(entry(reported), problems[reported] || undefined);
      reported++;
    }
  };
  let packs: { damagedPacks: VerifyReport['damagedPacks']; packReads: number } = { damagedPacks: [], packReads: 0 };
  if (o.readData) {
    let total = 0;
    for (let k = 0; k < files.length; k++) total += files.size(k);
    const pool = o.pool ?? await jobPool(total, o.parallelism);
    try {
      packs = await new PackChecker(repo, pool, files, verdict, o.signal).run();
    } finally {
      if (o.pool === undefined) await pool.close();
    }
  } else {
    const exists = new Map<string, Promise<string | undefined>>();
    const packProblem = (p: string) => {
      let r = exists.get(p);
      if (!r) exists.set(p, (r = repo.hasPack(p).then((ok) => (ok ? undefined : `pack ${p.slice(0, 16)} is missing`), (e: unknown) => (isMobrError(e) ? e.message : Promise.reject(e)))));
      return r;
    };
    // at most a few files a time; after a failure no file starts and the running ones finish
    await mapLimit(Array.from({ length: files.length }, (_, k) => k), SMALL_READS, async (k) => {
      checkAborted(o.signal);
      verdict(k, await checkIndexed(repo, files, k, packProblem));
    });
  }
  const damaged = problems.flatMap((p, k) => (p ? [{ path: path(k), problem: p }] : []));
  return { ok: damaged.length === 0 && packs.damagedPacks.length === 0, files: files.length, bytes, damaged, damagedPacks: packs.damagedPacks, packReads: packs.packReads };
}

/** Every chunk indexed, every pack it lies in present; the first problem otherwise. */
type PackProblem = (pack: string) => Promise<string | undefined>;

async function checkIndexed(repo: Repository, files: ChunkLists, k: number, packProblem: PackProblem): Promise<string | undefined> {
  const n = files.chunkCount(k);
  const used = new Set<string>();
  for (let i = 0; i < n; i++) {
    const loc = repo.location(files.chunkId(k, i));
    if (!loc) return `chunk ${toHex(files.chunkId(k, i)).slice(0, 16)} is missing from the repository`;
    used.add(loc.pack);
  }
  for (const p of used) {
    const problem = await packProblem(p);
    if (problem) return problem;
  }
  return undefined;
}
