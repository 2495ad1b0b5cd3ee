/**
 * The in-memory chunk index, compact (spec/scale.md §3): chunk id -> where its bytes lie. Ids are
 * 32 bytes each in one typed array, sorted and bucketed by their first bits (ids are BLAKE3
 * hashes, so buckets fill evenly: a look-up scans a handful of ids); each location is three
 * packed 32-bit integers (pack number, offset, stored and plain length, codec); a directory of
 * bucket starts costs about one byte a chunk. 44–45 bytes per chunk in all, against ~184 for a
 * Map of hex strings to objects. Chunks added since the last merge wait in an append-only run
 * (looked up through a Map while it is small next to the sorted part) and are merged by a
 * counting sort on the bucket bits. A location that does not fit the packed form (over 4 M
 * packs, a pack over 32 MiB, a chunk over 16 MiB, another codec) is kept whole beside it.
 * Semantics are those of a Map that keeps the first location added for an id; further copies
 * in other packs are remembered for dropPacks.
 */
import { hexInto, toHex } from '../hash/hex.js';

/** Where a chunk lies: its pack (hex id), offset and stored length, its length before the codec, and the codec. */
export interface ChunkLocation {
  pack: string; // hex pack id
  offset: number;
  length: number;
  rawLength: number;
  codec: number;
}

const KEY = 32;
const W = 3; // u32 words per location
const WIDE = 0xffffffff;
const MAX_PACKS = 0x3fffff; // pack numbers below this fit the packed form (22 bits, one value kept for WIDE)

/** Whether a location's fields fit the packed form. */
function fits(packNo: number, offset: number, length: number, rawLength: number, codec: number): boolean {
  return packNo < MAX_PACKS && below(codec, 2) && below(offset, 2 ** 25) && below(length, 2 ** 24) && below(rawLength, 2 ** 24);
}

const below = (x: number, limit: number) => Number.isInteger(x) && x >= 0 && x < limit;

/** Writes the packed form of a location that fits as the three words at `dst[i * W]`. */
function writeLoc(dst: Uint32Array, i: number, packNo: number, offset: number, length: number, rawLength: number, codec: number): void {
  dst[i * W] = (packNo | (codec << 22) | ((offset >>> 16) << 23)) >>> 0;
  dst[i * W + 1] = ((offset & 0xffff) | ((length & 0xffff) << 16)) >>> 0;
  dst[i * W + 2] = ((length >>> 16) | (rawLength << 8)) >>> 0;
}

/** An append-only run of ids and packed locations (whole locations of WIDE entries by position). */
class Run {
  keys: Uint8Array;
  locs: Uint32Array;
  n = 0;
  readonly wide = new Map<number, ChunkLocation>();
  constructor(cap = 64) {
    this.keys = new Uint8Array(cap * KEY);
    this.locs = new Uint32Array(cap * W);
  }
  /** Appends id `ids[at .. at + 32]` lying in pack `no` (`wide`: its whole location, when that does not fit); returns its position. */
  push(ids: Uint8Array, at: number, no: number, offset: number, length: number, rawLength: number, codec: number, wide: ChunkLocation | undefined): number {
    if (this.n * KEY === this.keys.length) {
      const cap = Math.ceil(this.n * 1.5) + 64;
      const k = new Uint8Array(cap * KEY);
      k.set(this.keys);
      const l = new Uint32Array(cap * W);
      l.set(this.locs);
      this.keys = k;
      this.locs = l;
    }
    const i = this.n++;
    for (let k = 0; k < KEY; k++) this.keys[i * KEY + k] = ids[at + k]; // no view made per chunk
    if (!wide) writeLoc(this.locs, i, no, offset, length, rawLength, codec);
    else {
      this.locs[i * W] = WIDE;
      this.wide.set(i, wide);
    }
    return i;
  }
}


/**
 * Pack ids by pack number (32 bytes each; an id that is not 64 lower-case hex digits is kept as
 * its string), each pack's expected file size, and an open-addressing table from id to number.
 */
export class PackTable {
  private ids = new Uint8Array(64 * KEY);
  private sizes = new Float64Array(64); // -1: dropped
  private slots = new Uint32Array(128); // pack number + 1; 0: empty
  private readonly odd = new Map<number, string>();
  private readonly cached = new Array<string>(256).fill('');
  private readonly cachedNo = new Uint32Array(256);
  private readonly q = new Uint8Array(KEY);
  private n = 0;
  private live = 0;

  get size(): number {
    return this.live;
  }

  get bytes(): number {
    return this.ids.byteLength + this.sizes.byteLength + this.slots.byteLength;
  }

