/**
 * FsStore: a repository in a local folder. Keys map to paths below the root.
 * A put writes `<key>.tmp-<random>` in the same folder, fsyncs it, then renames it into place
 * (link(2) when ifNoneMatch, so an existing object is never replaced), then fsyncs the folder so
 * the new name survives a power loss too. Readers see whole objects only; a crash leaves at most
 * a stray temp file, which list() skips and sweepTemp() removes (gc calls it).
 */
import { promises as fsp, constants as fsc } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { deniedReason, MobrError, checkAborted, withContext } from '../errors.js';
import { assertSafeKey, type CallOptions, type GetOptions, type PutOptions, type RangeOptions, type Store, type StoreEntry } from './store.js';
import { bestEffort, ignoreMissing } from '../util/best-effort.js';

const TMP_MARK = '.tmp-';

/** A local folder's longest ranged read (Store.rangeSize): a few MiB a call cost no more to read than a whole pack. */
export const FS_RANGE_SIZE = 4 * 1024 * 1024;

export class FsStore implements Store {
  readonly root: string;
  readonly location: string;
  readonly rangeSize = FS_RANGE_SIZE;
  private readonly madeDirs = new Set<string>();

  constructor(root: string) {
    this.root = path.resolve(root);
    this.location = `filesystem ${this.root}`;
  }

  private file(key: string): string {
    assertSafeKey(key);
    return path.join(this.root, ...key.split('/'));
  }

  async get(key: string, o?: GetOptions): Promise<Uint8Array> {
    try {
      checkAborted(o?.signal);
      if (!o?.into) return await fsp.readFile(this.file(key), { signal: o?.signal });
      return await this.readInto(key, o.into, o.signal);
    } catch (e) {
      checkAborted(o?.signal);
      throw this.fail('read', key, e);
    }
  }

  /** The whole object, read into `into(size)` (its size from fstat) or a buffer of its own: one read call, unless the kernel returns less. */
  private async readInto(key: string, into: (size: number) => Uint8Array | undefined, signal?: AbortSignal): Promise<Uint8Array> {
    const fh = await fsp.open(this.file(key), 'r');
    try {
      const size = (await fh.stat()).size;
      const buf = into(size) ?? Buffer.allocUnsafe(size);
      return buf.subarray(0, await readFully(fh, buf, 0, signal));
    } finally {
      await fh.close();
    }
  }

  async getRange(key: string, offset: number, length: number, o?: RangeOptions): Promise<Uint8Array> {
    let fh: fsp.FileHandle | undefined;
    try {
      checkAborted(o?.signal);
      fh = await fsp.open(this.file(key), 'r');
      const buf = o?.into && o.into.length >= length ? o.into.subarray(0, length) : Buffer.allocUnsafe(length);
      const got = await readFully(fh, buf, offset, o?.signal);
      if (got < length) throw new MobrError('CORRUPT', `read ${key}: short object (wanted ${length} bytes at ${offset}, got ${got})`);
      return buf;
    } catch (e) {
      throw this.fail('read', key, e);
    } finally {
      await fh?.close();
    }
  }

