/**
 * Restoring a manifest into a directory, byte-identical with modes and mtimes (files, folders,
 * symbolic links). Each file is written to a short temporary name in its target's folder
 * (`.mobr-partial-<hex>`, so a name of 255 bytes still fits) and renamed into place only after
 * every chunk checked against its id and the whole file against its SHA-256: restore never
 * leaves bad bytes under a real name. A file that fails does not stop the others: every failure
 * is reported at the end (one error); only a full disk, an I/O error or an interruption stops
 * every lane at once.
 */
import { promises as fsp, constants as fsc } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { MobrError, checkAborted, withContext } from '../errors.js';
import { fileTable, type FileEntry, type Manifest } from '../repo/manifest.js';
import type { FileTable } from '../repo/file-table.js';
import type { Repository } from '../repo/repository.js';
import { jobPool, type WorkerPool } from '../workers/pool.js';
import type { WholeEncoding } from '../workers/tasks.js';
import { equalBytes } from '../util/bytes.js';
import { fsPath, showName } from '../util/names.js';
import { SafeRoot, assertSafeRelPath, makeDirs } from './paths.js';
import { readFileChunks } from './reader.js';
import { restoreByPack } from './restore-packs.js';
import { mapLimit, MIN_RESTORE_FILES } from '../util/concurrency.js';
import { bestEffort, ignoreMissing } from '../util/best-effort.js';
import { utimeSeconds } from '../workers/pack-writes.js';

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
  encode?: (f: FileEntry) => Encoding | undefined;
  /** Stops the restore (between files and chunks) with INTERRUPTED; no partial file is left. */
  signal?: AbortSignal;
  /**
   * mapPath, encode and onFile by row of the manifest's table (`fileTable(m)`), for a caller that
   * places a million files without an entry object a file (issue #22); given, those three are not asked.
   */
  byRow?: {
    path: (k: number) => string | undefined;
    encode?: (k: number) => Encoding | undefined;
    onFile?: (k: number, target: string) => void;
  };
}

/**
 * How a file's plain bytes become the bytes written. `whole`, where set, names the same encoding
 * as the restore's workers apply it to a file in one piece (WholeEncoding): a file of at most one
 * chunk is then restored by pack like any other, not streamed on its own (issue #22: MatrixOne's
 * DISK layout frames every file).
 */
export type Encoding = ((plain: AsyncIterable<Uint8Array>) => AsyncIterable<Uint8Array>) & { whole?: WholeEncoding };

/** Errors after which no other file can do better: stop every lane. */
const FATAL_ERRNO = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EROFS']);
const isFatal = (e: unknown): boolean => {
  if (e instanceof MobrError && e.code === 'INTERRUPTED') return true;
  for (let c: unknown = e; c; c = (c as { cause?: unknown }).cause) if (FATAL_ERRNO.has((c as NodeJS.ErrnoException).code ?? '')) return true;
  return false;
};

const secs = utimeSeconds;


/**
 * The entries are read from the manifest's FileTable (src/repo/file-table.ts) by number: an entry
 * object is made only for a caller's option (mapPath, onFile, read, encode) or a file streamed
 * one by one (issue #22: a million files).
 */
