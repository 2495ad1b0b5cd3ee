/**
 * MatrixOne's LocalFS framing (spec/matrixone.md, "On-disk framing";
 * pkg/fileservice/file_with_checksum.go), the part with no start-up work: the block format, the
 * CRC-32C loader, and framing with a given CRC-32C. Free of top-level await, so the restore's
 * worker threads can import it (piscina loads a worker with require() first, which a module
 * graph with top-level await refuses); framing.ts picks this process's CRC-32C once and builds
 * the rest on it.
 *
 * CRC-32C comes from `@node-rs/crc32` (a prebuilt N-API binding, ~10x a table loop in JS), or,
 * where no binary loads for the platform (or MOBR_CRC32C=wasm), from hash-wasm's CRC-32 with the
 * Castagnoli polynomial.
 */
import { loadBinding } from '../util/native.js';

export type Crc32cBackend = 'native' | 'wasm';
export type Crc32c = (data: Uint8Array) => number;
interface NativeCrc32 {
  crc32c(input: Uint8Array): number;
}

/** crc32c("123456789"), the check value of CRC-32C. */
const CHECK = 0xe3069283;
const CASTAGNOLI = 0x82f63b78;

/**
 * The CRC-32C function: the binding unless `prefer` is 'wasm' (default: MOBR_CRC32C) or `load`
 * finds none, or the one it finds fails the check value.
 */
export async function createCrc32c(
  o: { prefer?: Crc32cBackend; load?: () => NativeCrc32 | undefined } = {},
): Promise<{ backend: Crc32cBackend; crc32c: Crc32c }> {
  const prefer = o.prefer ?? (process.env.MOBR_CRC32C === 'wasm' ? 'wasm' : 'native');
  const n = prefer === 'native' ? (o.load ?? (() => loadBinding<NativeCrc32>('@node-rs/crc32', '@node-rs/crc32')))() : undefined;
  if (n) {
    const native: Crc32c = (data) => n.crc32c(Buffer.from(data.buffer, data.byteOffset, data.byteLength)) >>> 0;
    if (native(Buffer.from('123456789')) === CHECK) return { backend: 'native', crc32c: native };
  }
  const { createCRC32 } = await import('hash-wasm'); // loaded only where the fallback is used
  const h = await createCRC32(CASTAGNOLI);
  const wasm: Crc32c = (data) => Buffer.from(h.init().update(data).digest('binary')).readUInt32BE(0);
  return { backend: 'wasm', crc32c: wasm };
}

/** LocalFS blocks: crc32c LE (4) + up to 2044 bytes. */
export const FRAME_BLOCK = 2048;
export const FRAME_PAYLOAD = FRAME_BLOCK - 4;

/** Raw content framed the way LocalFS stores it, with `crc32c` for the blocks' checksums. */
export function frameWith(crc32c: Crc32c, data: Uint8Array): Buffer {
  const blocks = Math.ceil(data.length / FRAME_PAYLOAD);
  const out = Buffer.alloc(data.length + blocks * 4);
  for (let b = 0; b < blocks; b++) {
    const piece = data.subarray(b * FRAME_PAYLOAD, Math.min(data.length, (b + 1) * FRAME_PAYLOAD));
    out.writeUInt32LE(crc32c(piece), b * FRAME_BLOCK);
    out.set(piece, b * FRAME_BLOCK + 4);
  }
  return out;
}
