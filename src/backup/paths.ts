/**
 * Restore-side path safety: a manifest path must be relative and plain, and no existing
 * component below the restore root may be a symbolic link, so a malicious or damaged manifest
 * can never make restore write outside the restore path. Folders are created one level at a time
 * (never Node's recursive mkdir, which loops forever on paths like /proc/x/y).
 */
import { promises as fsp } from 'node:fs';
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

/** Resolves rel under root, refusing symlinked ancestors; creates missing parent directories. */
export class SafeRoot {
  private readonly checked = new Set<string>();
  constructor(readonly root: string) {}

  async parentFor(rel: string): Promise<string> {
    assertSafeRelPath(rel);
    const parts = rel.split('/');
    let dir = this.root;
    for (const part of parts.slice(0, -1)) {
      dir = path.join(dir, part);
      if (this.checked.has(dir)) continue;
      const st = await ignoreMissing(fsp.lstat(fsPath(dir)));
      if (!st) await fsp.mkdir(fsPath(dir)).catch((e) => { if (e.code !== 'EEXIST') throw e; });
      else if (!st.isDirectory()) throw new MobrError('UNSAFE_PATH', `restore: ${showName(path.relative(this.root, dir))} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a directory'}; refusing to write through it`);
      this.checked.add(dir);
    }
    return path.join(this.root, ...parts);
  }
}
