/**
 * Restoring a MatrixOne backup into the folders a stopped cluster reads (spec/matrixone.md,
 * "Restore side"; MatrixOne must be stopped and its mo-data removed first):
 *  - server backups (`source.kind === 'matrixone'`): TAE files `tae/<x>` (objects, `ckp/`, `gc/`)
 *    go to the TN's SHARED fileservice folder, `hakeeper/hk_data` to where the log service reads
 *    it (placement.ts; the configs come from `--dn_config_path`, else the launch configs
 *    carried by the backup or at the restore path (cluster.ts), else MatrixOne's defaults: DISK at `mo-data/shared`
 *    and `mo-data/local`). Files of a DISK fileservice are written LocalFS-framed as they stream
 *    (never raw first). The launch configs `config/<file>_<uuid>` go back to the places the
 *    carried launch config names (cluster.ts), else `<restore_path>/etc/launch/<file>`, unless a
 *    file is already there (never overwritten). tae_list, tae_sum, mo_meta and backup_meta
 *    describe the backup, not the data.
 *  - cold backups (`source.kind === 'cold'`, a stopped MatrixOne's mo-data): every file back
 *    under `<restore_path>/mo-data/` as it was.
 * The bytes come from a repository, or from `read` (a native backup folder, native.ts).
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { MobrError, withContext } from '../errors.js';
import { ignoreMissing } from '../util/best-effort.js';
import { restoreBackup, type Encoding, type RestoreProgress } from '../backup/restore.js';
import { readFileChunks } from '../backup/reader.js';
import { assertSafeRelPath } from '../backup/paths.js';
import { fileTable, type FileEntry, type Manifest } from '../repo/manifest.js';
import type { FileTable } from '../repo/file-table.js';
import type { Repository } from '../repo/repository.js';
import { jobPool, type WorkerPool } from '../workers/pool.js';
import { frameStream } from './framing.js';
import { UUID_SUFFIX, clusterPlacement, type ClusterPlacement } from './cluster.js';

interface MoRestoreLayout {
  /** mo_br's `TaePath` line: `./mo-data/shared` (relative to the restore path when inside it). */
  taePath: string;
  kind: 'matrixone' | 'cold' | 'tree';
  /** Where SHARED and hk_data are, and which configs said so (server backups). */
  cluster?: ClusterPlacement;
}

interface MoRestoreOptions {
  /** The TN (DN) config naming the SHARED fileservice folder and backend. */
  dnConfigPath?: string;
  /** Folder (relative to the restore path) that gets the launch configs back; null: skip them. */
  configDir?: string | null;
  parallelism?: number;
  pool?: WorkerPool;
  /** The plain bytes of a file, when they do not come from the repository. */
  read?: (f: FileEntry) => AsyncIterable<Uint8Array>;
  /** Called once before any file is written (for the From:/To/TaePath header). */
  onLayout?: (l: MoRestoreLayout) => void;
  /** Called per file with its manifest path: `shown` is mo_br's `<x> => mo-data/shared/<x>` form for TAE files. */
  onFile?: (path: string, shown: { from: string; to: string; tae: boolean }) => void;
  onSkip?: (f: FileEntry, why: string) => void;
  onProgress?: (p: RestoreProgress) => void;
  /** Stops the restore between files and chunks (INTERRUPTED); no partial file is left. */
  signal?: AbortSignal;
}

interface MoRestoreResult extends RestoreProgress {
  layout: MoRestoreLayout;
  taeFiles: number;
  /** The TAE files restored, in the manifest's (path) order, as onFile shows them; made when asked. */
  taeShown: () => Iterable<{ from: string; to: string }>;
}

/**
 * LocalFS framing as a restore encoding: streamed for a file of several chunks, and applied by
 * the restore's workers to a one-chunk file restored by pack (most TAE objects of a DISK cluster).
 */
const LOCALFS: Encoding = Object.assign((plain: AsyncIterable<Uint8Array>) => frameStream(plain), { whole: 'localfs' as const });

/** Files that describe a server backup rather than hold the cluster's data. */
export const DESCRIPTIVE = new Set(['tae/tae_list', 'tae/tae_sum', 'mo_meta', 'backup_meta']);

