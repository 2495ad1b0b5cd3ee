/** Worker side of BlobSlices: each chunk opened (encrypted), decoded and checked against its id. */
import { openChunk } from '../crypto/blob.js';
import type { Crypt } from '../crypto/crypt.js';
import type { BlobSlices } from './tasks.js';

/**
 * Chunk j's plain bytes, or why not ('hash mismatch', or the decoder's error). `storedHash`, when
 * the caller already has the BLAKE3 of the stored bytes, stands for hashing a chunk stored as is.
 */
export function verifiedBlob(t: BlobSlices, ids: Buffer, j: number, storedHash: Uint8Array | undefined, crypt: Crypt | undefined): Uint8Array | string {
  try {
    const stored = t.data.subarray(t.offsets[j], t.offsets[j] + t.lengths[j]);
    return openChunk(crypt, ids.subarray(j * 32, j * 32 + 32), stored, t.codecs[j], t.rawLengths[j], storedHash);
  } catch (e) {
    return (e as Error).message;
  }
}

/** The ids as a Buffer (for compare), sharing memory with `t.ids`. */
export const idsOf = (t: BlobSlices): Buffer => Buffer.from(t.ids.buffer, t.ids.byteOffset, t.ids.byteLength);
