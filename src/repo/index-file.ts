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
import { decode } from '@msgpack/msgpack';
import { openSealed, seal, undecodable, type Sealing } from './sealed.js';
import { MsgReader } from '../util/msgpack-rows.js';
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

/** An index object's body bytes, its envelope checked (an encrypted one must also hash to its name). */
function openIndex(data: Uint8Array, what: string, crypt: Crypt | undefined): Uint8Array {
  // an encrypted index object's name is outside its associated data: its bytes must hash to it (spec/encryption.md §3.3)
  if (crypt && what.startsWith('index/') && toHex(blake3(data)) !== what.slice('index/'.length)) {
    throw new MobrError('CORRUPT_INDEX', `${what}: does not match its name (damaged or moved)`);
  }
  return openSealed('I', INDEX_VERSION, data, what, indexSealing(crypt)).payload;
}

export function decodeIndex(data: Uint8Array, what: string, crypt?: Crypt): PackRecord[] {
  const payload = openIndex(data, what, crypt);
  let body: unknown;
  try {
    body = decode(payload);
  } catch (e) {
    throw undecodable('I', what, e);
  }
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

/**
 * Reads an index object straight into `into` (issue #22: no object per pack record or chunk, as
 * decodeIndex + addPack make). The body is read twice: first checked whole, each pack's expected
 * file size computed, then added; so a malformed object adds nothing, as decodeIndex's throw did.
 * It accepts what decodeIndex accepts and refuses the rest with CORRUPT_INDEX.
 */
export function loadIndexInto(into: ChunkIndex, data: Uint8Array, what: string, crypt?: Crypt): void {
  const payload = openIndex(data, what, crypt);
  const sizes: number[] = [];
  walkIndex(payload, what, into.sealed, sizes, undefined);
  walkIndex(payload, what, into.sealed, sizes, into);
}

/** One pass over an index body: without `into`, checks it and fills `sizes`; with it, adds every chunk. */
function walkIndex(payload: Uint8Array, what: string, sealed: boolean, sizes: number[], into: ChunkIndex | undefined): void {
  const r = new MsgReader(payload);
  try {
    const packsAt = fieldsAt(r, ['packs'])?.[0] ?? -1;
    if (!r.done) throw new RangeError('msgpack: extra bytes after the body');
    if (packsAt < 0) throw new MobrError('CORRUPT_INDEX', `${what}: malformed`);
    r.pos = packsAt;
    const n = r.head(0x90);
    if (n < 0) throw new MobrError('CORRUPT_INDEX', `${what}: malformed`);
    for (let i = 0; i < n; i++) walkPack(r, what, i, sealed, sizes, into);
  } catch (e) {
    if (e instanceof MobrError) throw e;
    throw undecodable('I', what, e);
  }
}

/**
 * Steps over the map here and returns where each of `names`' values lies (the last one, as a
 * decoded object keeps; -1 when absent), or undefined (stepped over) when the value is no map.
 */
function fieldsAt(r: MsgReader, names: readonly string[]): number[] | undefined {
  const n = r.head(0x80);
  if (n < 0) return void r.skip();
  const at = names.map(() => -1);
  for (let i = 0; i < n; i++) {
    const k = r.value();
    if ((typeof k !== 'string' && typeof k !== 'number') || k === '__proto__') throw new RangeError('msgpack: a map key that is not a string or number');
    const j = names.indexOf(k as string);
    // a value read later is only stepped over here; any other is decoded, so what decode() refuses
    // anywhere in the body is refused (a name given twice: the value it overrides is decoded)
    if (j < 0) {
      r.value();
      continue;
    }
    if (at[j] >= 0) {
      const here = r.pos;
      r.pos = at[j];
      r.value();
      r.pos = here;
    }
    at[j] = r.pos;
    r.skip();
  }
  return at;
}

function walkPack(r: MsgReader, what: string, i: number, sealed: boolean, sizes: number[], into: ChunkIndex | undefined): void {
  const entry = () => new MobrError('CORRUPT_INDEX', `${what}: malformed pack entry`);
  const [idField, blobsField] = fieldsAt(r, ['id', 'blobs']) ?? [-1, -1];
  const end = r.pos;
  if (idField < 0 || blobsField < 0) throw entry();
  r.pos = idField;
  const idAt = r.binAt(32);
  r.pos = blobsField;
  const n = r.head(0x90);
  if (idAt < 0 || n < 0) throw entry();
  const size = new PackSize(n, sealed);
  const no = into ? into.startPack(toHex(r.bytes.subarray(idAt, idAt + 32)), sizes[i]) : 0;
  for (let b = 0; b < n; b++) {
    const at = r.head(0x90) === 5 ? r.binAt(32) : -1;
    const offset = at < 0 ? -1 : count(r);
    const length = offset < 0 ? -1 : count(r);
    const rawLength = length < 0 ? -1 : count(r);
    const codec = rawLength < 0 ? -1 : count(r);
    if (codec < 0) throw new MobrError('CORRUPT_INDEX', `${what}: malformed blob entry`);
    if (into) into.addChunk(no, r.bytes, at, offset, length, rawLength, codec);
    else size.add(offset, length, rawLength, codec);
  }
  if (into) into.endPack();
  else sizes.push(size.bytes);
  r.pos = end;
}

/** A non-negative safe integer here (as toBlobEntry accepts), or -1 (read, but not one). */
function count(r: MsgReader): number {
  const v = r.value();
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : -1;
}

/** Bytes msgpack takes for a non-negative integer (as @msgpack/msgpack encodes it). */
const uintBytes = (n: number) => (n < 0x80 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < 0x1_0000_0000 ? 5 : 9);

/**
 * The size a pack file holding exactly these blobs has (spec/repository.md §5), computed from its
 * index record without reading it: blobs back to back, the msgpack header with its `h`, the
 * trailer. An encrypted pack's header has no `h` and is a box (`sealed`).
 */
export function expectedPackSize(p: PackRecord, sealed = false): number {
  const size = new PackSize(p.blobs.length, sealed);
  for (const b of p.blobs) size.add(b.offset, b.length, b.rawLength, b.codec);
  return size.bytes;
}

/** expectedPackSize a blob at a time. */
class PackSize {
  private data = 0;
  private header: number;
  constructor(blobs: number, private readonly sealed: boolean) {
    this.header = 1 + 3 + 6 + (blobs < 16 ? 1 : blobs < 0x10000 ? 3 : 5); // map, "v": 1, "blobs", array
  }

  add(offset: number, length: number, rawLength: number, codec: number): void {
    this.data = Math.max(this.data, offset + length);
    this.header += 1 + 34 + uintBytes(offset) + uintBytes(length) + uintBytes(rawLength) + uintBytes(codec);
  }

  get bytes(): number {
    const withoutHash = this.data + this.header + 12;
    return this.sealed ? withoutHash + BOX_OVERHEAD : withoutHash + 36; // "h": bin8 of 32 bytes
  }
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
  readonly sealed: boolean;
  constructor(o: ChunkTableOptions & { sealed?: boolean } = {}) {
    super(o);
    this.sealed = !!o.sealed;
  }

  addPack(p: PackRecord): void {
    this.addBlobs(p.id, p.blobs, expectedPackSize(p, this.sealed));
  }
}