  async put(key: string, data: Uint8Array, options: PutOptions = {}): Promise<void> {
    const dest = this.file(key);
    const dir = path.dirname(dest);
    const tmp = `${dest}${TMP_MARK}${randomBytes(6).toString('hex')}`;
    try {
      checkAborted(options.signal);
      if (!this.madeDirs.has(dir)) {
        await fsp.mkdir(dir, { recursive: true });
        this.madeDirs.add(dir);
      }
      const fh = await fsp.open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o644);
      try {
        await fh.writeFile(data, { signal: options.signal });
        await fh.sync();
      } finally {
        await fh.close();
      }
      checkAborted(options.signal); // never publish an object after the signal: the temp file goes
      if (options.ifNoneMatch) {
        try {
          await fsp.link(tmp, dest);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
            throw new MobrError('REPO_EXISTS', `write ${key}: already exists in ${this.location}`);
          }
          throw e;
        } finally {
          await fsp.rm(tmp, { force: true });
        }
      } else {
        await fsp.rename(tmp, dest).catch(async (e: NodeJS.ErrnoException) => {
          // an empty folder left where a deleted key's children were: the key is free, take it
          if (e.code !== 'EISDIR') throw e;
          await fsp.rmdir(dest);
          await fsp.rename(tmp, dest);
        });
      }
      await syncDir(dir);
    } catch (e) {
      await bestEffort(fsp.rm(tmp, { force: true }), `remove ${tmp}`);
      checkAborted(options.signal);
      throw this.fail('write', key, e);
    }
  }

  async has(key: string, o?: CallOptions): Promise<boolean> {
    return (await this.stat(key, o)) !== undefined;
  }

  async stat(key: string, o?: CallOptions): Promise<StoreEntry | undefined> {
    checkAborted(o?.signal);
    try {
      const st = await fsp.stat(this.file(key));
      return st.isFile() ? { key, size: st.size, mtimeMs: st.mtimeMs } : undefined;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
      throw this.fail('stat', key, e);
    }
  }

  async *list(prefix: string, o?: CallOptions): AsyncIterable<StoreEntry> {
    const trimmed = prefix.replace(/\/+$/, '');
    if (trimmed !== '') assertSafeKey(trimmed);
    const start = trimmed === '' ? this.root : path.join(this.root, ...trimmed.split('/'));
    yield* this.walk(start, trimmed, o?.signal);
  }

  private async *walk(dir: string, keyPrefix: string, signal: AbortSignal | undefined): AsyncIterable<StoreEntry> {
    checkAborted(signal);
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fsp.readdir(dir, { withFileTypes: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw this.fail('list', keyPrefix || '/', e);
    }
    for (const ent of entries) {
      const key = keyPrefix === '' ? ent.name : `${keyPrefix}/${ent.name}`;
      const full = path.join(dir, ent.name);
      if (ent.isDirectory()) {
        yield* this.walk(full, key, signal);
      } else if (ent.isFile() && !ent.name.includes(TMP_MARK)) {
        const st = await ignoreMissing(fsp.stat(full)).catch((e) => Promise.reject(this.fail('list', key, e))); // gone since readdir: not listed
        if (st) yield { key, size: st.size, mtimeMs: st.mtimeMs };
      }
    }
  }

  async sweepTemp(beforeMs: number, o?: CallOptions): Promise<number> {
    let removed = 0;
    const visit = async (dir: string): Promise<void> => {
      checkAborted(o?.signal);
      const entries = (await ignoreMissing(fsp.readdir(dir, { withFileTypes: true })).catch((e) => Promise.reject(this.fail('list', path.relative(this.root, dir) || '/', e)))) ?? [];
      for (const ent of entries) {
        const full = path.join(dir, ent.name);
        if (ent.isDirectory()) await visit(full);
        else if (ent.isFile() && ent.name.includes(TMP_MARK)) {
          const st = await ignoreMissing(fsp.stat(full)).catch((e) => Promise.reject(this.fail('sweep', ent.name, e))); // renamed into place or removed meanwhile
          if (st && st.mtimeMs < beforeMs) {
            await fsp.rm(full, { force: true });
            removed++;
          }
        }
      }
    };
    await visit(this.root);
    return removed;
  }

  async delete(key: string, o?: CallOptions): Promise<void> {
    checkAborted(o?.signal);
    try {
      await fsp.rm(this.file(key), { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOTDIR') return; // a parent is an object: the key is absent
      throw this.fail('delete', key, e);
    }
  }

  private fail(op: string, key: string, e: unknown): MobrError {
    if (e instanceof MobrError) return e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return new MobrError('NOT_FOUND', `${op} ${key}: not found in ${this.location}`);
    if (deniedReason(e)) return new MobrError('ACCESS_DENIED', `${op} ${key}: ${deniedReason(e)} in ${this.location}`);
    if (code === 'ENOSPC') return new MobrError('IO', `${op} ${key}: no space left on device (${this.location})`);
    return withContext(`${op} ${key} in ${this.location}`, e);
  }
}

/** fsync(2) on a folder, so a rename or link in it is durable. Not every filesystem allows it. */
async function syncDir(dir: string): Promise<void> {
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(dir, 'r');
    await fh.sync();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM' && code !== 'EBADF') throw e;
  } finally {
    await fh?.close();
  }
}

/** Reads `buf.length` bytes from `at` (fewer at the end of the file); how many it read. */
async function readFully(fh: fsp.FileHandle, buf: Uint8Array, at: number, signal?: AbortSignal): Promise<number> {
  let got = 0;
  while (got < buf.length) {
    checkAborted(signal);
    const { bytesRead } = await fh.read(buf, got, buf.length - got, at + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}