export async function restoreBackup(repo: Repository | undefined, m: Manifest, dest: string, o: RestoreOptions = {}): Promise<RestoreProgress> {
  const root = path.resolve(dest);
  const t = fileTable(m);
  const { entry, ks, rels, encodeOf, onFile } = chosen(m, t, o);
  try {
    await makeDirs(root);
    await fsp.access(root, fsc.W_OK);
  } catch (e) {
    throw withContext(`restore to ${root}`, e);
  }
  const safe = new SafeRoot(root);
  const files = ks.flatMap((k, i) => (t.kind(k) === 'file' ? [i] : [])); // places in ks
  const progress: RestoreProgress = { bytes: 0, totalBytes: files.reduce((s, i) => s + t.size(ks[i]), 0), files: 0, totalFiles: files.length };
  const read = o.read;
  if (!read && !repo) throw new MobrError('BAD_INPUT', 'restore needs a repository or a reader');
  const ownPool = o.pool === undefined && !read;
  const pool = o.pool ?? (read ? undefined : await jobPool(progress.totalBytes, o.parallelism));
  const source = read ?? ((f: FileEntry) => readFileChunks(repo!, pool!, f));
  try {
    const failures: Failures = [];
    const dirs = new Set<string>(); // folders that exist (their mode and mtime are set last)
    for (let i = 0; i < ks.length; i++) {
      if (t.kind(ks[i]) !== 'dir') continue;
      try {
        await safe.parentFor(`${rels[i]}/_`); // creates the folder and every folder above it
        dirs.add(rels[i]);
      } catch (e) {
        if (isFatal(e)) throw withContext(`restore ${showName(rels[i])}`, e);
        failures.push({ rel: rels[i], error: e });
      }
    }
    const onBytes = (n: number) => {
      progress.bytes += n;
      o.onProgress?.(progress);
    };
    const failed = (rel: string, e: unknown) => {
      if (isFatal(e)) throw e;
      failures.push({ rel, error: e });
    };
    // Files from this repository stored as their plain bytes, or of at most one chunk in an
    // encoding the workers know, are restored by pack; the others (a caller's reader, another
    // encoding) stream one by one.
    // (each row's encoding asked once: for a MatrixOne restore that places the row)
    const whole: (WholeEncoding | undefined)[] = new Array(t.length); // by row, for the pack writer
    const packable = (k: number): boolean => {
      const e = encodeOf(k);
      if (e === undefined) return true;
      if (e.whole === undefined || t.chunkCount(k) > 1) return false;
      whole[k] = e.whole;
      return true;
    };
    const { byPack, streamed } = split(files, (i) => !read && packable(ks[i]));
    if (byPack.length > 0) {
      await restoreByPack(repo!, pool!, t, byPack.map((i) => ks[i]), byPack.map((i) => rels[i]), {
        safe,
        encoding: (k) => whole[k],
        signal: o.signal,
        onFile,
        failed,
        progress: (bytes, n) => {
          progress.files += n;
          onBytes(bytes);
        },
      });
    }
    // On a fatal failure the files being restored finish (or clean up) before we return, so no
    // `.mobr-partial-` file outlives the command.
    await mapLimit(streamed, Math.max(MIN_RESTORE_FILES, pool?.threads ?? o.parallelism ?? 1), async (i) => {
      checkAborted(o.signal);
      const f = entry(ks[i]);
      try {
        const target = await safe.parentFor(rels[i]);
        onFile?.(ks[i], target);
        await restoreFile(source(f), encodeOf(ks[i]), f, target, o.signal, onBytes);
        progress.files++;
        o.onProgress?.(progress);
      } catch (e) {
        failed(rels[i], e);
      }
    });
    await linksAndFolders(safe, t, ks, rels, dirs, failures);
    if (failures.length > 0) throw failuresError(failures, ks.length);
  } finally {
    safe.close(); // every write through its folders has ended (mapLimit and restoreByPack wait for theirs)
    if (ownPool) await pool!.close();
  }
  return progress;
}

interface Chosen {
  entry: (k: number) => FileEntry;
  ks: number[];
  rels: string[];
  encodeOf: (k: number) => Encoding | undefined;
  onFile?: (k: number, target: string) => void;
}

/**
 * The entries to restore (rows of the table) and where (relative paths), and how a row is given
 * to the caller's callbacks: by row (`byRow`), else as the manifest's own entry (callers key maps by them).
 */
function chosen(m: Manifest, t: FileTable, o: RestoreOptions): Chosen {
  const rows = o.byRow;
  const entry = (!rows && (o.mapPath || o.onFile || o.encode)) || o.read ? (k: number) => m.files[k] : (k: number) => t.entry(k);
  const encodeOf = rows ? (k: number) => rows.encode?.(k) : (k: number) => o.encode?.(entry(k));
  const onFile = rows ? rows.onFile : o.onFile && ((k: number, target: string) => o.onFile!(entry(k), target));
  const ks: number[] = [];
  const rels: string[] = [];
  for (let k = 0; k < t.length; k++) {
    const rel = rows ? rows.path(k) : o.mapPath ? o.mapPath(entry(k)) : t.path(k);
    if (rel === undefined) continue;
    assertSafeRelPath(rel);
    ks.push(k);
    rels.push(rel);
  }
  return { entry, ks, rels, encodeOf, onFile };
}

