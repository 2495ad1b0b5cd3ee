/**
 * What reading some files of a backup costs (the dry runs of restore, spec/browse.md §6): how
 * many distinct chunks and packs they touch and how many stored bytes come out of the packs.
 * Pure: entries and an index lookup in.
 */
import { toHex } from '../hash/hex.js';
import type { ChunkLocation } from './index-file.js';
import { chunkCount, chunkId, type FileEntry } from './manifest.js';
import type { ChunkLists } from './file-table.js';

/** Entries' chunk lists by number. */
const listsOf = (files: readonly FileEntry[] | ChunkLists): ChunkLists =>
  Array.isArray(files) ? { length: files.length, chunkCount: (k) => chunkCount(files[k]), chunkId: (k, i) => chunkId(files[k], i) } : (files as ChunkLists);

export interface ReadPlan {
  files: number;
  /** Plain bytes of the files (what gets written). */
  bytes: number;
  chunks: number;
  packs: number;
  /** Stored bytes of the distinct chunks (what gets read from the repository). */
  storedBytes: number;
  /** Chunks in no index: the restore would fail on them. */
  missingChunks: number;
}

export function readPlan(files: readonly FileEntry[], lookup: (hex: string) => ChunkLocation | undefined): ReadPlan {
  const chunks = new Set<string>();
  const packs = new Set<string>();
  const plan: ReadPlan = { files: 0, bytes: 0, chunks: 0, packs: 0, storedBytes: 0, missingChunks: 0 };
  for (const f of files) {
    if (f.kind !== 'file') continue;
    plan.files++;
    plan.bytes += f.size;
    for (let i = 0; i < chunkCount(f); i++) {
      const h = toHex(chunkId(f, i));
      if (chunks.has(h)) continue;
      chunks.add(h);
      const loc = lookup(h);
      if (!loc) plan.missingChunks++;
      else {
        packs.add(loc.pack);
        plan.storedBytes += loc.length;
      }
    }
  }
  plan.chunks = chunks.size;
  plan.packs = packs.size;
  return plan;
}

/** One use of a chunk: file `file` (an index into the planned files) holds it at byte `at`. */
export interface BlobUse {
  file: number;
  at: number;
}

/** A chunk to read once and write wherever it is used. */
export interface PlannedBlob {
  id: Uint8Array;
  loc: ChunkLocation;
  uses: BlobUse[];
}

/**
 * One ranged read of a pack: the chunks in it by offset, cut into tasks (consecutive chunks,
 * handled together) of at most `maxFiles` files each.
 */
export interface PackRead {
  pack: string;
  offset: number;
  length: number;
  tasks: PlannedBlob[][];
}

/** A planned read as the plan keeps it: its uses lie at `from`..`to` of the plan's order, its tasks start at `cuts`. */
export interface ReadSpan {
  pack: string;
  offset: number;
  length: number;
  from: number;
  to: number;
  cuts: number[];
}

export interface PackReadPlan {
  /** The reads, in order, packed (a few dozen bytes a chunk): `read(span)` makes one's chunks and tasks when its turn comes. */
  reads: ReadSpan[];
  read(span: ReadSpan): PackRead;
  /** Per planned file: how many tasks carry its chunks (0: empty file, or one with a missing chunk). */
  tasksOf: number[];
  /** Files with a chunk in no index, and the first such chunk. */
  missing: Map<number, Uint8Array>;
  /** Bytes of the typed arrays the plan holds (test/restore-packs.test.ts bounds it per chunk). */
  bytes: number;
}

export interface PackReadOptions {
  /** Chunks of one pack whose gap is at most this many bytes share a read (gap bytes are read and dropped). */
  gap: number;
  /** A read stops growing at this many bytes (a pack is read in more than one piece only above it). */
  maxRead: number;
  /** A task (one worker call) covers the chunks of at most this many files. */
  maxFiles: number;
}

/**
 * Every use of a chunk (file k's i-th chunk) as columns, not objects: 41 bytes a use, where
 * PlannedBlob objects for every chunk of a backup took ~460 (issue #22: a million files).
 */
