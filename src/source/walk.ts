/**
 * Walks a directory tree without following symbolic links, yielding entries in a stable order
 * (sorted by path). Paths are relative and '/'-separated.
 */
import { promises as fsp, type Stats } from 'node:fs';
import * as path from 'node:path';
import { withContext } from '../errors.js';

export interface WalkEntry {
  path: string; // relative, '/'-separated
  abs: string;
  kind: 'file' | 'dir' | 'symlink' | 'other';
  stat: Stats;
}

export async function walkTree(root: string): Promise<WalkEntry[]> {
  const out: WalkEntry[] = [];
  const rootAbs = path.resolve(root);
  let rootStat: Stats;
  try {
    rootStat = await fsp.stat(rootAbs);
  } catch (e) {
    throw withContext(`read ${rootAbs}`, e);
  }
  if (!rootStat.isDirectory()) throw withContext(`read ${rootAbs}`, Object.assign(new Error('not a directory'), { code: 'ENOTDIR' }));
  const visit = async (dirAbs: string, rel: string) => {
    let names: string[];
    try {
      names = (await fsp.readdir(dirAbs)).sort();
    } catch (e) {
      throw withContext(`read ${dirAbs}`, e);
    }
    for (const name of names) {
      const abs = path.join(dirAbs, name);
      const r = rel === '' ? name : `${rel}/${name}`;
      let st: Stats;
      try {
        st = await fsp.lstat(abs);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // vanished while walking
        throw withContext(`read ${abs}`, e);
      }
      const kind = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
      out.push({ path: r, abs, kind, stat: st });
      if (kind === 'dir') await visit(abs, r);
    }
  };
  await visit(rootAbs, '');
  return out;
}