/** Where a restored row goes: its absolute path, framed or raw, a TAE object or not, and its name as mo_br shows it. */
interface Placed {
  abs: string;
  framed: boolean;
  tae: boolean;
  from: string;
}

/** Row k's place (undefined: not restored), made when asked: nothing is kept a file (issue #22: a million files). */
type Placer = (k: number) => Placed | undefined;

export async function restoreMatrixOne(repo: Repository | undefined, m: Manifest, restorePath: string, o: MoRestoreOptions = {}): Promise<MoRestoreResult> {
  const root = path.resolve(restorePath);
  // any other backup (the library's backup of a folder) restores as it is into the restore path
  const kind = m.source.kind === 'cold' ? 'cold' : m.source.kind === 'matrixone' ? 'matrixone' : 'tree';
  const t = fileTable(m); // rows, not entry objects (the table restoreBackup reads too)
  let bytes = 0;
  for (let k = 0; k < t.length; k++) {
    assertSafeRelPath(t.path(k)); // before any path.join, which would resolve `..`
    if (t.kind(k) === 'file') bytes += t.size(k);
  }
  const ownPool = !o.read && !o.pool;
  const pool = o.read ? undefined : o.pool ?? await jobPool(bytes, o.parallelism);
  const read = o.read ?? ((f: FileEntry) => readFileChunks(repo!, pool!, f));
  try {
    const rel = (abs: string) => path.relative(root, abs).split(path.sep).join('/');
    const inside = (abs: string) => !rel(abs).startsWith('..') && !path.isAbsolute(rel(abs));
    const configDir = o.configDir === undefined ? 'etc/launch' : o.configDir;
    const cluster = kind === 'matrixone' ? await clusterPlacement(root, t, read, { dnConfigPath: o.dnConfigPath, configDir }) : undefined;
    const sharedDir = cluster?.shared.dir ?? path.join(root, 'mo-data', 'shared');
    const layout: MoRestoreLayout = { taePath: inside(sharedDir) ? `./${rel(sharedDir)}` : sharedDir, kind, cluster };
    const place = kind === 'matrixone' ? await serverPlan(t, root, cluster!, configDir, o.onSkip) : coldPlan(t, kind === 'cold' ? path.join(root, 'mo-data') : root);
    await assertFreeOutside(t, place, path.join(root, 'mo-data'), sharedDir);
    o.onLayout?.(layout);
    // one restoreBackup per destination root (the restore path, and any folder outside it): row k's is roots[group[k] - 1]
    const { roots, group, taeFiles } = destinationRoots(t, place, root, sharedDir);
    const shown = (p: Placed) => ({ from: p.from, to: inside(p.abs) ? rel(p.abs) : p.abs, tae: p.tae });
    const taeShown = function* () {
      for (let k = 0; k < t.length; k++) {
        const p = group[k] === 0 ? undefined : place(k);
        if (p?.tae) yield shown(p);
      }
    };
    const total: MoRestoreResult = { bytes: 0, totalBytes: 0, files: 0, totalFiles: 0, layout, taeFiles: 0, taeShown };
    for (let i = 0; i < roots.length; i++) {
      const r = roots[i];
      const done = await restoreBackup(repo, m, r, {
        pool,
        parallelism: o.parallelism,
        signal: o.signal,
        // a caller's reader only: files read from the repository and written as their plain bytes
        // are restored by pack (restore-packs.ts), not streamed one by one (issue #22)
        read: o.read,
        byRow: {
          path: (k) => (group[k] === i + 1 ? path.relative(r, place(k)!.abs).split(path.sep).join('/') : undefined),
          encode: (k) => (place(k)!.framed ? LOCALFS : undefined),
          onFile: o.onFile && ((k) => o.onFile!(t.path(k), shown(place(k)!))),
        },
        onProgress: (pr) => o.onProgress?.({ bytes: total.bytes + pr.bytes, totalBytes: total.totalBytes + pr.totalBytes, files: total.files + pr.files, totalFiles: total.totalFiles + pr.totalFiles }),
      });
      total.bytes += done.bytes;
      total.totalBytes += done.totalBytes;
      total.files += done.files;
      total.totalFiles += done.totalFiles;
    }
    total.taeFiles = taeFiles;
    return total;
  } finally {
    if (ownPool) await pool!.close();
  }
}

