/** Worker side of BlobSlices: each chunk decoded and checked against its id. */
import { blake3 } from '../hash/blake3.js';
import { CODEC_NONE, decodeChunk } from '../chunk/codec.js';
import type { BlobSlices } from './tasks.js';

/**
 * Chunk j's plain bytes, or why not ('hash mismatch', or the decoder's error). `storedHash`, when
 * the caller already has the BLAKE3 of the stored bytes, stands for hashing a chunk stored as is.
 */
export function verifiedBlob(t: BlobSlices, ids: Buffer, j: number, storedHash?: Uint8Array): Uint8Array | string {
  try {
    const d = decodeChunk(t.data.subarray(t.offsets[j], t.offsets[j] + t.lengths[j]), t.codecs[j], t.rawLengths[j]);
    const h = storedHash !== undefined && t.codecs[j] === CODEC_NONE ? storedHash : blake3(d);
    return ids.compare(h, 0, 32, j * 32, j * 32 + 32) === 0 ? d : 'hash mismatch';
  } catch (e) {
    return (e as Error).message;
  }
}

/** The ids as a Buffer (for compare), sharing memory with `t.ids`. */
export const idsOf = (t: BlobSlices): Buffer => Buffer.from(t.ids.buffer, t.ids.byteOffset, t.ids.byteLength);
