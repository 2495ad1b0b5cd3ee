/**
 * Restore-side path safety: a manifest path must be relative and plain, and no existing
 * component below the restore root may be a symbolic link, so a malicious or damaged manifest
 * can never make restore write outside the restore path. Folders are created one level at a time
 * (never Node's recursive mkdir, which loops forever on paths like /proc/x/y).
 */
import { closeSync, constants as fsc, existsSync, openSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { MobrError } from '../errors.js';
import { fsPath, showName } from '../util/names.js';
import { ignoreMissing } from '../util/best-effort.js';

export function assertSafeRelPath(p: string): void {
  const parts = p.split('/');
  if (p === '' || p.includes('\0') || p.startsWith('/') || parts.some((s) => s === '' || s === '.' || s === '..')) {
    throw new MobrError('UNSAFE_PATH', `unsafe path in manifest: ${JSON.stringify(showName(p).slice(0, 200))}`);
  }
}

/** mkdir -p that always ends: creates each missing folder of dir, top down; errors are raw errno errors. */
export async function makeDirs(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let p = path.resolve(dir); ; ) {
    const st = await fsp.stat(fsPath(p)).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? undefined : Promise.reject(e)));
    if (st) {
      if (!st.isDirectory()) throw Object.assign(new Error(`${p} is not a folder`), { code: 'ENOTDIR', syscall: 'mkdir' });
      break;
    }
    missing.push(p);
    const up = path.dirname(p);
    if (up === p) break;
    p = up;
  }
  for (const d of missing.reverse()) {
    await fsp.mkdir(fsPath(d)).catch((e: NodeJS.ErrnoException) => (e.code === 'EEXIST' ? undefined : Promise.reject(e)));
  }
}

/** Linux: a path through an open folder's descriptor, resolved by the kernel without its name. */
const PROC_FD = '/proc/self/fd';
const HAVE_PROC_FD = process.platform === 'linux' && existsSync(`${PROC_FD}/0`);
const DIR_FLAGS = fsc.O_RDONLY | fsc.O_DIRECTORY | fsc.O_NOFOLLOW;

/**
 * Resolves rel under root, refusing symlinked ancestors; creates missing parent directories.
 * On Linux each folder, once checked, is held open (O_NOFOLLOW) and what is written in it is
 * named through `/proc/self/fd/<fd>/<name>`: the kernel resolves that through the held folder,
 * so a checked folder swapped for a link later (mid-restore) never sends a write elsewhere; a
 * folder is opened through its held parent the same way. Elsewhere a folder is checked once by
 * lstat (the swap race stays open there). close() releases the held folders.
 */
export class SafeRoot {
  /** Folder (relative, '' = root) -> the path to name things in it through. */
  private readonly held = new Map<string, Promise<string>>();
  private readonly fds: number[] = [];
  constructor(readonly root: string) {}

  async parentFor(rel: string): Promise<string> {
    return path.join(await this.folderOf(rel), rel.slice(rel.lastIndexOf('/') + 1));
  }

  /** The path to name the folder of `rel` by (created and checked when new): parentFor without the name. */
  folderOf(rel: string): Promise<string> {
    assertSafeRelPath(rel);
    const cut = rel.lastIndexOf('/');
    return this.folder(cut < 0 ? '' : rel.slice(0, cut));
  }

  /** The path to name folder `rel` by (created and checked when new). */
  folder(rel: string): Promise<string> {
    let p = this.held.get(rel);
    if (!p) {
      const cut = rel.lastIndexOf('/');
      p = rel === '' ? Promise.resolve(this.hold(this.root, '')) : this.folder(cut < 0 ? '' : rel.slice(0, cut)).then((up) => this.check(path.join(up, rel.slice(cut + 1)), rel));
      p.catch(() => undefined);
      this.held.set(rel, p);
    }
    return p;
  }

  private async check(dir: string, rel: string): Promise<string> {
    let st = await ignoreMissing(fsp.lstat(fsPath(dir)));
    if (!st) {
      await fsp.mkdir(fsPath(dir)).catch((e) => { if (e.code !== 'EEXIST') throw e; });
      st = await fsp.lstat(fsPath(dir));
    }
    if (!st.isDirectory()) throw unsafe(rel, st.isSymbolicLink());
    return this.hold(dir, rel);
  }

  private hold(dir: string, rel: string): string {
    if (!HAVE_PROC_FD) return dir;
    let fd: number;
    try {
      fd = openSync(fsPath(dir), rel === '' ? fsc.O_RDONLY | fsc.O_DIRECTORY : DIR_FLAGS);
    } catch (e) {
      // swapped for a link between the check and the open
      if ((e as NodeJS.ErrnoException).code === 'ELOOP' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') throw unsafe(rel, true);
      throw e;
    }
    this.fds.push(fd);
    return `${PROC_FD}/${fd}`;
  }

  /** Closes the held folders (after every write through them has ended). */
  close(): void {
    for (const fd of this.fds.splice(0)) closeSync(fd);
    this.held.clear();
  }
}

function unsafe(rel: string, link: boolean): MobrError {
  return new MobrError('UNSAFE_PATH', `restore: ${showName(rel)} is ${link ? 'a symbolic link' : 'not a directory'}; refusing to write through it`);
}