class Uses {
  n = 0;
  readonly file: Uint32Array;
  readonly chunk: Uint32Array;
  readonly at: Float64Array;
  readonly pack: Uint32Array;
  readonly offset: Float64Array;
  readonly length: Uint32Array;
  readonly rawLength: Uint32Array;
  readonly codec: Uint8Array;
  readonly packNames: string[] = [];
  private readonly packNumber = new Map<string, number>();

  constructor(readonly capacity: number) {
    this.file = new Uint32Array(capacity);
    this.chunk = new Uint32Array(capacity);
    this.at = new Float64Array(capacity);
    this.pack = new Uint32Array(capacity);
    this.offset = new Float64Array(capacity);
    this.length = new Uint32Array(capacity);
    this.rawLength = new Uint32Array(capacity);
    this.codec = new Uint8Array(capacity);
  }

  get bytes(): number {
    return this.capacity * 41;
  }

  add(file: number, chunk: number, at: number, loc: ChunkLocation): void {
    const u = this.n++;
    let p = this.packNumber.get(loc.pack);
    if (p === undefined) {
      this.packNumber.set(loc.pack, (p = this.packNames.length));
      this.packNames.push(loc.pack);
    }
    this.file[u] = file;
    this.chunk[u] = chunk;
    this.at[u] = at;
    this.pack[u] = p;
    this.offset[u] = loc.offset;
    this.length[u] = loc.length;
    this.rawLength[u] = loc.rawLength;
    this.codec[u] = loc.codec;
  }

  loc(u: number): ChunkLocation {
    return { pack: this.packNames[this.pack[u]], offset: this.offset[u], length: this.length[u], rawLength: this.rawLength[u], codec: this.codec[u] };
  }
}

/** Every chunk of every file whose chunks are all indexed, in file order; the others in `missing`. */
function collectUses(files: ChunkLists, lookup: (id: Uint8Array) => ChunkLocation | undefined): { uses: Uses; missing: Map<number, Uint8Array> } {
  let total = 0;
  for (let k = 0; k < files.length; k++) total += files.chunkCount(k);
  const uses = new Uses(total);
  const missing = new Map<number, Uint8Array>();
  next: for (let k = 0; k < files.length; k++) {
    const n = files.chunkCount(k);
    const start = uses.n;
    let at = 0;
    for (let i = 0; i < n; i++) {
      const loc = lookup(files.chunkId(k, i));
      if (!loc) {
        missing.set(k, files.chunkId(k, i));
        uses.n = start; // none of a file with a missing chunk is planned
        continue next;
      }
      uses.add(k, i, at, loc);
      at += loc.rawLength;
    }
  }
  return { uses, missing };
}

/** The uses in read order: by pack in the order the files first need them, then by offset (then file order). */
function readOrder(uses: Uses): Uint32Array {
  const packs = uses.packNames.length;
  const rank = new Int32Array(packs).fill(-1); // pack number -> its place in first-need order
  const count = new Uint32Array(packs + 1);
  let ranked = 0;
  for (let u = 0; u < uses.n; u++) {
    const p = uses.pack[u];
    if (rank[p] < 0) rank[p] = ranked++;
    count[rank[p] + 1]++;
  }
  for (let r = 0; r < ranked; r++) count[r + 1] += count[r];
  const order = new Uint32Array(uses.n);
  const next = count.slice(0, ranked);
  for (let u = 0; u < uses.n; u++) order[next[rank[uses.pack[u]]]++] = u; // counting sort by pack: stable
  for (let r = 0; r < ranked; r++) order.subarray(count[r], count[r + 1]).sort((a, b) => uses.offset[a] - uses.offset[b] || a - b);
  return order;
}

/**
 * Reads by pack, not by file (spec/repository.md §5.1): every chunk the files need is read once,
 * however many files (or places in one file) use it, and the chunks of one pack are read in as
 * few ranged reads as the options allow. Packs come in the order the files first need them, so
 * files complete roughly in order. Pure: entries and an index lookup in. The plan is packed;
 * each read's chunk objects are made when it is read (`read`), and dropped after.
 */
