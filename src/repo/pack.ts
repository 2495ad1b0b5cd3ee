/**
 * Pack files (spec/repository.md §5): many stored chunks ("blobs") back to back, then a header
 * describing them, then a fixed trailer:
 *   blob_0 … blob_{n-1} | header (msgpack) | header length (u32 LE) | magic "MOBRPK01"
 * header = { v: 1, blobs: [[id (bin 32), offset, storedLength, rawLength, codec], …],
 *            h: BLAKE3-256 of the concatenated BLAKE3-256 hashes of each blob's stored bytes }.
 * A pack's name is the hex BLAKE3-256 of its header bytes; a pack is sound when that holds, `h`
 * matches the blob bytes, and every blob decodes to bytes whose BLAKE3-256 is the blob's id.
 * (`h` covers bits a decoder ignores, e.g. in a zstd frame header: check finds every flip.)
 * An encrypted repository's packs (spec/encryption.md §3.2): each blob a box bound to its chunk
 * id, the header a box too (no `h`), the magic "MOBRPS01", and the pack's name the BLAKE3-256 of
 * all its bytes, so that anyone can check a pack's every byte without the key.
 */
import { decode, encode } from '@msgpack/msgpack';
import { MobrError } from '../errors.js';
import { blake3 } from '../hash/blake3.js';
import { toHex } from '../hash/hex.js';
import { HEADER_AAD, OpenError, type Crypt } from '../crypto/crypt.js';

export const PACK_MAGIC = Buffer.from('MOBRPK01', 'ascii');
const SEALED_PACK_MAGIC = Buffer.from('MOBRPS01', 'ascii');
export const TRAILER = 12; // u32 header length + 8-byte magic

export interface BlobEntry {
  id: Uint8Array; // BLAKE3-256 of the plain bytes
  offset: number;
  length: number; // stored length
  rawLength: number;
  codec: number;
}

interface BuiltPack {
  id: string; // hex
  bytes: Uint8Array;
  blobs: BlobEntry[];
}

/**
 * Accumulates stored blobs and builds an immutable pack. Each blob is copied once, as it is
 * added, into the pack's buffer (sized for a whole pack up front, grown if a pack runs over), so
 * the caller's chunk buffers are free at once and no second copy is made when the pack is cut.
 */
export class PackBuilder {
  private buf: Uint8Array;
  private blobs: BlobEntry[] = [];
  private storedHashes: Uint8Array[] = [];
  private size = 0;

  /**
   * `capacity`: the expected pack size (a repository's packSize plus a chunk or so). With `crypt`
   * (an encrypted repository), `add` takes blobs already sealed, as they lie in a pack.
   */
  constructor(
    private readonly capacity = 1024 * 1024,
    private readonly crypt?: Crypt,
  ) {
    this.buf = new Uint8Array(0); // allocated at the first add: an unused builder costs nothing
  }

  get length(): number {
    return this.size;
  }
  get count(): number {
    return this.blobs.length;
  }

  /** `storedHash`: BLAKE3 of `stored` if the caller has it (it is `id` when stored as is). */
  add(id: Uint8Array, stored: Uint8Array, rawLength: number, codec: number, storedHash?: Uint8Array): void {
    if (!this.crypt) this.storedHashes.push(storedHash ?? (codec === 0 ? id : blake3(stored)));
    this.reserve(stored.length);
    this.buf.set(stored, this.size);
    this.blobs.push({ id, offset: this.size, length: stored.length, rawLength, codec });
    this.size += stored.length;
  }

  build(): BuiltPack {
    const built = { ...sealPack(this.buf, this.size, this.blobs, this.storedHashes, this.crypt), blobs: this.blobs };
    this.buf = new Uint8Array(0);
    this.blobs = [];
    this.storedHashes = [];
    this.size = 0;
    return built;
  }

