/**
 * Index objects and the in-memory chunk index (spec/repository.md §6).
 * An index object `index/<hex BLAKE3 of the object>` is a sealed envelope (kind 'I') whose body is
 *   { packs: [{ id: bin 32, blobs: [[id, offset, storedLength, rawLength, codec], …] }, …] }
 * It is written only after every pack it names is stored. The union of all index objects maps
 * chunk id -> where its bytes lie; a chunk present in several packs may be read from any.
 */
import { MobrError } from '../errors.js';
import { fromHex, toHex } from '../hash/hex.js';
import { blake3 } from '../hash/blake3.js';
import { toBlobEntry, type BlobEntry } from './pack.js';
import { seal, unseal, type Sealing } from './sealed.js';
import { BOX_OVERHEAD, type Crypt } from '../crypto/crypt.js';
import { ChunkTable, type ChunkLocation, type ChunkTableOptions, type PackTable } from './chunk-index.js';

export type { ChunkLocation } from './chunk-index.js';

export interface PackRecord {
  id: string;
  blobs: BlobEntry[];
}

const INDEX_VERSION = 1;

/** An index object's sealing in an encrypted repository (its name is its own hash: not bound). */
const indexSealing = (crypt: Crypt | undefined): Sealing | undefined => (crypt ? { crypt, name: 'index/' } : undefined);

export function encodeIndex(packs: PackRecord[], crypt?: Crypt): Uint8Array {
  return seal('I', INDEX_VERSION, {
    packs: packs.map((p) => ({ id: fromHex(p.id), blobs: p.blobs.map((b) => [b.id, b.offset, b.length, b.rawLength, b.codec]) })),
  }, indexSealing(crypt));
}

export function decodeIndex(data: Uint8Array, what: string, crypt?: Crypt): PackRecord[] {
  // an encrypted index object's name is outside its associated data: its bytes must hash to it (spec/encryption.md §3.3)
  if (crypt && what.startsWith('index/') && toHex(blake3(data)) !== what.slice('index/'.length)) {
    throw new MobrError('CORRUPT_INDEX', `${what}: does not match its name (damaged or moved)`);
  }
  const { body } = unseal('I', INDEX_VERSION, data, what, indexSealing(crypt));
  const packs = (body as { packs?: unknown })?.packs;
  if (!Array.isArray(packs)) throw new MobrError('CORRUPT_INDEX', `${what}: malformed`);
  return packs.map((p) => {
    const id = (p as { id?: unknown })?.id;
    const blobs = (p as { blobs?: unknown })?.blobs;
    if (!(id instanceof Uint8Array) || id.length !== 32 || !Array.isArray(blobs)) throw new MobrError('CORRUPT_INDEX', `${what}: malformed pack entry`);
    return {
      id: toHex(id),
      blobs: blobs.map((row) => {
        const e = toBlobEntry(row);
        if (!e) throw new MobrError('CORRUPT_INDEX', `${what}: malformed blob entry`);
        return e;
      }),
    };
  });
}

/** Bytes msgpack takes for a non-negative integer (as @msgpack/msgpack encodes it). */
const uintBytes = (n: number) => (n < 0x80 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < 0x1_0000_0000 ? 5 : 9);

/**
 * The size a pack file holding exactly these blobs has (spec/repository.md §5), computed from its
 * index record without reading it: blobs back to back, the msgpack header with its `h`, the
 * trailer. An encrypted pack's header has no `h` and is a box (`sealed`).
 */
export function expectedPackSize(p: PackRecord, sealed = false): number {
  let data = 0;
  let header = 1 + 3 + 6 + (p.blobs.length < 16 ? 1 : p.blobs.length < 0x10000 ? 3 : 5); // map, "v": 1, "blobs", array
  for (const b of p.blobs) {
    data = Math.max(data, b.offset + b.length);
    header += 1 + 34 + uintBytes(b.offset) + uintBytes(b.length) + uintBytes(b.rawLength) + uintBytes(b.codec);
  }
  const withoutHash = data + header + 12;
  return sealed ? withoutHash + BOX_OVERHEAD : withoutHash + 36; // "h": bin8 of 32 bytes
}

function* packIds(t: PackTable): IterableIterator<string> {
  for (const [id] of t.entries()) yield id;
}

/** chunk id (hex) -> location (a compact table, chunk-index.ts); plus the packs it knows. */
export class ChunkIndex extends ChunkTable {
  /** The packs an index object names (and not dropped). */
  readonly packs = {
    has: (id: string): boolean => this.packTable.has(id),
    keys: (): IterableIterator<string> => packIds(this.packTable),
  };
  /** pack id -> the file size its record gives (expectedPackSize). */
  readonly packSizes: Iterable<[string, number]> & { has(id: string): boolean } = {
    has: (id: string): boolean => this.packTable.has(id),
    [Symbol.iterator]: () => this.packTable.entries(),
  };

  /** `sealed`: the packs are an encrypted repository's (their expected sizes differ). */
  private readonly sealed: boolean;
  constructor(o: ChunkTableOptions & { sealed?: boolean } = {}) {
    super(o);
    this.sealed = !!o.sealed;
  }

  addPack(p: PackRecord): void {
    this.addBlobs(p.id, p.blobs, expectedPackSize(p, this.sealed));
  }
}
