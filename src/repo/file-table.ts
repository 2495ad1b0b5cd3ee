/**
 * A manifest's entries as columns (issue #22: a million files in well under 1 GiB). A decoded
 * entry object costs ~550 bytes of heap (the object, two Uint8Array views of ~96 bytes each for
 * its SHA-256 and chunk ids, a number box, the meta object); here a file costs its path string,
 * 41 bytes of typed-array columns, its meta as msgpack bytes and its 32 + 32·n bytes of SHA-256
 * and chunk ids, all in shared buffers. `entry(k)` makes the FileEntry of row k when a caller wants one.
 */
import { decode, Encoder } from '@msgpack/msgpack';

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
/** Flag bits beside the kind: the entry has a SHA-256; it has a chunk list (possibly empty); it has meta. */
const HAS_SHA = 4;
const HAS_CHUNKS = 8;
const HAS_META = 16;

const grown = <T extends Float64Array | Uint32Array | Uint8Array>(a: T, need: number, make: (n: number) => T): T => {
  if (need <= a.length) return a;
  const b = make(Math.max(need, a.length * 2, 16));
  b.set(a);
  return b;
};

/** `meta` as msgpack (a manifest row's `x`, spec/repository.md §7): ~34 bytes where the object and its strings took ~90. */
const metaEncoder = new Encoder();

/**
 * Rows may be set in any order (a backup sets a file's row when its chunks are stored), so each
 * row keeps where its chunk ids and its meta lie in the shared buffers, not only where they start.
 */
export class FileTable implements ChunkLists {
  length = 0;
  private flags: Uint8Array;
  private sizes: Float64Array;
  private modes: Float64Array;
  private mtimes: Float64Array;
  /** Row k's chunk ids are ids[32·starts[k] .. 32·ends[k]). */
  private starts: Uint32Array;
  private ends: Uint32Array;
  private idCount = 0;
  private shas: Uint8Array;
  private ids = new Uint8Array(0);
  /** Row k's meta, msgpack-encoded, is metaBytes[metaAt[k] .. metaEnd[k]) when flags say it has one. */
  private metaAt: Uint32Array;
  private metaEnd: Uint32Array;
  private metaUsed = 0;
  private metaBytes = new Uint8Array(0);
  private paths: string[] = [];
  private readonly targets = new Map<number, string>();

  /** `rows`: how many entries to make room for (more may be added). */
  constructor(rows = 0) {
    this.flags = new Uint8Array(rows);
    this.sizes = new Float64Array(rows);
    this.modes = new Float64Array(rows);
    this.mtimes = new Float64Array(rows);
    this.starts = new Uint32Array(rows);
    this.ends = new Uint32Array(rows);
    this.shas = new Uint8Array(rows * 32);
    this.metaAt = new Uint32Array(rows);
    this.metaEnd = new Uint32Array(rows);
  }

  static of(entries: readonly FileEntry[]): FileTable {
    const t = new FileTable(entries.length);
    for (const f of entries) t.push(f);
    return t.trim();
  }

  /** Appends an entry (its bytes are copied; the entry is not kept). `meta`: its meta already encoded (a manifest row's `x`). */
  push(f: FileEntry, meta?: Uint8Array): void {
    this.set(this.length, f, meta);
  }

  /** Sets row k (the rows up to it exist from then on; each row is set once). */
  set(k: number, f: FileEntry, meta?: Uint8Array): void {
    if (k >= this.length) this.length = k + 1;
    const n = f.chunks ? f.chunks.length / 32 : 0;
    this.room(k + 1);
    const m = meta ?? (f.meta === undefined ? undefined : metaEncoder.encodeSharedRef(f.meta));
    this.ids = grown(this.ids, 32 * (this.idCount + n), (x) => new Uint8Array(x));
    if (m) this.metaBytes = grown(this.metaBytes, this.metaUsed + m.length, (x) => new Uint8Array(x));
    this.flags[k] = KIND_CODE[f.kind] | (f.sha256 ? HAS_SHA : 0) | (f.chunks ? HAS_CHUNKS : 0) | (m ? HAS_META : 0);
    this.sizes[k] = f.size;
    this.modes[k] = f.mode;
    this.mtimes[k] = f.mtimeMs;
    if (f.sha256) this.shas.set(f.sha256, 32 * k);
    if (f.chunks) this.ids.set(f.chunks, 32 * this.idCount);
    this.starts[k] = this.idCount;
    this.ends[k] = this.idCount += n;
    if (m) {
      this.metaBytes.set(m, this.metaUsed);
      this.metaAt[k] = this.metaUsed;
      this.metaEnd[k] = this.metaUsed += m.length;
    }
    this.paths[k] = f.path;
    if (f.target !== undefined) this.targets.set(k, f.target);
  }

