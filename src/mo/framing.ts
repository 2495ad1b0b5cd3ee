/**
 * MatrixOne's LocalFS on-disk framing (spec/matrixone.md, "On-disk framing";
 * pkg/fileservice/file_with_checksum.go): a file is stored as 2048-byte blocks, each a 4-byte
 * little-endian CRC-32C (Castagnoli) of the block's data followed by up to 2044 data bytes; the
 * last block may be short. The DISK backend frames every file of `mo-data/shared`, `mo-data/local`
 * and of a FILESYSTEM backup target (tae/, hakeeper/); DISK-V2 keeps raw files.
 * The block format and the CRC-32C loader are in frame-blocks.ts (no start-up work there, for the
 * worker threads); this module picks this process's CRC-32C once, at load.
 */
import { promises as fsp } from 'node:fs';
import { MobrError } from '../errors.js';
import { createCrc32c, FRAME_BLOCK, FRAME_PAYLOAD, frameWith, type Crc32c, type Crc32cBackend } from './frame-blocks.js';

const chosen = await createCrc32c();
/** Which CRC-32C this process uses. */
export const crc32cBackend: Crc32cBackend = chosen.backend;

/** CRC-32C (Castagnoli) of data; crc32c("123456789") = 0xe3069283. */
export const crc32c: Crc32c = chosen.crc32c;

/** Frames raw content the way LocalFS stores it. */
export const frame = (data: Uint8Array): Buffer => frameWith(crc32c, data);

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

/** Frames a stream of plain bytes as LocalFS stores it: whole blocks as they fill, the short one last. */
export async function* frameStream(plain: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  let carry = Buffer.alloc(0);
  for await (const c of plain) {
    const data = carry.length > 0 ? Buffer.concat([carry, c]) : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
    const whole = data.length - (data.length % FRAME_PAYLOAD);
    if (whole > 0) yield frame(data.subarray(0, whole));
    carry = Buffer.from(data.subarray(whole)); // a copy: the source may reuse its buffer
  }
  if (carry.length > 0) yield frame(carry);
}

/** The plain bytes of a LocalFS-framed stream; CORRUPT naming `what` and the block on a bad CRC. */
export async function* unframeStream(framed: AsyncIterable<Uint8Array>, what: string): AsyncIterable<Uint8Array> {
  let carry = Buffer.alloc(0);
  let block = 0;
  const blocks = (data: Buffer) => {
    try {
      return unframe(data, what);
    } catch (e) {
      throw new MobrError('CORRUPT', (e as Error).message.replace(/block (\d+)/, (_m, b) => `block ${Number(b) + block}`), { cause: e });
    }
  };
  for await (const c of framed) {
    const data = carry.length > 0 ? Buffer.concat([carry, c]) : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
    const whole = data.length - (data.length % FRAME_BLOCK);
    if (whole > 0) {
      yield blocks(data.subarray(0, whole));
      block += whole / FRAME_BLOCK;
    }
    carry = Buffer.from(data.subarray(whole));
  }
  if (carry.length > 0) yield blocks(carry);
}

/** Size on disk of `n` content bytes framed by LocalFS. */
export function framedSize(n: number): number {
  return n + 4 * Math.ceil(n / FRAME_PAYLOAD);
}

/** Content bytes of a LocalFS-framed file of `onDisk` bytes; undefined when no content frames to that size. */
export function unframedSize(onDisk: number): number | undefined {
  const n = onDisk - 4 * Math.ceil(onDisk / FRAME_BLOCK);
  return n >= 0 && framedSize(n) === onDisk ? n : undefined;
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
        throw new MobrError('CORRUPT', (e as Error).message.replace(/block (\d+)/, (_m, b) => `block ${Number(b) + pos / FRAME_BLOCK}`), { cause: e });
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
