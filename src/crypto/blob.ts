/**
 * A stored blob back to its plain chunk, checked against its id (spec/repository.md §5,
 * spec/encryption.md §3.1): in an encrypted repository the box is opened first (bound to the
 * id), then the codec is undone and the keyed hash compared; in a plain one, BLAKE3.
 */
import { decodeChunk, CODEC_NONE } from '../chunk/codec.js';
import { blake3 } from '../hash/blake3.js';
import { equalBytes } from '../util/bytes.js';
import { blobAad, type Crypt } from './crypt.js';

/**
 * The chunk's plain bytes; throws an Error naming what is wrong ('hash mismatch', the box's or
 * the decoder's reason). `storedHash`: the BLAKE3 of `stored` when the caller has it (a plain
 * blob stored as is: that is its id, and it is not hashed again).
 */
export function openChunk(crypt: Crypt | undefined, id: Uint8Array, stored: Uint8Array, codec: number, rawLength: number, storedHash?: Uint8Array): Uint8Array {
  if (crypt) {
    const plain = decodeChunk(crypt.open(blobAad(id), stored), codec, rawLength);
    if (!equalBytes(crypt.chunkId(plain), id)) throw new Error('hash mismatch');
    return plain;
  }
  const plain = decodeChunk(stored, codec, rawLength);
  const h = storedHash !== undefined && codec === CODEC_NONE ? storedHash : blake3(plain);
  if (!equalBytes(h, id)) throw new Error('hash mismatch');
  return plain;
}

/** The id of a plain chunk: keyed in an encrypted repository, else BLAKE3-256. */
export const chunkIdOf = (crypt: Crypt | undefined, plain: Uint8Array): Uint8Array => (crypt ? crypt.chunkId(plain) : blake3(plain));
