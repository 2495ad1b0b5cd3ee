/**
 * tae_list rows whose size is not the file's (spec/matrixone.md, "GC window rows"): from v2.0.1
 * to v4.1.x MatrixOne's CopyGCDir lists each object a GC meta's window names with the GC META's
 * size, while the row's SHA-256 is the object's own. The file's bytes and that SHA-256 are the
 * truth; the manifest entry keeps what the row said as `x.listedSize` (spec/repository.md §7):
 * the decimal size, no sign, no leading zeros.
 */
import type { FileEntry } from '../repo/manifest.js';

const LISTED_SIZE = 'listedSize';

/** The `x` fact for a row that listed `size` bytes. */
export function listedSizeMeta(size: number): Record<string, string> {
  return { [LISTED_SIZE]: String(size) };
}

/** The size a manifest entry's tae_list row listed when it was not the file's; undefined otherwise (or unreadable). */
export function listedSizeOf(f: Pick<FileEntry, 'meta'>): number | undefined {
  const v = f.meta?.[LISTED_SIZE];
  if (v === undefined || !/^(0|[1-9]\d{0,15})$/.test(v)) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Whether an entry is the file a tae_list row of `size` bytes describes (by its own size or the size its row listed). */
export function sizeAsListed(f: Pick<FileEntry, 'meta' | 'size'>, size: number): boolean {
  return f.size === size || listedSizeOf(f) === size;
}

/** The paths of the entries whose tae_list row listed another size (`listedSize` in --json). */
export function listedSizePaths(files: Iterable<Pick<FileEntry, 'meta' | 'path'>>): string[] {
  const out: string[] = [];
  for (const f of files) if (listedSizeOf(f) !== undefined) out.push(f.path);
  return out;
}

/** The one summary line for a backup with such rows (undefined when none). */
export function listedSizeNote(n: number): string | undefined {
  if (n === 0) return undefined;
  return `${n} file(s) listed in tae/tae_list with another file's size (MatrixOne v2.0.1-v4.1.x lists GC window objects with the GC meta's size); stored with their own size, checked by their SHA-256`;
}