/** Each restored row's destination root (the restore path, the SHARED folder outside it, or a file's own folder), in row order. */
function destinationRoots(t: FileTable, place: Placer, root: string, sharedDir: string): { roots: string[]; group: Uint32Array; taeFiles: number } {
  const roots: string[] = [];
  const group = new Uint32Array(t.length); // 0: not restored
  let taeFiles = 0;
  const under = (dir: string, abs: string) => {
    const r = path.relative(dir, abs);
    return !r.startsWith('..') && !path.isAbsolute(r);
  };
  const sharedInside = under(root, sharedDir); // then so is every TAE file (its path is safe: no `..`)
  for (let k = 0; k < t.length; k++) {
    const p = place(k);
    if (!p) continue;
    if (p.tae) taeFiles++;
    const r = (p.tae && sharedInside) || under(root, p.abs) ? root : p.tae ? sharedDir : path.dirname(p.abs);
    let i = roots.indexOf(r);
    if (i < 0) i = roots.push(r) - 1;
    group[k] = i + 1;
  }
  return { roots, group, taeFiles };
}

function coldPlan(t: FileTable, dir: string): Placer {
  // every entry: a cold backup also gives back folders (empty ones too) and links
  return (k) => ({ abs: path.join(dir, ...t.path(k).split('/')), framed: false, tae: false, from: t.path(k) });
}

async function serverPlan(t: FileTable, root: string, cluster: ClusterPlacement, configDir: string | null, onSkip: MoRestoreOptions['onSkip']): Promise<Placer> {
  const others = new Map<number, Placed>(); // hk_data and the launch configs: a few rows
  for (let k = 0; k < t.length; k++) {
    const p = t.path(k);
    if (t.kind(k) !== 'file' || DESCRIPTIVE.has(p) || p.startsWith('tae/')) continue;
    if (p === 'hakeeper/hk_data') {
      if (cluster.hk.file === undefined) onSkip?.(t.entry(k), `not restored: ${cluster.hk.via}`);
      else others.set(k, { abs: cluster.hk.file, framed: cluster.hk.framing === 'crc', tae: false, from: p });
    } else if (p.startsWith('config/')) {
      if (configDir === null) continue;
      const rel = cluster.configs.get(p) ?? path.posix.join(configDir, p.slice(7).replace(UUID_SUFFIX, ''));
      const abs = path.join(root, ...rel.split('/'));
      if (await exists(abs)) {
        onSkip?.(t.entry(k), `${path.relative(root, abs)} exists; left as it is`);
        continue;
      }
      others.set(k, { abs, framed: false, tae: false, from: p });
    } else {
      onSkip?.(t.entry(k), 'not part of a MatrixOne data folder');
    }
  }
  const shared = cluster.shared.dir;
  const framed = cluster.shared.framing === 'crc';
  return (k) => {
    const p = t.path(k);
    if (t.kind(k) !== 'file' || DESCRIPTIVE.has(p)) return undefined;
    if (!p.startsWith('tae/')) return others.get(k);
    const x = p.slice(4);
    return { abs: path.join(shared, ...x.split('/')), framed, tae: true, from: x };
  };
}

/** Whether something is at p (a link counts, followed or not); a failure other than "not there" is thrown. */
async function exists(p: string): Promise<boolean> {
  return (await ignoreMissing(fsp.lstat(p)).catch((e) => Promise.reject(withContext(`restore: ${p}`, e)))) !== undefined;
}

/** A destination outside `<restore_path>/mo-data` (a config's absolute data-dir) is never overwritten. */
async function assertFreeOutside(t: FileTable, place: Placer, moData: string, sharedDir: string): Promise<void> {
  const under = (abs: string) => {
    const r = path.relative(moData, abs);
    return !r.startsWith('..') && !path.isAbsolute(r);
  };
  const sharedInside = under(sharedDir); // then so is every TAE file (its path is safe: no `..`)
  for (let k = 0; k < t.length; k++) {
    const p = place(k);
    if (!p || !(p.tae || p.from === 'hakeeper/hk_data') || (p.tae && sharedInside) || under(p.abs)) continue;
    if (await exists(p.abs)) {
      throw new MobrError('BAD_INPUT', `${p.abs} already exists; stop MatrixOne and remove it first (restore never overwrites cluster data)`);
    }
  }
}
