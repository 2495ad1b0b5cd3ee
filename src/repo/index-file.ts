/**
 * Index objects and the in-memory chunk index (spec/repository.md §6).
 * An index object `index/<hex BLAKE3 of the object>` is a sealed envelope (kind 'I') whose body is
 *   { packs: [{ id: bin 32, blobs: [[id, offset, storedLength, rawLength, codec], …] }, …] }
 * It is written only after every pack it names is stored. The union of all index objects maps
 * chunk id -> where its bytes lie; a chunk present in several packs may be read from any.
 */
import { MobrError } from '../errors.js';
import { fromHex, toHex } from '../hash/hex.js';
import { toBlobEntry, type BlobEntry } from './pack.js';
import { seal, unseal } from './sealed.js';

export interface ChunkLocation {
  pack: string; // hex pack id
  offset: number;
  length: number;
  rawLength: number;
  codec: number;
}

export interface PackRecord {
  id: string;
  blobs: BlobEntry[];
}

export const INDEX_VERSION = 1;

export function encodeIndex(packs: PackRecord[]): Uint8Array {
  return seal('I', INDEX_VERSION, {
    packs: packs.map((p) => ({ id: fromHex(p.id), blobs: p.blobs.map((b) => [b.id, b.offset, b.length, b.rawLength, b.codec]) })),
  });
}

export function decodeIndex(data: Uint8Array, what: string): PackRecord[] {
  const { body } = unseal('I', INDEX_VERSION, data, what);
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
 * index record without reading it: blobs back to back, the msgpack header, the trailer. `withoutHash`
 * is the size written by early writers whose headers carry no `h`.
 */
export function expectedPackSize(p: PackRecord): { size: number; withoutHash: number } {
  let data = 0;
  let header = 1 + 3 + 6 + (p.blobs.length < 16 ? 1 : p.blobs.length < 0x10000 ? 3 : 5); // map, "v": 1, "blobs", array
  for (const b of p.blobs) {
    data = Math.max(data, b.offset + b.length);
    header += 1 + 34 + uintBytes(b.offset) + uintBytes(b.length) + uintBytes(b.rawLength) + uintBytes(b.codec);
  }
  const withoutHash = data + header + 12;
  return { size: withoutHash + 36, withoutHash }; // "h": bin8 of 32 bytes
}

/** chunk id (hex) -> location; plus which packs each index object names. */
export class ChunkIndex {
  private readonly map = new Map<string, ChunkLocation>();
  /** Further copies of chunks held by several packs (rare: after a repair or a concurrent backup). */
  private readonly more = new Map<string, ChunkLocation[]>();
  readonly packs = new Map<string, number>(); // pack id -> stored bytes of its blobs
  /** pack id -> the file sizes its record allows (expectedPackSize). */
  readonly packSizes = new Map<string, { size: number; withoutHash: number }>();

  get size(): number {
    return this.map.size;
  }

  addPack(p: PackRecord): void {
    let bytes = 0;
    for (const b of p.blobs) {
      const key = toHex(b.id);
      const loc = { pack: p.id, offset: b.offset, length: b.length, rawLength: b.rawLength, codec: b.codec };
      const first = this.map.get(key);
      if (!first) this.map.set(key, loc);
      else if (first.pack !== p.id) this.more.set(key, [...(this.more.get(key) ?? []), loc]);
      bytes += b.length;
    }
    this.packs.set(p.id, bytes);
    this.packSizes.set(p.id, expectedPackSize(p));
  }

  /**
   * Forgets packs (missing or damaged): a chunk held by another pack is found there from now on;
   * the others are no longer known, so a writer stores them again.
   */
  dropPacks(ids: ReadonlySet<string>): void {
    for (const [k, loc] of this.map) {
      if (!ids.has(loc.pack)) continue;
      const other = this.more.get(k)?.find((l) => !ids.has(l.pack));
      if (other) this.map.set(k, other);
      else this.map.delete(k);
    }
    for (const [k, locs] of this.more) {
      const rest = locs.filter((l) => !ids.has(l.pack));
      if (rest.length === 0) this.more.delete(k);
      else if (rest.length < locs.length) this.more.set(k, rest);
    }
    for (const id of ids) {
      this.packs.delete(id);
      this.packSizes.delete(id);
    }
  }

  get(id: string): ChunkLocation | undefined {
    return this.map.get(id);
  }

  has(id: string): boolean {
    return this.map.has(id);
  }

  entries(): IterableIterator<[string, ChunkLocation]> {
    return this.map.entries();
  }
}