/** Files restored by pack (`byPack` says so) and files streamed one by one, in order. */
function split(files: number[], byPack: (i: number) => boolean): { byPack: number[]; streamed: number[] } {
  const out = { byPack: [] as number[], streamed: [] as number[] };
  for (const i of files) (byPack(i) ? out.byPack : out.streamed).push(i);
  return out;
}

/** Last, the symbolic links, then each folder's mode and mtime (deepest first). */
type Failures = { rel: string; error: unknown }[];

async function linksAndFolders(safe: SafeRoot, t: FileTable, ks: number[], rels: string[], dirs: Set<string>, failures: Failures): Promise<void> {
  for (let i = 0; i < ks.length; i++) {
    if (t.kind(ks[i]) !== 'symlink') continue;
    try {
      await restoreLink(safe, rels[i], t.target(ks[i])!, t.mtimeMs(ks[i]));
    } catch (e) {
      if (isFatal(e)) throw e;
      failures.push({ rel: rels[i], error: e });
    }
  }
  for (let i = ks.length - 1; i >= 0; i--) {
    if (t.kind(ks[i]) !== 'dir' || !dirs.has(rels[i])) continue;
    const d = fsPath(await safe.folder(rels[i])); // the held folder, never what its name is now
    await fsp.chmod(d, t.mode(ks[i]));
    await fsp.utimes(d, secs(t.mtimeMs(ks[i])), secs(t.mtimeMs(ks[i])));
  }
}

/** One error naming every failed entry, in path order (the first one's code; at most 20 named). */
function failuresError(unordered: { rel: string; error: unknown }[], total: number): MobrError {
  const failures = [...unordered].sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  const first = failures[0].error;
  const code = first instanceof MobrError ? first.code : withContext('', first).code;
  const why = (e: unknown) => (e instanceof MobrError ? e.message : withContext('', e).message.replace(/^: /, ''));
  const named = failures.slice(0, 20).map((x) => `${showName(x.rel)} (${why(x.error).replace(/^restore \S+: /, '')})`);
  const more = failures.length > 20 ? `; and ${failures.length - 20} more` : '';
  return new MobrError(code, `restore: ${failures.length} of ${total} entries failed, the others were restored: ${named.join('; ')}${more}`, { cause: first });
}

/** A symlink entry, created after all files; never replaces a folder. */
async function restoreLink(safe: SafeRoot, rel: string, linkTarget: string, mtimeMs: number): Promise<void> {
  const target = await safe.parentFor(rel);
  const at = fsPath(target);
  // A folder already there (the manifest also has entries below this path) is never replaced.
  if ((await ignoreMissing(fsp.lstat(at)))?.isDirectory()) {
    throw new MobrError('UNSAFE_PATH', `restore ${showName(rel)}: the backup has both a symbolic link and a folder at this path; refusing`);
  }
  try {
    await fsp.rm(at, { force: true });
    await fsp.symlink(fsPath(linkTarget), at);
    await fsp.lutimes(at, secs(mtimeMs), secs(mtimeMs));
  } catch (e) {
    throw withContext(`restore ${showName(rel)}`, e);
  }
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

async function restoreFile(plain: AsyncIterable<Uint8Array>, encode: Encoding | undefined, f: FileEntry, target: string, signal: AbortSignal | undefined, onBytes: (n: number) => void): Promise<void> {
  // Short and in the same folder: `<name>.<suffix>` would overflow NAME_MAX for long names.
  const tmp = fsPath(path.join(path.dirname(target), `.mobr-partial-${randomBytes(4).toString('hex')}`));
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(tmp, 'wx', 0o600);
    const sum = { size: 0, sha: createHash('sha256') };
    const counted = measured(plain, sum, onBytes);
    for await (const c of encode ? encode(counted) : counted) {
      checkAborted(signal);
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
    await fsp.utimes(tmp, secs(f.mtimeMs), secs(f.mtimeMs));
    await fsp.rename(tmp, fsPath(target));
  } catch (e) {
    if (fh) await bestEffort(fh.close(), `close ${showName(String(tmp))}`);
    await bestEffort(fsp.rm(tmp, { force: true }), `remove ${showName(String(tmp))}`);
    if (e instanceof MobrError && e.code === 'INTERRUPTED') throw e;
    if (e instanceof MobrError) throw new MobrError(e.code, `restore ${showName(f.path)}: ${e.message}`, { cause: e });
    throw withContext(`restore ${showName(f.path)}`, e);
  }
}