  private reserve(n: number): void {
    if (this.size + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.size + n, this.buf.length === 0 ? this.capacity : this.buf.length * 2));
    grown.set(this.buf.subarray(0, this.size));
    this.buf = grown;
  }
}

/**
 * Ends a pack whose blobs lie in buf[0, size): header and trailer are written after them, in
 * `buf` when they fit (the pack is then a view of it), else into a copy of the right size.
 * Returns the pack's name (the BLAKE3 of its header; with `crypt`, of the whole pack, whose
 * header is sealed and `storedHashes` unused) and its whole bytes.
 */
export function sealPack(buf: Uint8Array, size: number, blobs: BlobEntry[], storedHashes: Uint8Array[], crypt?: Crypt): { id: string; bytes: Uint8Array } {
  const header = crypt ? crypt.seal(HEADER_AAD, encodePackHeader(blobs)) : encodePackHeader(blobs, blake3(...storedHashes));
  const total = size + header.length + TRAILER;
  let bytes: Uint8Array;
  if (total <= buf.length) bytes = buf.subarray(0, total);
  else {
    bytes = new Uint8Array(total);
    bytes.set(buf.subarray(0, size));
  }
  bytes.set(header, size);
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(size + header.length, header.length, true);
  bytes.set(crypt ? SEALED_PACK_MAGIC : PACK_MAGIC, size + header.length + 4);
  return { id: toHex(blake3(crypt ? bytes : header)), bytes };
}

export function encodePackHeader(blobs: BlobEntry[], dataHash?: Uint8Array): Uint8Array {
  return encode({ v: 1, blobs: blobs.map((b) => [b.id, b.offset, b.length, b.rawLength, b.codec]), h: dataHash }, { ignoreUndefined: true });
}

/** Reads the header length from a pack's trailer (the last 12 bytes); `sealed`: an encrypted repository's pack. */
export function parseTrailer(trailer: Uint8Array, what: string, sealed = false): number {
  if (trailer.length !== TRAILER || !Buffer.from(trailer.subarray(4)).equals(sealed ? SEALED_PACK_MAGIC : PACK_MAGIC)) {
    const other = trailer.length === TRAILER && Buffer.from(trailer.subarray(4)).equals(sealed ? PACK_MAGIC : SEALED_PACK_MAGIC);
    const why = other ? (sealed ? 'a plain pack in an encrypted repository' : 'an encrypted pack in a plain repository') : 'bad pack trailer';
    throw new MobrError('CORRUPT_PACK', `${what}: ${why}`);
  }
  return new DataView(trailer.buffer, trailer.byteOffset, 4).getUint32(0, true);
}

/**
 * Decodes and checks a pack header against the pack's name and size. With `crypt` the header is
 * opened instead (an encrypted pack's name covers the whole pack: checkPack checks it).
 */
export function decodePackHeader(header: Uint8Array, packId: string, dataLength: number, what: string, crypt?: Crypt): BlobEntry[] {
  return decodePackHeaderFull(header, packId, dataLength, what, crypt).blobs;
}

/**
 * The same, with the header's hash of the blob bytes: every plain pack carries it (spec/repository.md
 * §5; the frozen fixture test/fixtures/repo-v1 too), so one without is malformed. An encrypted pack's
 * header has none: its name covers every byte.
 */
