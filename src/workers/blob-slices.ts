/** Worker side of BlobSlices: each chunk decoded and checked against its id. */
import { blake3 } from '../hash/blake3.js';
import { decodeChunk } from '../chunk/codec.js';
import type { BlobSlices } from './tasks.js';

/** Chunk j's plain bytes, or why not ('hash mismatch', or the decoder's error). */
export function verifiedBlob(t: BlobSlices, ids: Buffer, j: number): Uint8Array | string {
  try {
    const d = decodeChunk(t.data.subarray(t.offsets[j], t.offsets[j] + t.lengths[j]), t.codecs[j], t.rawLengths[j]);
    return ids.compare(blake3(d), 0, 32, j * 32, j * 32 + 32) === 0 ? d : 'hash mismatch';
  } catch (e) {
    return (e as Error).message;
  }
}

/** The ids as a Buffer (for compare), sharing memory with `t.ids`. */
export const idsOf = (t: BlobSlices): Buffer => Buffer.from(t.ids.buffer, t.ids.byteOffset, t.ids.byteLength);
