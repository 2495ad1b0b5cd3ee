/**
 * MatrixOne's local file service as the emulator's own code (pkg/fileservice/local_fs.go,
 * file_with_checksum.go, config.go; nothing imported from src/):
 *  - DISK (NewLocalFS): every file is stored in blocks of 2048 bytes, each a 4-byte
 *    little-endian CRC-32C of the block's content followed by up to 2044 content bytes; the last
 *    block may be short. Size on disk n + 4*ceil(n/2044). Reading a block whose CRC does not
 *    match fails with "checksum not match"; the content size of a file of s bytes on disk is
 *    s - 4*ceil(s/2048).
 *  - DISK-V2 (NewLocalFS2): raw bytes. At startup it refuses a data dir whose first regular file
 *    (lexical walk) is CRC-framed ("contains legacy DISK (CRC32-framed) data").
 * Writes are whole files (MatrixOne writes an object once); an existing file is an error
 * ("file … already exists").
 */
import { mkdir, readdir, readFile, rename, rm, stat, writeFile, open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { crc32c } from './crc32c.js';

export type Backend = 'DISK' | 'DISK-V2';

export const BLOCK_SIZE = 2048;
export const CHECKSUM_SIZE = 4;
export const BLOCK_CONTENT = BLOCK_SIZE - CHECKSUM_SIZE;

/** An error as MatrixOne reports it (moerr's text). */
export class MoFsError extends Error {
  constructor(readonly kind: 'checksum' | 'exists' | 'notfound' | 'legacy', message: string) {
    super(message);
  }
}

export function frame(data: Uint8Array): Buffer {
  const blocks = Math.ceil(data.length / BLOCK_CONTENT);
  const out = Buffer.alloc(data.length + CHECKSUM_SIZE * blocks);
  let o = 0;
  for (let i = 0; i < data.length; i += BLOCK_CONTENT) {
    const end = Math.min(i + BLOCK_CONTENT, data.length);
    out.writeUInt32LE(crc32c(data, i, end), o);
    out.set(data.subarray(i, end), o + CHECKSUM_SIZE);
    o += CHECKSUM_SIZE + end - i;
  }
  return out;
}

/** Content size LocalFS reports for a file of `onDisk` bytes (local_fs.go contentSize). */
export function contentSize(onDisk: number): number {
  return Math.max(0, onDisk - CHECKSUM_SIZE * Math.ceil(onDisk / BLOCK_SIZE));
}

/** Reads a DISK file's content, checking every block as FileWithChecksum.ReadAt does. */
export function unframe(buf: Uint8Array): Buffer {
  const size = contentSize(buf.length);
  const out = Buffer.alloc(size);
  let o = 0;
  for (let off = 0; off < buf.length && o < size; off += BLOCK_SIZE) {
    const end = Math.min(off + BLOCK_SIZE, buf.length);
    if (end - off < CHECKSUM_SIZE) break;
    const sum = Buffer.from(buf.buffer, buf.byteOffset + off, 4).readUInt32LE(0);
    if (crc32c(buf, off + CHECKSUM_SIZE, end) !== sum) throw new MoFsError('checksum', 'internal error: checksum not match');
    const n = Math.min(end - off - CHECKSUM_SIZE, size - o);
    out.set(buf.subarray(off + CHECKSUM_SIZE, off + CHECKSUM_SIZE + n), o);
    o += n;
  }
  return out;
}

/** True when the first block of `buf` carries a valid CRC-32C of its content (checkNotCRCFramed). */
export function firstBlockFramed(buf: Uint8Array): boolean {
  const blk = buf.subarray(0, BLOCK_SIZE);
  if (blk.length <= CHECKSUM_SIZE) return false;
  return crc32c(blk, CHECKSUM_SIZE) === Buffer.from(blk.buffer, blk.byteOffset, 4).readUInt32LE(0);
}

/** A LocalFS rooted at `root` with MatrixOne's DISK or DISK-V2 on-disk format. */
export class LocalFS {
  private constructor(readonly root: string, readonly backend: Backend) {}

  static async open(root: string, backend: Backend): Promise<LocalFS> {
    await mkdir(root, { recursive: true });
    const fs = new LocalFS(root, backend);
    if (backend === 'DISK-V2') await fs.checkNotCRCFramed();
    return fs;
  }

  private async checkNotCRCFramed(): Promise<void> {
    const first = await firstFile(this.root);
    if (!first) return;
    const fh = await open(first, 'r');
    try {
      const buf = Buffer.alloc(BLOCK_SIZE);
      const { bytesRead } = await fh.read(buf, 0, BLOCK_SIZE, 0);
      if (firstBlockFramed(buf.subarray(0, bytesRead))) {
        throw new MoFsError('legacy', `internal error: data-dir "${this.root}" contains legacy DISK (CRC32-framed) data but this file service is DISK-V2 (raw); use the DISK backend to read it`);
      }
    } finally {
      await fh.close();
    }
  }

  path(rel: string): string {
    return join(this.root, rel);
  }

  /** Writes a whole file (temp file + rename, as LocalFS does); refuses to overwrite. */
  async write(rel: string, data: Uint8Array): Promise<void> {
    const p = this.path(rel);
    if (await exists(p)) throw new MoFsError('exists', `file ${rel} already exists`);
    await mkdir(dirname(p), { recursive: true });
    const tmp = `${p}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    await writeFile(tmp, this.backend === 'DISK' ? frame(data) : data);
    await rename(tmp, p);
  }

  async read(rel: string): Promise<Buffer> {
    let raw: Buffer;
    try {
      raw = await readFile(this.path(rel));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new MoFsError('notfound', `file ${rel} is not found`);
      throw e;
    }
    return this.backend === 'DISK' ? unframe(raw) : raw;
  }

  /** Content size as StatFile reports it, or undefined when absent. */
  async size(rel: string): Promise<number | undefined> {
    try {
      const s = await stat(this.path(rel));
      return this.backend === 'DISK' ? contentSize(s.size) : s.size;
    } catch {
      return undefined;
    }
  }

  async exists(rel: string): Promise<boolean> {
    return exists(this.path(rel));
  }

  /** Names in a folder, sorted (fileservice.SortedList); [] when the folder is absent. */
  async list(dir = ''): Promise<string[]> {
    try {
      return (await readdir(this.path(dir), { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name).sort();
    } catch {
      return [];
    }
  }

  async remove(rel: string): Promise<void> {
    await rm(this.path(rel), { force: true });
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** The first regular file of a lexical walk (Go's filepath.WalkDir order). */
async function firstFile(dir: string): Promise<string | undefined> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return undefined;
  }
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      const f = await firstFile(p);
      if (f) return f;
    } else if (e.isFile()) return p;
  }
  return undefined;
}
