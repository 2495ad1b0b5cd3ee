/**
 * Choosing entries of a manifest by glob (spec/browse.md §1): what `restore --include/--exclude`
 * restores and what `ls [path]` lists. Pure functions over FileEntry lists.
 */
import { compileGlob, filterYielding, type Glob } from './glob.js';
import type { FileEntry, Manifest } from './manifest.js';

interface Selection {
  include: string[];
  exclude: string[];
}

/**
 * The entries a restore with these patterns writes, in manifest order: an entry is selected when
 * it (or a folder above it) matches some --include (or none is given) and neither it nor a
 * folder above it matches an --exclude. The folder entries above a selected entry are kept too,
 * so the folders it lands in get their recorded mode and mtime.
 */
export function selectEntries(files: readonly FileEntry[], sel: Selection): FileEntry[] {
  return selectFrom(files, chooser(sel));
}

/** Whether a path is chosen by the patterns themselves (not yet counting the folders above). */
function chooser(sel: Selection): (p: string) => boolean {
  const inc = sel.include.map((p) => compileGlob(p, 'tree'));
  const exc = sel.exclude.map((p) => compileGlob(p, 'tree'));
  return (p) => (inc.length === 0 || inc.some((g) => g.test(p))) && !exc.some((g) => g.test(p));
}

function selectFrom(files: readonly FileEntry[], chosen: (p: string) => boolean): FileEntry[] {
  const keep = new Set<string>();
  for (const f of files) {
    if (!chosen(f.path)) continue;
    keep.add(f.path);
    for (let i = f.path.lastIndexOf('/'); i > 0; i = f.path.lastIndexOf('/', i - 1)) keep.add(f.path.slice(0, i));
  }
  return files.filter((f) => keep.has(f.path) && (f.kind === 'dir' || chosen(f.path)));
}

/**
 * The manifest restricted to the selected entries (sizes recomputed), for restore. The globs
 * run in slices with turns of the event loop between them (Ctrl-C, `signal`, stops them).
 */
export async function selectManifest(m: Manifest, sel: Selection, signal?: AbortSignal): Promise<Manifest> {
  if (sel.include.length === 0 && sel.exclude.length === 0) return m;
  const test = chooser(sel);
  const chosen = new Set((await filterYielding(m.files, (f) => test(f.path), signal)).map((f) => f.path));
  const files = selectFrom(m.files, (p) => chosen.has(p));
  return { ...m, files, logicalSize: files.reduce((s, f) => s + (f.kind === 'file' ? f.size : 0), 0) };
}

/** Entries at `under` or below it ('' or undefined: all), for `ls <ID> [path]`. */
export function entriesUnder(files: readonly FileEntry[], under: string | undefined): FileEntry[] {
  const p = (under ?? '').replace(/^\/+|\/+$/g, '');
  if (p === '') return [...files];
  return files.filter((f) => f.path === p || f.path.startsWith(`${p}/`));
}

/** Entries whose own path matches the glob (find), in interruptible slices. */
export function matchEntries(files: readonly FileEntry[], glob: Glob, signal?: AbortSignal): Promise<FileEntry[]> {
  return filterYielding(files, (f) => glob.test(f.path), signal);
}
