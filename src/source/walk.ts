/**
 * Walks a directory tree, yielding entries in a stable order (sorted by name within a folder).
 * Paths are relative and '/'-separated; names are bytes (src/util/names.ts), so a name that is
 * not valid UTF-8 is walked like any other.
 *
 * What the tree holds is never skipped silently; the report says what was not stored as is:
 * - symbolic links are entries of their own (target text kept) and are not followed, except,
 *   with `followTopLinks`, a link of one of those names directly under the root to a folder
 *   outside the tree (a MatrixOne `mo-data/shared` on another disk): that folder is walked as
 *   if it were there;
 * - a link whose target leaves the tree is kept as a link and listed in `linksOut`;
 * - fifos, sockets and devices are not stored and are listed in `special`;
 * - `exclude`d paths (a repository or catalog inside the tree) are not stored and are listed.
 */
import { lstatSync, promises as fsp, readdirSync, readlinkSync, type Stats } from 'node:fs';
import * as path from 'node:path';
import { withContext } from '../errors.js';
import { decodeName, fsPath, realish } from '../util/names.js';

/** What a backup keeps of an entry's lstat (a Node Stats object costs ~850 bytes of heap; this ~150). */
interface EntryStat {
  mode: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  /** With ino, the file's identity: a backup reads only the file the walk saw (src/workers/files-task.ts). */
  dev: number;
}

const entryStat = (st: Stats): EntryStat => ({ mode: st.mode, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino, dev: st.dev });

export interface WalkEntry {
  path: string; // relative, '/'-separated
  /** The absolute path of the folder it lies in: one string a folder, not one a file (issue #22; absPath gives the entry's). */
  dir: string;
  kind: 'file' | 'dir' | 'symlink';
  stat: EntryStat;
  /** Symlinks: the target text. */
  target?: string;
}

export interface WalkReport {
  /** Top-level links to folders outside the tree, walked as folders. */
  followed: { path: string; target: string }[];
  /** Links whose target leaves the tree (absolute, or `..` past the root); kept as links. */
  linksOut: { path: string; target: string }[];
  /** Fifos, sockets, devices: not stored. */
  special: string[];
  /** Paths left out on request (a repository, a catalog). */
  excluded: string[];
}

export interface WalkOptions {
  /**
   * Names of links directly under the root that are followed when they lead to a folder outside
   * the tree (a cold backup: MatrixOne's `shared` and `local`, which operators put on another
   * disk); every other link is stored as a link.
   */
  followTopLinks?: readonly string[];
  /** Paths to leave out; `siblings` also leaves out `<path>.*` (a catalog's lock and temp files). */
  exclude?: { path: string; siblings?: boolean }[];
}

/**
 * A folder's path and a name in it, as path.join makes them: a walked folder's path is already
 * normal (resolved or real) and a listed name is neither `.`, `..` nor holds a separator, so the
 * two are only put together (path.join normalizes again: ~2% of a 12,000-file backup's CPU).
 */
const joinName = (dir: string, name: string): string => (dir.endsWith(path.sep) ? dir + name : dir + path.sep + name);

/** The absolute path of an entry (its folder's and its name, the last segment of `path`). */
export const absPath = (e: WalkEntry): string => joinName(e.dir, e.path.slice(e.path.lastIndexOf('/') + 1));

interface WalkResult {
  entries: WalkEntry[];
  report: WalkReport;
}

/**
 * Folders are listed and their entries lstat'ed with synchronous calls: a call costs a few µs,
 * against ~20 µs of promise and thread-pool round trip (measured on 100,000 files, cold cache
 * too: the inodes of a folder come in with its first reads).
 */
const yieldTurn = () => new Promise<void>((r) => setImmediate(r));

/** realpath for a name that may carry bytes that are not UTF-8 (src/util/names.ts), in and out. */
const realName = async (p: string) => decodeName(await fsp.realpath(fsPath(p), { encoding: 'buffer' }));

const under = (p: string, dir: string) => p === dir || p.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep);

