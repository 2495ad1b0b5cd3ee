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
}

export async function restoreBackup(repo: Repository, m: Manifest, dest: string, o: RestoreOptions = {}): Promise<RestoreProgress> {
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
  const ownPool = o.pool === undefined;
  const pool = o.pool ?? new WorkerPool(o.parallelism);
  try {
    for (const x of items) if (x.f.kind === 'dir') await fsp.mkdir(await safe.parentFor(`${x.rel}/_`).then((p) => path.dirname(p)), { recursive: true });
    let next = 0;
    let failed = false;
    const lane = async () => {
      while (next < files.length && !failed) {
        const x = files[next++];
        const target = await safe.parentFor(x.rel);
        o.onFile?.(x.f, target);
        await restoreFile(repo, pool, x.f, target, (n) => {
          progress.bytes += n;
          o.onProgress?.(progress);
        });
        progress.files++;
        o.onProgress?.(progress);
      }
    };
    // On a failure the other lanes finish (or clean up) the file they are on before we return,
    // so no `.mobr-partial-` file outlives the command.
    const lanes = await Promise.allSettled(Array.from({ length: Math.max(3, pool.threads) }, () => lane().catch((e) => {
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
    if (ownPool) await pool.close();
  }
  return progress;
}

async function restoreFile(repo: Repository, pool: WorkerPool, f: FileEntry, target: string, onBytes: (n: number) => void): Promise<void> {
  const tmp = `${target}.mobr-partial-${randomBytes(4).toString('hex')}`;
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(tmp, 'wx', 0o600);
    const sha = createHash('sha256');
    let size = 0;
    for await (const c of readFileChunks(repo, pool, f)) {
      sha.update(c);
      size += c.length;
      let off = 0;
      while (off < c.length) off += (await fh.write(c, off)).bytesWritten;
      onBytes(c.length);
    }
    if (size !== f.size || !equalBytes(new Uint8Array(sha.digest()), f.sha256!)) {
      throw new MobrError('CORRUPT', `restored bytes do not match the recorded SHA-256`);
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
