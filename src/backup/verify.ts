/**
 * Verifying a backup. Without data: every chunk of every file is indexed and its pack exists.
 * With data: every chunk is read and checked against its id, each pack header against the pack's
 * name, and every file's bytes against its recorded SHA-256. Damage is reported per file.
 * Each pack is read whole once: the same bytes serve the pack's own check and the chunks of the
 * files in it (a small cache keeps the packs in use; a backup writes a file's chunks together).
 */
import { createHash } from 'node:crypto';
import { isMobrError } from '../errors.js';
import { toHex } from '../hash/hex.js';
import { packKey } from '../repo/keys.js';
import { chunkCount, chunkId, type FileEntry, type Manifest } from '../repo/manifest.js';
import type { Repository } from '../repo/repository.js';
import { equalBytes } from '../repo/sealed.js';
import { WorkerPool } from '../workers/pool.js';
import { MobrError } from '../errors.js';
import { checkPack as checkPackBytes } from '../repo/pack.js';
import { readFileChunks, type RangeSource } from './reader.js';
import { smallFilesVerdicts } from './small.js';
import { BIG_FILE, batchFiles } from './batch.js';
import { mapLimit } from '../util/concurrency.js';

/** Bytes of whole packs kept while files are checked. */
const CACHE_BYTES = 96 * 1024 * 1024;

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
  /** Whole-pack reads (with readData): each pack once, unless the cache had to let it go. */
  packReads: number;
}

export interface VerifyOptions {
  readData?: boolean;
  pool?: WorkerPool;
  parallelism?: number;
  /** Called once per file, in manifest order, with the problem if it is damaged. */
  onFile?: (f: FileEntry, problem?: string) => void;
}

export async function verifyBackup(repo: Repository, m: Manifest, o: VerifyOptions = {}): Promise<VerifyReport> {
  const files = m.files.filter((f) => f.kind === 'file');
  const problems: (string | undefined)[] = new Array(files.length);
  const packs = new PackReader(repo);
  const ownPool = o.readData && o.pool === undefined;
  const pool = o.pool ?? (o.readData ? new WorkerPool(o.parallelism) : undefined);
  let bytes = 0;
  try {
    let reported = 0;
    const flush = () => {
      while (reported < files.length && problems[reported] !== undefined) {
        o.onFile?.(files[reported], problems[reported] || undefined);
        reported++;
      }
    };
    const units = batchFiles(files.map((f, i) => i), (i) => files[i].size);
    // at most one unit a lane; after a failure no unit starts and the running ones finish
    await mapLimit(units, Math.max(2, pool?.threads ?? 4), async (unit) => {
      const found = await checkUnit(repo, unit.map((i) => files[i]), packs, o.readData ? pool : undefined, (n) => (bytes += n));
      unit.forEach((i, k) => (problems[i] = found[k] ?? ''));
      flush();
    });
    flush();
  } finally {
    if (ownPool) await pool!.close();
  }
  const damaged = files.flatMap((f, i) => (problems[i] ? [{ path: f.path, problem: problems[i]! }] : []));
  return { ok: damaged.length === 0 && packs.damaged.length === 0, files: files.length, bytes, damaged, damagedPacks: packs.damaged, packReads: packs.reads };
}

/**
 * Packs as check sees them: `problem` tells whether a pack is usable (it exists; with data, its
 * header matches its name), loading it whole at most once; `source` serves ranges from the whole
 * packs it keeps, so no byte is read twice while the pack stays in the cache.
 */
class PackReader {
  readonly damaged: VerifyReport['damagedPacks'] = [];
  reads = 0;
  private readonly state = new Map<string, Promise<string | undefined>>();
  private readonly cache = new Map<string, Promise<Uint8Array>>();
  private readonly sizes = new Map<string, number>();
  private cached = 0;

  constructor(private readonly repo: Repository) {}

  problem(pack: string, readData: boolean): Promise<string | undefined> {
    let p = this.state.get(pack);
    if (!p) {
      p = (readData ? this.bytes(pack).then(() => undefined) : this.repo.store.has(packKey(pack)).then((ok) => (ok ? undefined : `pack ${pack.slice(0, 16)} is missing`))).catch(
        (e) => (isMobrError(e) ? e.message : String(e)),
      );
      this.state.set(pack, p);
    }
    return p;
  }

