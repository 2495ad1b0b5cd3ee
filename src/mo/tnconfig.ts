/**
 * Where a restored MatrixOne keeps its files: the TN (DN) config's fileservices
 * (spec/matrixone.md, "Restore side"). cmd/mo-service/config.go: a fileservice without a
 * data-dir uses `<service data-dir>/<lowercase name>`, the service data-dir defaults to
 * `./mo-data`; relative paths are relative to MatrixOne's folder (the restore path).
 * Backend `DISK` (LocalFS) frames every file in CRC32C blocks; `DISK-V2` keeps raw files.
 *
 * The parser reads the few TOML forms these configs use (`key = "v"`, `[section]`,
 * `[[fileservice]]`, comments); anything else is skipped.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { MobrError, withContext } from '../errors.js';

export type Framing = 'raw' | 'crc';

export interface FileServiceDir {
  dir: string; // absolute
  backend: string;
  framing: Framing;
}

export interface TnStorage {
  shared: FileServiceDir;
  local: FileServiceDir;
}

interface Parsed {
  dataDir?: string;
  fileservices: Record<string, string>[];
}

export function parseTnToml(text: string): Parsed {
  const out: Parsed = { fileservices: [] };
  let section: Record<string, string> | 'top' | undefined = 'top';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/^\s+|\s+$/g, '');
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('[[')) {
      if (/^\[\[\s*fileservice\s*\]\]/.test(line)) out.fileservices.push((section = {}));
      else section = undefined;
      continue;
    }
    if (line.startsWith('[')) {
      section = undefined;
      continue;
    }
    const m = /^([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)')/.exec(line);
    if (!m || section === undefined) continue;
    const value = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!;
    if (section === 'top') {
      if (m[1] === 'data-dir') out.dataDir = value;
    } else section[m[1]!] = value;
  }
  return out;
}

/** Storage dirs of a MatrixOne at restorePath, from its TN config when given. */
export async function tnStorage(restorePath: string, dnConfigPath?: string): Promise<TnStorage> {
  const root = path.resolve(restorePath);
  let parsed: Parsed = { fileservices: [] };
  if (dnConfigPath !== undefined) {
    let text: string;
    try {
      text = await fsp.readFile(dnConfigPath, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new MobrError('NOT_FOUND', `--dn_config_path ${dnConfigPath} does not exist`);
      throw withContext(`read --dn_config_path ${dnConfigPath}`, e);
    }
    parsed = parseTnToml(text);
  }
  const dataDir = path.resolve(root, parsed.dataDir ?? './mo-data');
  const fs = (name: string): FileServiceDir => {
    const e = parsed.fileservices.find((f) => (f.name ?? '').toUpperCase() === name);
    const backend = (e?.backend ?? 'DISK-V2').toUpperCase();
    if (backend !== 'DISK' && backend !== 'DISK-V2' && backend !== 'MEM') {
      throw new MobrError('NOT_AVAILABLE', `the ${name} fileservice in ${dnConfigPath} uses backend ${backend}; restore writes local folders (DISK or DISK-V2)`);
    }
    const dir = e?.['data-dir'] ? path.resolve(root, e['data-dir']) : path.join(dataDir, name.toLowerCase());
    return { dir, backend, framing: backend === 'DISK' ? 'crc' : 'raw' };
  };
  return { shared: fs('SHARED'), local: fs('LOCAL') };
}

// ---------------------------------------------------------------- LocalFS framing

/** LocalFS blocks (pkg/fileservice/file_with_checksum.go): crc32c LE (4) + up to 2044 bytes. */
export const FRAME_BLOCK = 2048;
export const FRAME_PAYLOAD = FRAME_BLOCK - 4;

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

export function crc32c(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC32C_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Frames raw content the way LocalFS stores it. */
export function frame(data: Uint8Array): Buffer {
  const blocks = Math.ceil(data.length / FRAME_PAYLOAD);
  const out = Buffer.alloc(data.length + blocks * 4);
  for (let b = 0; b < blocks; b++) {
    const piece = data.subarray(b * FRAME_PAYLOAD, Math.min(data.length, (b + 1) * FRAME_PAYLOAD));
    out.writeUInt32LE(crc32c(piece), b * FRAME_BLOCK);
    out.set(piece, b * FRAME_BLOCK + 4);
  }
  return out;
}

/** The raw content of a LocalFS-framed file; CORRUPT naming `what` if a block's CRC fails. */
export function unframe(data: Uint8Array, what: string): Buffer {
  const blocks = Math.ceil(data.length / FRAME_BLOCK);
  const out = Buffer.alloc(Math.max(0, data.length - blocks * 4));
  for (let b = 0; b < blocks; b++) {
    const block = data.subarray(b * FRAME_BLOCK, Math.min(data.length, (b + 1) * FRAME_BLOCK));
    if (block.length < 4) throw new MobrError('CORRUPT', `${what}: truncated checksum block ${b}`);
    const piece = block.subarray(4);
    if (Buffer.from(block.buffer, block.byteOffset, 4).readUInt32LE(0) !== crc32c(piece)) throw new MobrError('CORRUPT', `${what}: checksum block ${b} does not match its CRC32C`);
    out.set(piece, b * FRAME_PAYLOAD);
  }
  return out;
}

/** Rewrites a restored raw file framed, in place (temp file + rename). */
export async function frameFileInPlace(file: string): Promise<void> {
  const raw = await fsp.readFile(file);
  const st = await fsp.stat(file);
  const tmp = `${file}.mobr-frame`;
  await fsp.writeFile(tmp, frame(raw), { mode: st.mode & 0o7777 });
  await fsp.utimes(tmp, st.atime, st.mtime);
  await fsp.rename(tmp, file);
}

/** Size on disk of `n` content bytes framed by LocalFS. */
export function framedSize(n: number): number {
  return n + 4 * Math.ceil(n / FRAME_PAYLOAD);
}

/** True when data starts with a LocalFS block whose CRC32C matches (2^-32 false positives). */
export function looksFramed(data: Uint8Array): boolean {
  if (data.length < 4) return false;
  const first = data.subarray(4, Math.min(data.length, FRAME_BLOCK));
  return Buffer.from(data.buffer, data.byteOffset, 4).readUInt32LE(0) === crc32c(first);
}

/** Streams a LocalFS-framed file into a raw one, checking every block's CRC32C. */
export async function unframeFile(src: string, dst: string, what: string): Promise<void> {
  const PIECE = FRAME_BLOCK * 512;
  const inp = await fsp.open(src, 'r');
  const out = await fsp.open(dst, 'wx', 0o600);
  try {
    const buf = Buffer.allocUnsafe(PIECE);
    let pos = 0;
    for (;;) {
      let got = 0;
      while (got < PIECE) {
        const { bytesRead } = await inp.read(buf, got, PIECE - got, pos + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      if (got === 0) break;
      let raw: Buffer;
      try {
        raw = unframe(buf.subarray(0, got), what);
      } catch (e) {
        throw new MobrError('CORRUPT', (e as Error).message.replace(/block (\d+)/, (_m, b) => `block ${Number(b) + pos / FRAME_BLOCK}`));
      }
      await out.write(raw);
      pos += got;
      if (got < PIECE) break;
    }
  } finally {
    await inp.close();
    await out.close();
  }
}
