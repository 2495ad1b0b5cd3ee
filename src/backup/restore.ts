/**
 * Restoring a manifest into a directory, byte-identical with modes and mtimes. Each file is
 * written to a temporary name beside its target and renamed into place only after every chunk
 * checked against its id and the whole file against its SHA-256: restore never leaves bad bytes
 * under a real name.
 */
import { promises as fsp, constants as fsc } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { MobrError, withContext } from '../errors.js';
import type { FileEntry, Manifest } from '../repo/manifest.js';
import type { Repository } from '../repo/repository.js';
import { WorkerPool } from '../workers/pool.js';
import { equalBytes } from '../repo/sealed.js';
import { SafeRoot, assertSafeRelPath } from './paths.js';
import { readFileChunks } from './reader.js';

export interface RestoreProgress {
  bytes: number;
  totalBytes: number;
  files: number;
  totalFiles: number;
}

export interface RestoreOptions {
  pool?: WorkerPool;
  parallelism?: number;
  /** Only entries for which this returns a path are restored, at that relative path. */
  mapPath?: (f: FileEntry) => string | undefined;
  onFile?: (f: FileEntry, target: string) => void;
  onProgress?: (p: RestoreProgress) => void;
  /** Where a file's plain bytes come from (default: its chunks in the repository, checked by id). */
  read?: (f: FileEntry) => AsyncIterable<Uint8Array>;
  /**
   * How a file is stored on disk when not as its plain bytes (e.g. MatrixOne's LocalFS framing):
   * maps the plain stream to the bytes written. Size and SHA-256 are checked on the plain bytes.
   */
  encode?: (f: FileEntry) => ((plain: AsyncIterable<Uint8Array>) => AsyncIterable<Uint8Array>) | undefined;
}

export async function restoreBackup(repo: Repository | undefined, m: Manifest, dest: string, o: RestoreOptions = {}): Promise<RestoreProgress> {
  const root = path.resolve(dest);
  const items = m.files.map((f) => ({ f, rel: o.mapPath ? o.mapPath(f) : f.path })).filter((x): x is { f: FileEntry; rel: string } => x.rel !== undefined);
  for (const x of items) assertSafeRelPath(x.rel);
  try {
    await fsp.mkdir(root, { recursive: true });
    await fsp.access(root, fsc.W_OK);
  } catch (e) {
    throw withContext(`restore to ${root}`, e);
  }
  const safe = new SafeRoot(root);
  const files = items.filter((x) => x.f.kind === 'file');
  const progress: RestoreProgress = { bytes: 0, totalBytes: files.reduce((s, x) => s + x.f.size, 0), files: 0, totalFiles: files.length };
  const read = o.read;
  if (!read && !repo) throw new MobrError('BAD_INPUT', 'restore needs a repository or a reader');
  const ownPool = o.pool === undefined && !read;
  const pool = o.pool ?? (read ? undefined : new WorkerPool(o.parallelism));
  const source = read ?? ((f: FileEntry) => readFileChunks(repo!, pool!, f));
  try {
    for (const x of items) if (x.f.kind === 'dir') await fsp.mkdir(await safe.parentFor(`${x.rel}/_`).then((p) => path.dirname(p)), { recursive: true });
    let next = 0;
    let failed = false;
    const lane = async () => {
      while (next < files.length && !failed) {
        const x = files[next++];
        const target = await safe.parentFor(x.rel);
        o.onFile?.(x.f, target);
        await restoreFile(source(x.f), o.encode?.(x.f), x.f, target, (n) => {
          progress.bytes += n;
          o.onProgress?.(progress);
        });
        progress.files++;
        o.onProgress?.(progress);
      }
    };
    // On a failure the other lanes finish (or clean up) the file they are on before we return,
    // so no `.mobr-partial-` file outlives the command.
    const lanes = await Promise.allSettled(Array.from({ length: Math.max(3, pool?.threads ?? o.parallelism ?? 1) }, () => lane().catch((e) => {
      failed = true;
      throw e;
    })));
    const firstFailure = lanes.find((l): l is PromiseRejectedResult => l.status === 'rejected');
    if (firstFailure) throw firstFailure.reason;
    for (const x of items) {
      if (x.f.kind !== 'symlink') continue;
      const target = await safe.parentFor(x.rel);
      // A folder already there (the manifest also has entries below this path) is never replaced.
      if ((await fsp.lstat(target).catch(() => undefined))?.isDirectory()) {
        throw new MobrError('UNSAFE_PATH', `restore ${x.rel}: the backup has both a symbolic link and a folder at this path; refusing`);
      }
      await fsp.rm(target, { force: true });
      await fsp.symlink(x.f.target!, target).catch((e) => Promise.reject(withContext(`restore ${x.rel}`, e)));
    }
    for (const x of [...items].reverse()) {
      if (x.f.kind !== 'dir') continue;
      const d = path.join(root, ...x.rel.split('/'));
      await fsp.chmod(d, x.f.mode);
      await fsp.utimes(d, x.f.mtimeMs / 1000, x.f.mtimeMs / 1000);
    }
  } finally {
    if (ownPool) await pool!.close();
  }
  return progress;
}

/** Counts and hashes the plain bytes as they pass (checked after the last one). */
async function* measured(plain: AsyncIterable<Uint8Array>, sum: { size: number; sha: ReturnType<typeof createHash> }, onBytes: (n: number) => void): AsyncIterable<Uint8Array> {
  for await (const c of plain) {
    sum.sha.update(c);
    sum.size += c.length;
    onBytes(c.length);
    yield c;
  }
}

async function restoreFile(plain: AsyncIterable<Uint8Array>, encode: ((p: AsyncIterable<Uint8Array>) => AsyncIterable<Uint8Array>) | undefined, f: FileEntry, target: string, onBytes: (n: number) => void): Promise<void> {
  const tmp = `${target}.mobr-partial-${randomBytes(4).toString('hex')}`;
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(tmp, 'wx', 0o600);
    const sum = { size: 0, sha: createHash('sha256') };
    const counted = measured(plain, sum, onBytes);
    for await (const c of encode ? encode(counted) : counted) {
      let off = 0;
      while (off < c.length) off += (await fh.write(c, off)).bytesWritten;
    }
    // a file the source gave no SHA-256 for (a native folder's checksum-less row) is checked by size
    if (sum.size !== f.size || (f.sha256 && !equalBytes(new Uint8Array(sum.sha.digest()), f.sha256))) {
      throw new MobrError('CORRUPT', sum.size !== f.size ? `restored ${sum.size} bytes, the backup records ${f.size}` : `restored bytes do not match the recorded SHA-256`);
    }
    await fh.chmod(f.mode);
    await fh.close();
    fh = undefined;
    await fsp.utimes(tmp, f.mtimeMs / 1000, f.mtimeMs / 1000);
    await fsp.rename(tmp, target);
  } catch (e) {
    await fh?.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    if (e instanceof MobrError) throw new MobrError(e.code, `restore ${f.path}: ${e.message}`, { cause: e });
    throw withContext(`restore ${f.path}`, e);
  }
}
