/**
 * What reading some files of a backup costs (the dry runs of restore, spec/browse.md §6): how
 * many distinct chunks and packs they touch and how many stored bytes come out of the packs.
 * Pure: entries and an index lookup in.
 */
import { toHex } from '../hash/hex.js';
import type { ChunkLocation } from './index-file.js';
import { chunkCount, chunkId, type FileEntry } from './manifest.js';

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

export interface PackReadPlan {
  reads: PackRead[];
  /** Per planned file: how many tasks carry its chunks (0: empty file, or one with a missing chunk). */
  tasksOf: number[];
  /** Files with a chunk in no index, and the first such chunk. */
  missing: Map<number, Uint8Array>;
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
 * Reads by pack, not by file (spec/repository.md §5.1): every chunk the files need is read once,
 * however many files (or places in one file) use it, and the chunks of one pack are read in as
 * few ranged reads as the options allow. Packs come in the order the files first need them, so
 * files complete roughly in order. Pure: entries and an index lookup in.
 */
export function planPackReads(files: readonly FileEntry[], lookup: (id: Uint8Array) => ChunkLocation | undefined, o: PackReadOptions): PackReadPlan {
  const missing = new Map<number, Uint8Array>();
  const byPack = new Map<string, Map<number, PlannedBlob>>();
  files.forEach((f, k) => {
    const n = chunkCount(f);
    const locs: ChunkLocation[] = [];
    for (let i = 0; i < n; i++) {
      const loc = lookup(chunkId(f, i));
      if (!loc) {
        missing.set(k, chunkId(f, i));
        return;
      }
      locs.push(loc);
    }
    let at = 0;
    locs.forEach((loc, i) => {
      let blobs = byPack.get(loc.pack);
      if (!blobs) byPack.set(loc.pack, (blobs = new Map()));
      let b = blobs.get(loc.offset);
      if (!b) blobs.set(loc.offset, (b = { id: chunkId(f, i), loc, uses: [] }));
      b.uses.push({ file: k, at });
      at += loc.rawLength;
    });
  });
  const reads: PackRead[] = [];
  for (const [pack, blobs] of byPack) {
    let cur: PackRead | undefined;
    for (const b of [...blobs.values()].sort((x, y) => x.loc.offset - y.loc.offset)) {
      const end = b.loc.offset + b.loc.length;
      if (cur && b.loc.offset - (cur.offset + cur.length) <= o.gap && end - cur.offset <= o.maxRead) {
        cur.length = end - cur.offset;
        cur.tasks[cur.tasks.length - 1].push(b);
      } else {
        cur = { pack, offset: b.loc.offset, length: b.loc.length, tasks: [[b]] };
        reads.push(cur);
      }
    }
  }
  const tasksOf = new Array<number>(files.length).fill(0);
  for (const r of reads) {
    const tasks: PlannedBlob[][] = [];
    let task: PlannedBlob[] = [];
    let seen = new Set<number>();
    for (const b of r.tasks[0]) {
      if (seen.size >= o.maxFiles && b.uses.some((u) => !seen.has(u.file))) {
        tasks.push(task);
        for (const k of seen) tasksOf[k]++;
        task = [];
        seen = new Set();
      }
      task.push(b);
      for (const u of b.uses) seen.add(u.file);
    }
    tasks.push(task);
    for (const k of seen) tasksOf[k]++;
    r.tasks = tasks;
  }
  return { reads, tasksOf, missing };
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
