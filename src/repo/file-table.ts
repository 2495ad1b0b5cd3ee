/**
 * A manifest's entries as columns (issue #22: a million files in well under 1 GiB). A decoded
 * entry object costs ~550 bytes of heap (the object, two Uint8Array views of ~96 bytes each for
 * its SHA-256 and chunk ids, a number box, the meta object); here a file costs its path string,
 * its meta, 29 bytes of typed-array columns and its 32 + 32·n bytes of SHA-256 and chunk ids,
 * all in two buffers. `entry(k)` makes the FileEntry of row k when a caller wants one.
 */
export type EntryKind = 'file' | 'dir' | 'symlink';

export interface FileEntry {
  path: string; // relative, '/'-separated, no '.' or '..' segments; bytes as in src/util/names.ts
  kind: EntryKind;
  size: number;
  mode: number; // permission bits (0o7777 mask)
  mtimeMs: number;
  sha256?: Uint8Array; // regular files
  chunks?: Uint8Array; // regular files: n × 32-byte chunk ids, in order
  target?: string; // symlinks
  meta?: Record<string, string>; // source-specific facts (e.g. MatrixOne's checksum)
}

/** Chunk lists by file number: what a pack read plan needs (src/repo/read-plan.ts). */
export interface ChunkLists {
  readonly length: number;
  chunkCount(k: number): number;
  /** The i-th chunk id of file k (a view). */
  chunkId(k: number, i: number): Uint8Array;
}

const KIND: readonly EntryKind[] = ['file', 'dir', 'symlink'];
const KIND_CODE: Record<EntryKind, number> = { file: 0, dir: 1, symlink: 2 };
/** Flag bits beside the kind: the entry has a SHA-256; it has a chunk list (possibly empty). */
const HAS_SHA = 4;
const HAS_CHUNKS = 8;

const grown = <T extends Float64Array | Uint32Array | Uint8Array>(a: T, need: number, make: (n: number) => T): T => {
  if (need <= a.length) return a;
  const b = make(Math.max(need, a.length * 2, 16));
  b.set(a);
  return b;
};

export class FileTable implements ChunkLists {
  length = 0;
  private flags: Uint8Array;
  private sizes: Float64Array;
  private modes: Float64Array;
  private mtimes: Float64Array;
  /** File k's chunk ids are ids[32·starts[k] .. 32·starts[k+1]). */
  private starts: Uint32Array;
  private shas: Uint8Array;
  private ids = new Uint8Array(0);
  private readonly paths: string[] = [];
  private readonly metas: (Record<string, string> | undefined)[] = [];
  private readonly targets = new Map<number, string>();

  /** `rows`: how many entries to make room for (more may be added). */
  constructor(rows = 0) {
    this.flags = new Uint8Array(rows);
    this.sizes = new Float64Array(rows);
    this.modes = new Float64Array(rows);
    this.mtimes = new Float64Array(rows);
    this.starts = new Uint32Array(rows + 1);
    this.shas = new Uint8Array(rows * 32);
  }

  static of(entries: readonly FileEntry[]): FileTable {
    const t = new FileTable(entries.length);
    for (const f of entries) t.push(f);
    return t.trim();
  }

  /** Appends an entry (its bytes are copied; the entry is not kept). */
  push(f: FileEntry): void {
    const k = this.length++;
    const n = f.chunks ? f.chunks.length / 32 : 0;
    this.flags = grown(this.flags, k + 1, (m) => new Uint8Array(m));
    this.sizes = grown(this.sizes, k + 1, (m) => new Float64Array(m));
    this.modes = grown(this.modes, k + 1, (m) => new Float64Array(m));
    this.mtimes = grown(this.mtimes, k + 1, (m) => new Float64Array(m));
    this.starts = grown(this.starts, k + 2, (m) => new Uint32Array(m));
    this.shas = grown(this.shas, 32 * (k + 1), (m) => new Uint8Array(m));
    this.ids = grown(this.ids, 32 * (this.starts[k] + n), (m) => new Uint8Array(m));
    this.flags[k] = KIND_CODE[f.kind] | (f.sha256 ? HAS_SHA : 0) | (f.chunks ? HAS_CHUNKS : 0);
    this.sizes[k] = f.size;
    this.modes[k] = f.mode;
    this.mtimes[k] = f.mtimeMs;
    if (f.sha256) this.shas.set(f.sha256, 32 * k);
    if (f.chunks) this.ids.set(f.chunks, 32 * this.starts[k]);
    this.starts[k + 1] = this.starts[k] + n;
    this.paths.push(f.path);
    this.metas.push(f.meta);
    if (f.target !== undefined) this.targets.set(k, f.target);
  }

  /** Drops the room grown past the last entry (a copy of each column, once). */
  trim(): this {
    const k = this.length;
    this.flags = this.flags.slice(0, k);
    this.sizes = this.sizes.slice(0, k);
    this.modes = this.modes.slice(0, k);
    this.mtimes = this.mtimes.slice(0, k);
    this.starts = this.starts.slice(0, k + 1);
    this.shas = this.shas.slice(0, 32 * k);
    this.ids = this.ids.slice(0, 32 * this.starts[k]);
    return this;
  }

  /** Bytes of the typed arrays (test/file-table.test.ts bounds them per file). */
  get bytes(): number {
    return [this.flags, this.sizes, this.modes, this.mtimes, this.starts, this.shas, this.ids].reduce((n, a) => n + a.byteLength, 0);
  }

  kind(k: number): EntryKind {
    return KIND[this.flags[k] & 3];
  }
  path(k: number): string {
    return this.paths[k];
  }
  size(k: number): number {
    return this.sizes[k];
  }
  mode(k: number): number {
    return this.modes[k];
  }
  mtimeMs(k: number): number {
    return this.mtimes[k];
  }
  target(k: number): string | undefined {
    return this.targets.get(k);
  }
  sha256(k: number): Uint8Array | undefined {
    return this.flags[k] & HAS_SHA ? this.shas.subarray(32 * k, 32 * k + 32) : undefined;
  }
  chunkCount(k: number): number {
    return this.starts[k + 1] - this.starts[k];
  }
  chunkId(k: number, i: number): Uint8Array {
    const at = 32 * (this.starts[k] + i);
    return this.ids.subarray(at, at + 32);
  }

  /** Row k as an entry, made now: the fields decodeManifest gives, in its order (views of the table's bytes). */
  entry(k: number): FileEntry {
    const path = this.paths[k];
    const kind = this.kind(k);
    const size = this.sizes[k];
    const mode = this.modes[k];
    const mtimeMs = this.mtimes[k];
    const meta = this.metas[k];
    if (kind === 'file') {
      const sha256 = this.sha256(k);
      const chunks = this.flags[k] & HAS_CHUNKS ? this.ids.subarray(32 * this.starts[k], 32 * this.starts[k + 1]) : undefined;
      return meta === undefined ? { path, kind, size, mode, mtimeMs, sha256, chunks } : { path, kind, size, mode, mtimeMs, sha256, chunks, meta };
    }
    if (kind === 'symlink') {
      const target = this.targets.get(k);
      return meta === undefined ? { path, kind, size, mode, mtimeMs, target } : { path, kind, size, mode, mtimeMs, target, meta };
    }
    return meta === undefined ? { path, kind, size, mode, mtimeMs } : { path, kind, size, mode, mtimeMs, meta };
  }

  /** Every row as an entry. */
  entries(): FileEntry[] {
    return Array.from({ length: this.length }, (_, k) => this.entry(k));
  }
}
