/**
 * Verifying a backup. Without data: every chunk of every file is indexed and its pack exists.
 * With data: every chunk is read and checked against its id, each pack header against the pack's
 * name, and every file's bytes against its recorded SHA-256. Damage is reported per file.
 */
import { createHash } from 'node:crypto';
import { isMobrError } from '../errors.js';
import { toHex } from '../hash/hex.js';
import { packKey } from '../repo/keys.js';
import { chunkCount, chunkId, type FileEntry, type Manifest } from '../repo/manifest.js';
import type { Repository } from '../repo/repository.js';
import { equalBytes } from '../repo/sealed.js';
import { WorkerPool } from '../workers/pool.js';
import { readFileChunks } from './reader.js';

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
  const packState = new Map<string, Promise<string | undefined>>();
  const damagedPacks: VerifyReport['damagedPacks'] = [];
  const checkPack = (pack: string): Promise<string | undefined> => {
    let p = packState.get(pack);
    if (!p) {
      const whole = () =>
        repo.verifyPack(pack).then((r) => {
          if (!r.dataOk) damagedPacks.push({ pack, problem: `pack ${pack.slice(0, 16)}: blob bytes do not match the header's hash (damaged)` });
          return undefined;
        });
      p = (o.readData ? whole() : repo.store.has(packKey(pack)).then((ok) => (ok ? undefined : `pack ${pack.slice(0, 16)} is missing`))).catch((e) =>
        isMobrError(e) ? e.message : String(e),
      );
      packState.set(pack, p);
    }
    return p;
  };
  const ownPool = o.readData && o.pool === undefined;
  const pool = o.pool ?? (o.readData ? new WorkerPool(o.parallelism) : undefined);
  let bytes = 0;
  try {
    let next = 0;
    let reported = 0;
    const flush = () => {
      while (reported < files.length && files[reported] !== undefined && problems[reported] !== undefined) {
        o.onFile?.(files[reported], problems[reported] || undefined);
        reported++;
      }
    };
    const lane = async () => {
      while (next < files.length) {
        const i = next++;
        problems[i] = (await checkFile(repo, files[i], checkPack, o.readData ? pool : undefined, (n) => (bytes += n))) ?? '';
        flush();
      }
    };
    await Promise.all(Array.from({ length: Math.max(2, pool?.threads ?? 4) }, lane));
    flush();
  } finally {
    if (ownPool) await pool!.close();
  }
  const damaged = files.flatMap((f, i) => (problems[i] ? [{ path: f.path, problem: problems[i]! }] : []));
  return { ok: damaged.length === 0 && damagedPacks.length === 0, files: files.length, bytes, damaged, damagedPacks };
}

async function checkFile(
  repo: Repository,
  f: FileEntry,
  checkPack: (pack: string) => Promise<string | undefined>,
  pool: WorkerPool | undefined,
  onBytes: (n: number) => void,
): Promise<string | undefined> {
  const n = chunkCount(f);
  const packs = new Set<string>();
  for (let i = 0; i < n; i++) {
    const loc = repo.location(chunkId(f, i));
    if (!loc) return `chunk ${toHex(chunkId(f, i)).slice(0, 16)} is missing from the repository`;
    packs.add(loc.pack);
  }
  for (const p of packs) {
    const problem = await checkPack(p);
    if (problem) return problem;
  }
  if (!pool) return undefined;
  try {
    const sha = createHash('sha256');
    let size = 0;
    for await (const c of readFileChunks(repo, pool, f)) {
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
