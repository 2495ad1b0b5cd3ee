/**
 * A plain chunk to a blob in a pack (packBlob), and a stored blob back to its plain chunk, checked against its id (spec/repository.md §5,
 * spec/encryption.md §3.1): in an encrypted repository the box is opened first (bound to the
 * id), then the codec is undone and the keyed hash compared; in a plain one, BLAKE3.
 */
import { decodeChunk, encodeChunk, CODEC_NONE, type CompressionPolicy } from '../chunk/codec.js';
import { blake3 } from '../hash/blake3.js';
import { equalBytes } from '../util/bytes.js';
import { BOX_OVERHEAD, blobAad, type Crypt } from './crypt.js';

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

/** A chunk made ready for a pack: its length there (with the box where sealed), codec and stored hash. */
export interface PackBlob {
  length: number;
  codec: number;
  /** What the pack's index records as the blob's hash: the id where the stored bytes are the chunk or sealed, else BLAKE3 of the stored bytes. */
  storedHash: Uint8Array;
  /** Writes the blob at `at` of `pack` (sealed with the id as associated data in an encrypted repository). */
  writeInto(pack: Uint8Array, at: number): void;
}

/** openChunk's inverse: the chunk `plain` of id `id`, encoded by `policy` and, with `crypt`, sealed. */
export function packBlob(crypt: Crypt | undefined, id: Uint8Array, plain: Uint8Array, policy: CompressionPolicy): PackBlob {
  const e = encodeChunk(plain, policy);
  return {
    length: e.stored.length + (crypt ? BOX_OVERHEAD : 0),
    codec: e.codec,
    // an encrypted pack is named by the hash of all its bytes: no per-blob hash (spec/encryption.md §3.2)
    storedHash: crypt || e.stored === plain ? id : blake3(e.stored),
    writeInto: (pack, at) => (crypt ? crypt.sealInto(pack, at, blobAad(id), e.stored) : pack.set(e.stored, at)),
  };
}