function decodePackHeaderFull(
  header: Uint8Array,
  packId: string,
  dataLength: number,
  what: string,
  crypt?: Crypt,
): { blobs: BlobEntry[]; dataHash?: Uint8Array } {
  const sealed = !!crypt;
  if (crypt) header = openHeader(crypt, header, what);
  else if (toHex(blake3(header)) !== packId) throw new MobrError('CORRUPT_PACK', `${what}: header does not match the pack's name (damaged)`);
  let body: unknown;
  try {
    body = decode(header);
  } catch (e) {
    throw new MobrError('CORRUPT_PACK', `${what}: header does not decode`, { cause: e });
  }
  const blobs = (body as { blobs?: unknown })?.blobs;
  const h = (body as { h?: unknown })?.h;
  if (!Array.isArray(blobs)) throw new MobrError('CORRUPT_PACK', `${what}: header malformed`);
  const hashOk = sealed ? h === undefined : h instanceof Uint8Array && h.length === 32;
  if (!hashOk) throw new MobrError('CORRUPT_PACK', `${what}: header malformed (${sealed ? 'an h in a sealed header' : 'no 32-byte h'})`);
  return {
    blobs: blobs.map((row) => {
      const e = toBlobEntry(row);
      if (!e || e.offset + e.length > dataLength) throw new MobrError('CORRUPT_PACK', `${what}: header entry malformed`);
      return e;
    }),
    dataHash: h as Uint8Array | undefined,
  };
}

/**
 * Checks a whole pack's bytes: trailer and header against the name (throws CORRUPT_PACK), and
 * the blob bytes against the header's `h` (`dataOk`: false when some byte differs; which blobs
 * are hit is for their ids to tell). `blobHashes[i]` is the BLAKE3 of blob i's stored bytes, for
 * callers that would hash them again (a blob stored as is: that is its chunk id).
 */
export function checkPack(bytes: Uint8Array, packId: string, what: string, crypt?: Crypt): { blobs: BlobEntry[]; dataOk: boolean; blobHashes: Uint8Array[] } {
  if (bytes.length < TRAILER) throw new MobrError('CORRUPT_PACK', `${what}: truncated`);
  const hlen = parseTrailer(bytes.subarray(bytes.length - TRAILER), what, !!crypt);
  if (hlen > bytes.length - TRAILER) throw new MobrError('CORRUPT_PACK', `${what}: bad header length`);
  const start = bytes.length - TRAILER - hlen;
  const { blobs, dataHash } = decodePackHeaderFull(bytes.subarray(start, start + hlen), packId, start, what, crypt);
  if (crypt) return { blobs: backToBack(blobs, start, what), dataOk: checkSealedPack(bytes, packId), blobHashes: [] };
  backToBack(blobs, start, what);
  const blobHashes = blobs.map((b) => blake3(bytes.subarray(b.offset, b.offset + b.length)));
  const dataOk = toHex(blake3(...blobHashes)) === toHex(dataHash!);
  return { blobs, dataOk, blobHashes };
}

function backToBack(blobs: BlobEntry[], start: number, what: string): BlobEntry[] {
  let end = 0;
  for (const b of blobs) {
    if (b.offset !== end) throw new MobrError('CORRUPT_PACK', `${what}: blobs do not lie back to back`);
    end += b.length;
  }
  if (end !== start) throw new MobrError('CORRUPT_PACK', `${what}: bytes outside every blob`);
  return blobs;
}

function openHeader(crypt: Crypt, header: Uint8Array, what: string): Uint8Array {
  try {
    return crypt.open(HEADER_AAD, header);
  } catch (e) {
    if (e instanceof OpenError) throw new MobrError('CORRUPT_PACK', `${what}: header ${e.message}`);
    throw e;
  }
}

/**
 * An encrypted repository's pack checked without its key (spec/encryption.md §6): its trailer,
 * and every byte against its name. True when sound.
 */
export function checkSealedPack(bytes: Uint8Array, packId: string): boolean {
  if (bytes.length < TRAILER || !Buffer.from(bytes.subarray(bytes.length - 8)).equals(SEALED_PACK_MAGIC)) return false;
  return toHex(blake3(bytes)) === packId;
}

export function toBlobEntry(row: unknown): BlobEntry | undefined {
  if (!Array.isArray(row) || row.length !== 5) return undefined;
  const [id, offset, length, rawLength, codec] = row;
  if (!(id instanceof Uint8Array) || id.length !== 32) return undefined;
  for (const n of [offset, length, rawLength, codec]) if (!Number.isSafeInteger(n) || n < 0) return undefined;
  return { id, offset, length, rawLength, codec };
}
