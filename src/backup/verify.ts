/**
 * Verifying a backup. Without data: every chunk of every file is indexed and its pack exists.
 * With data (verify-packs.ts): each pack is read whole once, its header checked against its name
 * and its bytes against the header's hash, every chunk the files need checked against its id,
 * and every file's bytes against its recorded SHA-256. Damage is reported per file.
 */
import { checkAborted, isMobrError } from '../errors.js';
import { toHex } from '../hash/hex.js';
import { chunkCount, chunkId, type FileEntry, type Manifest } from '../repo/manifest.js';
import type { Repository } from '../repo/repository.js';
import { jobPool, type WorkerPool } from '../workers/pool.js';
import { mapLimit, SMALL_READS } from '../util/concurrency.js';
import { PackChecker } from './verify-packs.js';

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
}

export async function verifyBackup(repo: Repository, m: Manifest, o: VerifyOptions = {}): Promise<VerifyReport> {
  const files = m.files.filter((f) => f.kind === 'file');
  const problems: (string | undefined)[] = new Array(files.length);
  let reported = 0;
  let bytes = 0;
  const verdict = (k: number, problem: string | undefined) => {
    problems[k] = problem ?? '';
    if (!problem) bytes += files[k].size;
    while (reported < files.length && problems[reported] !== undefined) {
      o.onFile?.(files[reported], problems[reported] || undefined);
      reported++;
    }
  };
  let packs: { damagedPacks: VerifyReport['damagedPacks']; packReads: number } = { damagedPacks: [], packReads: 0 };
  if (o.readData) {
    const pool = o.pool ?? await jobPool(files.reduce((s, f) => s + f.size, 0), o.parallelism);
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
    await mapLimit(files, SMALL_READS, async (f, k) => {
      checkAborted(o.signal);
      verdict(k, await checkIndexed(repo, f, packProblem));
    });
  }
  const damaged = files.flatMap((f, i) => (problems[i] ? [{ path: f.path, problem: problems[i]! }] : []));
  return { ok: damaged.length === 0 && packs.damagedPacks.length === 0, files: files.length, bytes, damaged, damagedPacks: packs.damagedPacks, packReads: packs.packReads };
}

/** Every chunk indexed, every pack it lies in present; the first problem otherwise. */
async function checkIndexed(repo: Repository, f: FileEntry, packProblem: (pack: string) => Promise<string | undefined>): Promise<string | undefined> {
  const n = chunkCount(f);
  const used = new Set<string>();
  for (let i = 0; i < n; i++) {
    const loc = repo.location(chunkId(f, i));
    if (!loc) return `chunk ${toHex(chunkId(f, i)).slice(0, 16)} is missing from the repository`;
    used.add(loc.pack);
  }
  for (const p of used) {
    const problem = await packProblem(p);
    if (problem) return problem;
  }
  return undefined;
}
