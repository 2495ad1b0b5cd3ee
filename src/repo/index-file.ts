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

/** chunk id (hex) -> location; plus which packs each index object names. */
export class ChunkIndex {
  private readonly map = new Map<string, ChunkLocation>();
  readonly packs = new Map<string, number>(); // pack id -> stored bytes of its blobs

  get size(): number {
    return this.map.size;
  }

  addPack(p: PackRecord): void {
    let bytes = 0;
    for (const b of p.blobs) {
      const key = toHex(b.id);
      if (!this.map.has(key)) this.map.set(key, { pack: p.id, offset: b.offset, length: b.length, rawLength: b.rawLength, codec: b.codec });
      bytes += b.length;
    }
    this.packs.set(p.id, bytes);
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