export async function walkTree(root: string, o: WalkOptions = {}): Promise<WalkResult> {
  const entries: WalkEntry[] = [];
  const report: WalkReport = { followed: [], linksOut: [], special: [], excluded: [] };
  const rootAbs = path.resolve(root);
  let rootStat: Stats;
  try {
    rootStat = await fsp.stat(fsPath(rootAbs));
  } catch (e) {
    throw withContext(`read ${rootAbs}`, e);
  }
  if (!rootStat.isDirectory()) throw withContext(`read ${rootAbs}`, Object.assign(new Error('not a directory'), { code: 'ENOTDIR' }));
  const rootReal = await realName(rootAbs);
  const exclude = (o.exclude ?? []).map((x) => ({ real: realish(x.path), siblings: x.siblings === true }));
  const excluded = (real: string) => exclude.some((x) => real === x.real || (x.siblings && real.startsWith(`${x.real}.`)));

  const visit = async (dirAbs: string, dirReal: string, rel: string): Promise<void> => {
    await yieldTurn(); // one folder at a time, synchronously: let timers and signals in between
    let raw: Buffer[];
    try {
      raw = readdirSync(fsPath(dirAbs), { encoding: 'buffer' });
    } catch (e) {
      throw withContext(`read ${dirAbs}`, e);
    }
    const names = raw.map(decodeName).sort();
    for (const name of names) {
      const abs = joinName(dirAbs, name);
      const r = rel === '' ? name : `${rel}/${name}`;
      const real = joinName(dirReal, name);
      if (excluded(real)) {
        report.excluded.push(r);
        continue;
      }
      let st: Stats | undefined;
      try {
        st = lstatSync(fsPath(abs), { throwIfNoEntry: false }); // undefined: vanished while walking
      } catch (e) {
        throw withContext(`read ${abs}`, e);
      }
      if (!st) continue;
      if (st.isSymbolicLink()) {
        let target: string;
        try {
          target = decodeName(readlinkSync(fsPath(abs), { encoding: 'buffer' }));
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
          throw withContext(`read ${abs}`, e);
        }
        const followedTo = rel === '' && o.followTopLinks?.includes(name) ? await folderOutside(abs, rootReal) : undefined;
        if (followedTo) {
          report.followed.push({ path: r, target });
          const dst = await fsp.stat(fsPath(abs));
          entries.push({ path: r, dir: dirAbs, kind: 'dir', stat: entryStat(dst) });
          await visit(abs, followedTo.real, r);
          continue;
        }
        if (leaves(r, target)) report.linksOut.push({ path: r, target });
        entries.push({ path: r, dir: dirAbs, kind: 'symlink', stat: entryStat(st), target });
      } else if (st.isDirectory()) {
        entries.push({ path: r, dir: dirAbs, kind: 'dir', stat: entryStat(st) });
        await visit(abs, real, r);
      } else if (st.isFile()) {
        entries.push({ path: r, dir: dirAbs, kind: 'file', stat: entryStat(st) });
      } else {
        report.special.push(r);
      }
    }
  };
  await visit(rootAbs, rootReal, '');
  return { entries, report };
}

/** A link to a folder that is neither inside the tree nor holds it: its real path; else undefined. */
async function folderOutside(abs: string, rootReal: string): Promise<{ real: string } | undefined> {
  // a link that cannot be followed (dangling, a loop, no permission) is not a folder: stored as a link
  const st = await fsp.stat(fsPath(abs)).catch(() => undefined);
  if (!st?.isDirectory()) return undefined;
  const real = await realName(abs).catch(() => undefined);
  if (!real || under(real, rootReal) || under(rootReal, real)) return undefined;
  return { real };
}

/** Whether a link at rel (relative to the root) with this target points outside the tree. */
function leaves(rel: string, target: string): boolean {
  if (path.posix.isAbsolute(target)) return true;
  const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(rel), target));
  return resolved === '..' || resolved.startsWith('../');
}