  private room(rows: number): void {
    this.flags = grown(this.flags, rows, (m) => new Uint8Array(m));
    this.sizes = grown(this.sizes, rows, (m) => new Float64Array(m));
    this.modes = grown(this.modes, rows, (m) => new Float64Array(m));
    this.mtimes = grown(this.mtimes, rows, (m) => new Float64Array(m));
    this.starts = grown(this.starts, rows, (m) => new Uint32Array(m));
    this.ends = grown(this.ends, rows, (m) => new Uint32Array(m));
    this.shas = grown(this.shas, 32 * rows, (m) => new Uint8Array(m));
    this.metaAt = grown(this.metaAt, rows, (m) => new Uint32Array(m));
    this.metaEnd = grown(this.metaEnd, rows, (m) => new Uint32Array(m));
  }

  /** Drops the room grown past the last entry (a copy of each column, once). */
  trim(): this {
    const k = this.length;
    this.flags = this.flags.slice(0, k);
    this.sizes = this.sizes.slice(0, k);
    this.modes = this.modes.slice(0, k);
    this.mtimes = this.mtimes.slice(0, k);
    this.starts = this.starts.slice(0, k);
    this.ends = this.ends.slice(0, k);
    this.shas = this.shas.slice(0, 32 * k);
    this.ids = this.ids.slice(0, 32 * this.idCount);
    this.metaAt = this.metaAt.slice(0, k);
    this.metaEnd = this.metaEnd.slice(0, k);
    this.metaBytes = this.metaBytes.slice(0, this.metaUsed);
    return this;
  }

  /**
   * The rows in path order (byte order of the names as manifests keep them, spec/repository.md §7):
   * this table when they are already, else a new table (this one is left as it is).
   */
  sortedByPath(): FileTable {
    const cmp = (a: number, b: number) => (this.paths[a] < this.paths[b] ? -1 : this.paths[a] > this.paths[b] ? 1 : 0);
    let sorted = true;
    for (let k = 1; k < this.length && sorted; k++) sorted = cmp(k - 1, k) <= 0;
    if (sorted) return this.trim();
    const order = Array.from({ length: this.length }, (_, k) => k).sort(cmp);
    const t = new FileTable(this.length);
    for (const k of order) t.push(this.entry(k, false), this.rawMeta(k));
    return t.trim();
  }

  /** Bytes of the typed arrays (test/file-table.test.ts bounds them per file). */
  get bytes(): number {
    const columns = [this.flags, this.sizes, this.modes, this.mtimes, this.starts, this.ends, this.metaAt, this.metaEnd];
    return [...columns, this.shas, this.ids, this.metaBytes].reduce((n, a) => n + a.byteLength, 0);
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
  /** Row k's meta as the msgpack bytes kept (a view; a manifest row's `x` as written), or undefined. */
  rawMeta(k: number): Uint8Array | undefined {
    return this.flags[k] & HAS_META ? this.metaBytes.subarray(this.metaAt[k], this.metaEnd[k]) : undefined;
  }
  /** Row k's meta, decoded now (a new object each call). */
  meta(k: number): Record<string, string> | undefined {
    const raw = this.rawMeta(k);
    return raw && (decode(raw) as Record<string, string>);
  }
  chunkCount(k: number): number {
    return this.ends[k] - this.starts[k];
  }
  chunkId(k: number, i: number): Uint8Array {
    const at = 32 * (this.starts[k] + i);
    return this.ids.subarray(at, at + 32);
  }
  /** Row k's chunk ids (a view), or undefined when it has no chunk list. */
  chunks(k: number): Uint8Array | undefined {
    return this.flags[k] & HAS_CHUNKS ? this.ids.subarray(32 * this.starts[k], 32 * this.ends[k]) : undefined;
  }

  /**
   * Row k as an entry, made now: the fields decodeManifest gives, in its order (views of the
   * table's bytes); without `meta` (not decoded) when `withMeta` is false.
   */
  entry(k: number, withMeta = true): FileEntry {
    const path = this.paths[k];
    const kind = this.kind(k);
    const size = this.sizes[k];
    const mode = this.modes[k];
    const mtimeMs = this.mtimes[k];
    const meta = withMeta ? this.meta(k) : undefined;
    if (kind === 'file') {
      const sha256 = this.sha256(k);
      const chunks = this.chunks(k);
      return meta === undefined ? { path, kind, size, mode, mtimeMs, sha256, chunks } : { path, kind, size, mode, mtimeMs, sha256, chunks, meta };
    }
    if (kind === 'symlink') {
      const target = this.targets.get(k);
      return meta === undefined ? { path, kind, size, mode, mtimeMs, target } : { path, kind, size, mode, mtimeMs, target, meta };
    }
    return meta === undefined ? { path, kind, size, mode, mtimeMs } : { path, kind, size, mode, mtimeMs, meta };
  }

  /** Each row's path and meta (decoded now), one at a time. */
  *pathsAndMeta(): Generator<{ path: string; meta?: Record<string, string> }> {
    for (let k = 0; k < this.length; k++) yield { path: this.paths[k], meta: this.meta(k) };
  }

  /** How many rows are regular files. */
  get fileCount(): number {
    let n = 0;
    for (let k = 0; k < this.length; k++) if ((this.flags[k] & 3) === KIND_CODE.file) n++;
    return n;
  }

  /** Every row as an entry. */
  entries(): FileEntry[] {
    return Array.from({ length: this.length }, (_, k) => this.entry(k));
  }
}