  /** The number of pack `id`, or -1. */
  no(id: string): number {
    const hex = hexInto(id, this.q);
    const mask = this.slots.length - 1;
    for (let s = hash(id, hex ? this.q : undefined) & mask; ; s = (s + 1) & mask) {
      const v = this.slots[s];
      if (v === 0) return -1;
      if (hex ? this.odd.get(v - 1) === undefined && equalAt(this.ids, (v - 1) * KEY, this.q) : this.odd.get(v - 1) === id) return v - 1;
    }
  }

  /** Records pack `id` (again) with its expected file size; returns its number. */
  add(id: string, size: number): number {
    let no = this.no(id);
    if (no < 0) {
      if ((this.n + 1) * 4 > this.slots.length * 3) this.grow();
      no = this.n++;
      if (no * KEY === this.ids.length) {
        const cap = Math.ceil(this.n * 1.25) + 64;
        const ids = new Uint8Array(cap * KEY);
        ids.set(this.ids);
        this.ids = ids;
        const sizes = new Float64Array(cap);
        sizes.set(this.sizes);
        this.sizes = sizes;
      }
      if (hexInto(id, this.q)) this.ids.set(this.q, no * KEY);
      else this.odd.set(no, id);
      this.place(no);
      this.sizes[no] = -1;
    }
    if (this.sizes[no] < 0) this.live++;
    this.sizes[no] = size;
    return no;
  }

  /** Pack `no`'s id (the last 256 made are remembered: look-ups tend to stay in a pack). */
  id(no: number): string {
    const c = no & 255;
    if (this.cachedNo[c] === no + 1) return this.cached[c];
    const id = this.odd.get(no) ?? toHex(this.ids.subarray(no * KEY, no * KEY + KEY));
    this.cachedNo[c] = no + 1;
    this.cached[c] = id;
    return id;
  }

  has(id: string): boolean {
    const no = this.no(id);
    return no >= 0 && this.sizes[no] >= 0;
  }

  drop(id: string): void {
    const no = this.no(id);
    if (no < 0 || this.sizes[no] < 0) return;
    this.sizes[no] = -1;
    this.live--;
  }

  /** Each recorded pack and the file size its record gives. */
  *entries(): IterableIterator<[string, number]> {
    for (let no = 0; no < this.n; no++) if (this.sizes[no] >= 0) yield [this.id(no), this.sizes[no]];
  }

  private place(no: number): void {
    const id = this.odd.get(no);
    const mask = this.slots.length - 1;
    let s = hash(id ?? '', id === undefined ? this.ids.subarray(no * KEY, no * KEY + KEY) : undefined) & mask;
    while (this.slots[s] !== 0) s = (s + 1) & mask;
    this.slots[s] = no + 1;
  }

  private grow(): void {
    this.slots = new Uint32Array(this.slots.length * 2);
    for (let no = 0; no < this.n; no++) this.place(no);
  }
}

