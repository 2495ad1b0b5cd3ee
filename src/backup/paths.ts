/**
 * Restore-side path safety: a manifest path must be relative and plain, and no existing
 * component below the restore root may be a symbolic link, so a malicious or damaged manifest
 * can never make restore write outside the restore path.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { MobrError } from '../errors.js';

export function assertSafeRelPath(p: string): void {
  const parts = p.split('/');
  if (p === '' || p.includes('\0') || p.startsWith('/') || parts.some((s) => s === '' || s === '.' || s === '..')) {
    throw new MobrError('UNSAFE_PATH', `unsafe path in manifest: ${JSON.stringify(p.slice(0, 200))}`);
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
      const st = await fsp.lstat(dir).catch(() => undefined);
      if (!st) await fsp.mkdir(dir).catch((e) => { if (e.code !== 'EEXIST') throw e; });
      else if (!st.isDirectory()) throw new MobrError('UNSAFE_PATH', `restore: ${path.relative(this.root, dir)} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a directory'}; refusing to write through it`);
      this.checked.add(dir);
    }
    return path.join(this.root, ...parts);
  }
}