  readonly source: RangeSource = async (pack, offset, length) => {
    const b = await this.bytes(pack);
    if (offset + length > b.length) throw new MobrError('CORRUPT', `read pack ${pack.slice(0, 16)}: short object (wanted ${length} bytes at ${offset})`);
    return b.subarray(offset, offset + length);
  };

  /** The whole pack, checked (header against name; blob bytes against `h`, noted if not). */
  private bytes(pack: string): Promise<Uint8Array> {
    const hit = this.cache.get(pack);
    if (hit) {
      this.cache.delete(pack); // most recently used last
      this.cache.set(pack, hit);
      return hit;
    }
    const first = !this.sizes.has(pack);
    this.reads++;
    const what = `pack ${pack.slice(0, 16)}`;
    const p = this.repo.store.get(packKey(pack)).then(
      (b) => {
        if (first) {
          const r = checkPackBytes(b, pack, what);
          if (!r.dataOk) this.damaged.push({ pack, problem: `${what}: blob bytes do not match the header's hash (damaged)` });
        }
        this.sizes.set(pack, b.length);
        this.cached += b.length;
        this.evict(pack);
        return b;
      },
      (e) => {
        if (isMobrError(e, 'NOT_FOUND')) throw new MobrError('NOT_FOUND', `${what} is missing`);
        throw e;
      },
    );
    p.catch(() => this.cache.delete(pack));
    this.cache.set(pack, p);
    return p;
  }

  private evict(keep: string): void {
    for (const k of this.cache.keys()) {
      if (this.cached <= CACHE_BYTES) return;
      if (k === keep || !this.sizes.has(k)) continue;
      this.cache.delete(k);
      this.cached -= this.sizes.get(k)!;
    }
  }
}

/** Problems of a unit of files (one big file, or many small ones read together), in order. */
async function checkUnit(repo: Repository, unit: FileEntry[], packs: PackReader, pool: WorkerPool | undefined, onBytes: (n: number) => void): Promise<(string | undefined)[]> {
  // A big file's packs are checked as its chunks stream (loading them all first could let the
  // cache drop one before it is read).
  const out: (string | undefined)[] = await Promise.all(unit.map((f) => checkIndexed(repo, f, pool && f.size >= BIG_FILE ? undefined : (p) => packs.problem(p, pool !== undefined))));
  if (!pool) return out;
  const readable = unit.flatMap((f, k) => (out[k] === undefined ? [k] : []));
  if (readable.length === 1 && unit[readable[0]].size >= BIG_FILE) {
    out[readable[0]] = await checkBigFile(repo, unit[readable[0]], pool, packs.source, onBytes);
    return out;
  }
  const verdicts = await smallFilesVerdicts(repo, pool, readable.map((k) => unit[k]), undefined, packs.source);
  readable.forEach((k, j) => {
    const v = verdicts[j];
    if (v && !isMobrError(v)) throw v;
    if (v) out[k] = v.message;
    else onBytes(unit[k].size);
  });
  return out;
}

/** Every chunk indexed, every pack it lies in usable (if asked); the first problem otherwise. */
async function checkIndexed(repo: Repository, f: FileEntry, packProblem?: (pack: string) => Promise<string | undefined>): Promise<string | undefined> {
  const n = chunkCount(f);
  const used = new Set<string>();
  for (let i = 0; i < n; i++) {
    const loc = repo.location(chunkId(f, i));
    if (!loc) return `chunk ${toHex(chunkId(f, i)).slice(0, 16)} is missing from the repository`;
    used.add(loc.pack);
  }
  if (packProblem) {
    for (const p of used) {
      const problem = await packProblem(p);
      if (problem) return problem;
    }
  }
  return undefined;
}

async function checkBigFile(repo: Repository, f: FileEntry, pool: WorkerPool, source: RangeSource, onBytes: (n: number) => void): Promise<string | undefined> {
  try {
    const sha = createHash('sha256');
    let size = 0;
    for await (const c of readFileChunks(repo, pool, f, source)) {
      sha.update(c);
      size += c.length;
      onBytes(c.length);
    }
    if (size !== f.size) return `size ${size} differs from the recorded ${f.size}`;
    if (!equalBytes(new Uint8Array(sha.digest()), f.sha256!)) return 'sha256 mismatch';
    return undefined;
  } catch (e) {
    if (isMobrError(e)) return e.message;
    throw e;
  }
}