/** FNV-1a of the id's bytes (or of the string, for an id that is not hex). */
function hash(s: string, bytes: Uint8Array | undefined): number {
  let h = 2166136261;
  if (bytes) for (let i = 0; i < KEY; i++) h = Math.imul(h ^ bytes[i], 16777619);
  else for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

function equalAt(a: Uint8Array, at: number, b: Uint8Array): boolean {
  for (let i = 0; i < KEY; i++) if (a[at + i] !== b[i]) return false;
  return true;
}

export interface ChunkTableOptions {
  /** Pending chunks are merged once they exceed max(this, sorted/16) (tests make it small). */
  minPending?: number;
}

/** The chunks of the index (ChunkIndex in index-file.ts adds what it knows per pack). */
export class ChunkTable {
  // the sorted part: n ids, their packed locations, bucket starts by the first `bits` bits of word 0
  private keys = new Uint8Array(0);
  private k32 = new Uint32Array(0);
  private locs = new Uint32Array(0);
  private n = 0;
  private bits = 0;
  private dir = new Uint32Array(2);
  /** Whole locations of WIDE entries of the sorted part, by hex id. */
  private wide = new Map<string, ChunkLocation>();
  private pend = new Run();
  /**
   * When set, pending is free of duplicates and this finds each of its ids (hex -> position), and
   * every chunk added is looked up first; unset (no look-up since the last merge), chunks are
   * appended as they come and sorted out when next looked up or merged.
   */
  private pendMap: Map<string, number> | undefined;
  /** Further copies of chunks held by several packs (rare: after a repair or a concurrent backup). */
  private readonly more = new Map<string, ChunkLocation[]>();
  /** The packs chunks lie in, by number. */
  protected readonly packTable = new PackTable();
  private readonly minPending: number;
  private readonly q = new Uint8Array(KEY);
  private readonly q32 = new Uint32Array(this.q.buffer);

  constructor(o: ChunkTableOptions = {}) {
    this.minPending = o.minPending ?? 65536;
  }

  get size(): number {
    this.prepare();
    return this.n + this.pend.n;
  }

  /** Bytes of the typed arrays holding the chunks (for measurement). */
  get arrayBytes(): number {
    return this.keys.byteLength + this.locs.byteLength + this.dir.byteLength + this.pend.keys.byteLength + this.pend.locs.byteLength + this.packTable.bytes;
  }

  /** Adds the chunks of a pack record (blobs: id, offset, length, rawLength, codec). */
  addBlobs(pack: string, blobs: readonly { id: Uint8Array; offset: number; length: number; rawLength: number; codec: number }[], packSize: number): void {
    const no = this.startPack(pack, packSize);
    for (const b of blobs) this.addChunk(no, b.id, 0, b.offset, b.length, b.rawLength, b.codec);
    this.endPack();
  }

  /**
   * The same a chunk at a time, with no object per chunk (the index decoder fills the table from
   * the object's bytes, index-file.ts): startPack, then addChunk for each of its chunks, then endPack.
   */
  startPack(pack: string, packSize: number): number {
    return this.packTable.add(pack, packSize);
  }

  /** Adds chunk `ids[at .. at + 32]` lying in pack number `no` (from startPack). */
  addChunk(no: number, ids: Uint8Array, at: number, offset: number, length: number, rawLength: number, codec: number): void {
    const fit = fits(no, offset, length, rawLength, codec);
    if (fit && !this.pendMap) return void this.pend.push(ids, at, no, offset, length, rawLength, codec, undefined);
    const loc: ChunkLocation = { pack: this.packTable.id(no), offset, length, rawLength, codec };
    const id = ids.subarray(at, at + KEY);
    if (this.pendMap) this.addLooked(id, no, loc);
    else this.pend.push(id, 0, no, offset, length, rawLength, codec, loc);
  }

  endPack(): void {
    // looked-up pending chunks cost a Map entry each: merged sooner than appended ones
    if (this.pend.n > Math.max(this.minPending, this.n / (this.pendMap ? 16 : 4))) this.settle();
  }

  get(id: string): ChunkLocation | undefined {
    this.prepare();
    if (!hexInto(id, this.q)) return undefined;
    const i = this.findSorted();
    if (i >= 0) return this.sortedLoc(i, id);
    const j = this.pend.n === 0 ? undefined : this.pendMap!.get(id);
    return j === undefined ? undefined : this.pendLoc(j);
  }

  /** The same for the id's bytes (no hex string made unless chunks are pending). */
  getId(id: Uint8Array): ChunkLocation | undefined {
    this.prepare();
    this.q.set(id);
    const i = this.findSorted();
    if (i >= 0) return this.sortedLoc(i);
    if (this.pend.n === 0) return undefined;
    const j = this.pendMap!.get(toHex(id));
    return j === undefined ? undefined : this.pendLoc(j);
  }

  has(id: string): boolean {
    this.prepare();
    if (!hexInto(id, this.q)) return false;
    return this.findSorted() >= 0 || (this.pend.n > 0 && this.pendMap!.has(id));
  }

  *entries(): IterableIterator<[string, ChunkLocation]> {
    this.settle();
    for (let i = 0; i < this.n; i++) {
      const hex = toHex(this.keys.subarray(i * KEY, i * KEY + KEY));
      yield [hex, this.sortedLoc(i, hex)];
    }
  }

  /**
   * Forgets packs (missing or damaged): a chunk held by another pack is found there from now on;
   * the others are no longer known, so a writer stores them again.
   */
  dropPacks(ids: ReadonlySet<string>): void {
    this.settle();
    let w = 0;
    const wide = new Map<string, ChunkLocation>();
    for (let r = 0; r < this.n; r++) {
      const hex = toHex(this.keys.subarray(r * KEY, r * KEY + KEY));
      let loc = this.sortedLoc(r, hex);
      if (ids.has(loc.pack)) {
        const other = this.more.get(hex)?.find((l) => !ids.has(l.pack));
        if (!other) continue;
        loc = other;
      }
      this.keys.copyWithin(w * KEY, r * KEY, r * KEY + KEY);
      const no = this.packTable.no(loc.pack);
      if (fits(no, loc.offset, loc.length, loc.rawLength, loc.codec)) writeLoc(this.locs, w, no, loc.offset, loc.length, loc.rawLength, loc.codec);
      else {
        this.locs[w * W] = WIDE;
        wide.set(hex, loc);
      }
      w++;
    }
    this.n = w;
    this.wide = wide;
    this.buildDir();
    for (const [k, locs] of this.more) {
      const rest = locs.filter((l) => !ids.has(l.pack));
      if (rest.length === 0) this.more.delete(k);
      else if (rest.length < locs.length) this.more.set(k, rest);
    }
    for (const id of ids) this.packTable.drop(id);
  }

  /** Merges every pending chunk into the sorted part (after loading an index: nothing left in a Map). */
  compact(): void {
    this.settle();
  }

  /** Makes pending chunks findable: merged when many, else looked up through a Map. */
  private prepare(): void {
    if (this.pendMap || this.pend.n === 0) return;
    if (this.pend.n > Math.max(this.minPending, this.n / 16)) return this.settle();
    const raw = this.pend;
    this.pend = new Run(raw.n);
    this.pendMap = new Map();
    for (let i = 0; i < raw.n; i++) {
      const loc = raw.wide.get(i) ?? this.unpack(raw.locs, i);
      this.addLooked(raw.keys.subarray(i * KEY, i * KEY + KEY), this.packTable.no(loc.pack), loc);
    }
  }

  /** Adds one chunk unless known (then a copy in another pack is remembered). */
  private addLooked(id: Uint8Array, no: number, loc: ChunkLocation): void {
    this.q.set(id);
    const hex = toHex(id);
    const i = this.findSorted();
    const j = i >= 0 ? undefined : this.pendMap!.get(hex);
    const first = i >= 0 ? this.sortedLoc(i, hex) : j !== undefined ? this.pendLoc(j) : undefined;
    if (first) return this.another(hex, first, loc);
    const wide = fits(no, loc.offset, loc.length, loc.rawLength, loc.codec) ? undefined : loc;
    this.pendMap!.set(hex, this.pend.push(id, 0, no, loc.offset, loc.length, loc.rawLength, loc.codec, wide));
  }

  private another(hex: string, first: ChunkLocation, loc: ChunkLocation): void {
    if (first.pack !== loc.pack) this.more.set(hex, [...(this.more.get(hex) ?? []), loc]);
  }

  /** Position in the sorted part of the id in `q`, or -1. */
  private findSorted(): number {
    const q = this.q32;
    const b = this.bits === 0 ? 0 : q[0] >>> (32 - this.bits);
    const k = this.k32;
    for (let i = this.dir[b], end = this.dir[b + 1]; i < end; i++) {
      const c = compareAt(k, i, q, 0);
      if (c === 0) return i;
      if (c > 0) return -1;
    }
    return -1;
  }

  private sortedLoc(i: number, hex?: string): ChunkLocation {
    if (this.locs[i * W] !== WIDE) return this.unpack(this.locs, i);
    return this.wide.get(hex ?? toHex(this.keys.subarray(i * KEY, i * KEY + KEY)))!;
  }

  private pendLoc(j: number): ChunkLocation {
    return this.pend.wide.get(j) ?? this.unpack(this.pend.locs, j);
  }

  private unpack(locs: Uint32Array, i: number): ChunkLocation {
    const w0 = locs[i * W];
    const w1 = locs[i * W + 1];
    const w2 = locs[i * W + 2];
    return { pack: this.packTable.id(w0 & MAX_PACKS), offset: ((w0 >>> 23) << 16) | (w1 & 0xffff), length: (w1 >>> 16) | ((w2 & 0xff) << 16), rawLength: w2 >>> 8, codec: (w0 >>> 22) & 1 };
  }


  /** Merges pending chunks into the sorted part: counting sort by bucket, then each bucket sorted; duplicates dropped. */
  private settle(): void {
    if (this.pend.n === 0) return;
    const total = this.n + this.pend.n;
    const bits = total < 16 ? 0 : Math.min(24, Math.floor(Math.log2(total / 8))); // 8–16 ids a bucket
    const buckets = 2 ** bits;
    const bucketOf = (k: Uint32Array, i: number) => (bits === 0 ? 0 : k[i * 8] >>> (32 - bits));
    const p32 = new Uint32Array(this.pend.keys.buffer, 0, this.pend.n * 8);
    const start = new Uint32Array(buckets + 1);
    for (let i = 0; i < this.n; i++) start[bucketOf(this.k32, i) + 1]++;
    for (let i = 0; i < this.pend.n; i++) start[bucketOf(p32, i) + 1]++;
    for (let b = 0; b < buckets; b++) start[b + 1] += start[b];
    const next = start.slice(0, buckets);
    const keys = new Uint8Array(total * KEY);
    const locs = new Uint32Array(total * W);
    const wideAt = new Map<number, ChunkLocation>();
    const put = (srcKeys: Uint8Array, srcLocs: Uint32Array, i: number, b: number, wide: () => ChunkLocation | undefined) => {
      const at = next[b]++;
      keys.set(srcKeys.subarray(i * KEY, i * KEY + KEY), at * KEY);
      locs.set(srcLocs.subarray(i * W, i * W + W), at * W);
      if (srcLocs[i * W] === WIDE) wideAt.set(at, wide()!);
    };
    // the sorted part first, then pending in the order added: the first location of an id stays first
    for (let i = 0; i < this.n; i++) put(this.keys, this.locs, i, bucketOf(this.k32, i), () => this.sortedLoc(i));
    for (let i = 0; i < this.pend.n; i++) put(this.pend.keys, this.pend.locs, i, bucketOf(p32, i), () => this.pend.wide.get(i));
    const k32 = new Uint32Array(keys.buffer);
    for (let b = 0; b < buckets; b++) sortBucket(keys, k32, locs, start[b], start[b + 1], wideAt);
    this.keys = keys;
    this.k32 = k32;
    this.locs = locs;
    this.bits = bits;
    this.pend = new Run();
    this.pendMap = undefined;
    this.dedup(total, wideAt);
  }

  /** Drops repeated ids (adjacent after the sort; the first added stays) and rebuilds the directory. */
  private dedup(total: number, wideAt: Map<number, ChunkLocation>): void {
    const { keys, k32, locs } = this;
    const wide = new Map<string, ChunkLocation>();
    const locAt = (i: number) => wideAt.get(i) ?? this.unpack(locs, i);
    let w = 0;
    for (let r = 0; r < total; r++) {
      // positions below r are done; the last kept id is at w - 1 (moved there if need be)
      if (w > 0 && compareAt(k32, w - 1, k32, r * 8) === 0) {
        this.another(toHex(keys.subarray(r * KEY, r * KEY + KEY)), locAt(w - 1), locAt(r));
        continue;
      }
      const wl = wideAt.get(r);
      if (wl) wide.set(toHex(keys.subarray(r * KEY, r * KEY + KEY)), wl);
      if (r !== w) {
        keys.copyWithin(w * KEY, r * KEY, r * KEY + KEY);
        locs.copyWithin(w * W, r * W, r * W + W);
        if (wl) wideAt.set(w, wl);
        else wideAt.delete(w);
      }
      w++;
    }
    this.n = w;
    this.wide = wide;
    this.buildDir();
  }

  private buildDir(): void {
    const buckets = 2 ** this.bits;
    const dir = new Uint32Array(buckets + 1);
    for (let i = 0; i < this.n; i++) dir[(this.bits === 0 ? 0 : this.k32[i * 8] >>> (32 - this.bits)) + 1]++;
    for (let b = 0; b < buckets; b++) dir[b + 1] += dir[b];
    this.dir = dir;
  }
}

/** Compares id i of `k` (8 words each) with the 8 words of `q` from word `qAt`, as unsigned words. */
function compareAt(k: Uint32Array, i: number, q: Uint32Array, qAt: number): number {
  for (let w = 0; w < 8; w++) {
    const a = k[i * 8 + w];
    const b = q[qAt + w];
    if (a !== b) return a < b ? -1 : 1;
  }
  return 0;
}

/** Stable insertion sort of one bucket's ids (with their locations, and WIDE ones' positions). */
function sortBucket(keys: Uint8Array, k32: Uint32Array, locs: Uint32Array, from: number, to: number, wideAt: Map<number, ChunkLocation>): void {
  if (to - from < 2) return;
  const key = new Uint8Array(KEY);
  const key32 = new Uint32Array(key.buffer);
  const loc = new Uint32Array(W);
  for (let i = from + 1; i < to; i++) {
    if (compareAt(k32, i - 1, k32, i * 8) <= 0) continue;
    key.set(keys.subarray(i * KEY, i * KEY + KEY));
    loc.set(locs.subarray(i * W, i * W + W));
    const wide = wideAt.get(i);
    let j = i;
    while (j > from && compareAt(k32, j - 1, key32, 0) > 0) {
      keys.copyWithin(j * KEY, (j - 1) * KEY, j * KEY);
      locs.copyWithin(j * W, (j - 1) * W, j * W);
      const wj = wideAt.get(j - 1);
      if (wj) wideAt.set(j, wj);
      else wideAt.delete(j);
      j--;
    }
    keys.set(key, j * KEY);
    locs.set(loc, j * W);
    if (wide) wideAt.set(j, wide);
    else wideAt.delete(j);
  }
}