export function planPackReads(
  entries: readonly FileEntry[] | ChunkLists,
  lookup: (id: Uint8Array) => ChunkLocation | undefined,
  o: PackReadOptions,
): PackReadPlan {
  const files = listsOf(entries);
  const { uses, missing } = collectUses(files, lookup);
  const order = readOrder(uses);
  const reads: ReadSpan[] = [];
  const sameBlob = (a: number, b: number) => uses.pack[a] === uses.pack[b] && uses.offset[a] === uses.offset[b];
  let cur: ReadSpan | undefined;
  for (let j = 0; j < order.length; j++) {
    const u = order[j];
    if (cur && j > cur.from && sameBlob(order[j - 1], u)) continue; // another use of the same chunk
    const pack = uses.packNames[uses.pack[u]];
    const offset = uses.offset[u];
    const end = offset + uses.length[u];
    if (cur && cur.pack === pack && offset - (cur.offset + cur.length) <= o.gap && end - cur.offset <= o.maxRead) cur.length = end - cur.offset;
    else {
      if (cur) cur.to = j;
      cur = { pack, offset, length: uses.length[u], from: j, to: order.length, cuts: [j] };
      reads.push(cur);
    }
  }
  const tasksOf = new Array<number>(files.length).fill(0);
  for (const r of reads) cutTasks(r, order, uses, sameBlob, o.maxFiles, tasksOf);
  const read = (r: ReadSpan): PackRead => ({ pack: r.pack, offset: r.offset, length: r.length, tasks: blobsOf(r, order, uses, files, sameBlob) });
  return { reads, read, tasksOf, missing, bytes: uses.bytes + order.byteLength };
}

/**
 * Cuts a read's chunks into tasks of at most `maxFiles` files (a chunk's uses stay in one task, so
 * only a chunk used by more files than that makes a bigger task, alone); counts each file's tasks.
 */
function cutTasks(r: ReadSpan, order: Uint32Array, uses: Uses, sameBlob: (a: number, b: number) => boolean, maxFiles: number, tasksOf: number[]): void {
  let seen = new Set<number>();
  for (let j = r.from; j < r.to; ) {
    let end = j + 1;
    while (end < r.to && sameBlob(order[j], order[end])) end++;
    const fresh = new Set<number>();
    for (let q = j; q < end; q++) if (!seen.has(uses.file[order[q]])) fresh.add(uses.file[order[q]]);
    if (seen.size > 0 && seen.size + fresh.size > maxFiles) {
      for (const k of seen) tasksOf[k]++;
      r.cuts.push(j);
      seen = new Set();
    }
    for (let q = j; q < end; q++) seen.add(uses.file[order[q]]);
    j = end;
  }
  for (const k of seen) tasksOf[k]++;
}

/** A read's chunks as objects, in tasks. */
function blobsOf(r: ReadSpan, order: Uint32Array, uses: Uses, files: ChunkLists, sameBlob: (a: number, b: number) => boolean): PlannedBlob[][] {
  const tasks: PlannedBlob[][] = [];
  let b: PlannedBlob | undefined;
  for (let t = 0; t < r.cuts.length; t++) {
    const task: PlannedBlob[] = [];
    for (let j = r.cuts[t]; j < (r.cuts[t + 1] ?? r.to); j++) {
      const u = order[j];
      if (!b || j === r.cuts[t] || !sameBlob(order[j - 1], u)) task.push((b = { id: files.chunkId(uses.file[u], uses.chunk[u]), loc: uses.loc(u), uses: [] }));
      b.uses.push({ file: uses.file[u], at: uses.at[u] });
    }
    tasks.push(task);
  }
  return tasks;
}

/** The per-chunk fields of a worker task over `blobs`, offsets relative to `shift` in its buffer. */
export function blobFields(blobs: PlannedBlob[], shift: number): { offsets: number[]; lengths: number[]; codecs: number[]; rawLengths: number[]; ids: Uint8Array } {
  const ids = new Uint8Array(blobs.length * 32);
  blobs.forEach((b, j) => ids.set(b.id, j * 32));
  return {
    offsets: blobs.map((b) => b.loc.offset - shift),
    lengths: blobs.map((b) => b.loc.length),
    codecs: blobs.map((b) => b.loc.codec),
    rawLengths: blobs.map((b) => b.loc.rawLength),
    ids,
  };
}
