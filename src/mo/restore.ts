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
import { restoreBackup, type RestoreProgress } from '../backup/restore.js';
import { readFileChunks } from '../backup/reader.js';
import { assertSafeRelPath } from '../backup/paths.js';
import type { FileEntry, Manifest } from '../repo/manifest.js';
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
  /** Called per file: `shown` is mo_br's `<x> => mo-data/shared/<x>` form for TAE files. */
  onFile?: (f: FileEntry, shown: { from: string; to: string; tae: boolean }) => void;
  onSkip?: (f: FileEntry, why: string) => void;
  onProgress?: (p: RestoreProgress) => void;
  /** Stops the restore between files and chunks (INTERRUPTED); no partial file is left. */
  signal?: AbortSignal;
}

interface MoRestoreResult extends RestoreProgress {
  layout: MoRestoreLayout;
  taeFiles: number;
}

/** Files that describe a server backup rather than hold the cluster's data. */
export const DESCRIPTIVE = new Set(['tae/tae_list', 'tae/tae_sum', 'mo_meta', 'backup_meta']);

interface Planned {
  f: FileEntry;
  abs: string;
  framed: boolean;
  tae: boolean;
  from: string;
}

export async function restoreMatrixOne(repo: Repository | undefined, m: Manifest, restorePath: string, o: MoRestoreOptions = {}): Promise<MoRestoreResult> {
  const root = path.resolve(restorePath);
  // any other backup (the library's backup of a folder) restores as it is into the restore path
  const kind = m.source.kind === 'cold' ? 'cold' : m.source.kind === 'matrixone' ? 'matrixone' : 'tree';
  for (const f of m.files) assertSafeRelPath(f.path); // before any path.join, which would resolve `..`
  const ownPool = !o.read && !o.pool;
  const pool = o.read ? undefined : o.pool ?? await jobPool(m.files.reduce((s, f) => s + f.size, 0), o.parallelism);
  const read = o.read ?? ((f: FileEntry) => readFileChunks(repo!, pool!, f));
  try {
    const rel = (abs: string) => path.relative(root, abs).split(path.sep).join('/');
    const inside = (abs: string) => !rel(abs).startsWith('..') && !path.isAbsolute(rel(abs));
    const configDir = o.configDir === undefined ? 'etc/launch' : o.configDir;
    const cluster = kind === 'matrixone' ? await clusterPlacement(root, m, read, { dnConfigPath: o.dnConfigPath, configDir }) : undefined;
    const sharedDir = cluster?.shared.dir ?? path.join(root, 'mo-data', 'shared');
    const layout: MoRestoreLayout = { taePath: inside(sharedDir) ? `./${rel(sharedDir)}` : sharedDir, kind, cluster };
    const plan = kind === 'matrixone' ? await serverPlan(m, root, cluster!, configDir, o.onSkip) : coldPlan(m, kind === 'cold' ? path.join(root, 'mo-data') : root);
    await assertFreeOutside(plan, path.join(root, 'mo-data'));
    o.onLayout?.(layout);
    const total: MoRestoreResult = { bytes: 0, totalBytes: 0, files: 0, totalFiles: 0, layout, taeFiles: 0 };
    // one restoreBackup per destination root: the restore path, and any folder outside it
    const roots = new Map<string, Planned[]>();
    for (const p of plan) {
      const r = inside(p.abs) ? root : p.tae ? sharedDir : path.dirname(p.abs);
      (roots.get(r) ?? roots.set(r, []).get(r)!).push(p);
    }
    for (const [r, items] of roots) {
      const byEntry = new Map(items.map((p) => [p.f, p]));
      const done = await restoreBackup(repo, m, r, {
        pool,
        parallelism: o.parallelism,
        signal: o.signal,
        // a caller's reader only: files read from the repository and written as their plain bytes
        // are restored by pack (restore-packs.ts), not streamed one by one (issue #22)
        read: o.read,
        encode: (f) => (byEntry.get(f)?.framed ? frameStream : undefined),
        mapPath: (f) => {
          const p = byEntry.get(f);
          return p ? path.relative(r, p.abs).split(path.sep).join('/') : undefined;
        },
        onFile: (f) => {
          const p = byEntry.get(f)!;
          o.onFile?.(f, { from: p.from, to: inside(p.abs) ? rel(p.abs) : p.abs, tae: p.tae });
        },
        onProgress: (pr) => o.onProgress?.({ bytes: total.bytes + pr.bytes, totalBytes: total.totalBytes + pr.totalBytes, files: total.files + pr.files, totalFiles: total.totalFiles + pr.totalFiles }),
      });
      total.bytes += done.bytes;
      total.totalBytes += done.totalBytes;
      total.files += done.files;
      total.totalFiles += done.totalFiles;
    }
    total.taeFiles = plan.filter((p) => p.tae).length;
    return total;
  } finally {
    if (ownPool) await pool!.close();
  }
}

function coldPlan(m: Manifest, dir: string): Planned[] {
  // every entry: a cold backup also gives back folders (empty ones too) and links
  return m.files.map((f) => ({ f, abs: path.join(dir, ...f.path.split('/')), framed: false, tae: false, from: f.path }));
}

async function serverPlan(m: Manifest, root: string, cluster: ClusterPlacement, configDir: string | null, onSkip: MoRestoreOptions['onSkip']): Promise<Planned[]> {
  const plan: Planned[] = [];
  for (const f of m.files) {
    if (f.kind !== 'file' || DESCRIPTIVE.has(f.path)) continue;
    if (f.path.startsWith('tae/')) {
      const x = f.path.slice(4);
      plan.push({ f, abs: path.join(cluster.shared.dir, ...x.split('/')), framed: cluster.shared.framing === 'crc', tae: true, from: x });
    } else if (f.path === 'hakeeper/hk_data') {
      if (cluster.hk.file === undefined) onSkip?.(f, `not restored: ${cluster.hk.via}`);
      else plan.push({ f, abs: cluster.hk.file, framed: cluster.hk.framing === 'crc', tae: false, from: f.path });
    } else if (f.path.startsWith('config/')) {
      if (configDir === null) continue;
      const rel = cluster.configs.get(f.path) ?? path.posix.join(configDir, f.path.slice(7).replace(UUID_SUFFIX, ''));
      const abs = path.join(root, ...rel.split('/'));
      if (await exists(abs)) {
        onSkip?.(f, `${path.relative(root, abs)} exists; left as it is`);
        continue;
      }
      plan.push({ f, abs, framed: false, tae: false, from: f.path });
    } else {
      onSkip?.(f, 'not part of a MatrixOne data folder');
    }
  }
  return plan;
}

/** Whether something is at p (a link counts, followed or not); a failure other than "not there" is thrown. */
async function exists(p: string): Promise<boolean> {
  return (await ignoreMissing(fsp.lstat(p)).catch((e) => Promise.reject(withContext(`restore: ${p}`, e)))) !== undefined;
}

/** A destination outside `<restore_path>/mo-data` (a config's absolute data-dir) is never overwritten. */
async function assertFreeOutside(plan: Planned[], moData: string): Promise<void> {
  for (const p of plan) {
    const r = path.relative(moData, p.abs);
    if ((!r.startsWith('..') && !path.isAbsolute(r)) || !(p.tae || p.from === 'hakeeper/hk_data')) continue;
    if (await exists(p.abs)) {
      throw new MobrError('BAD_INPUT', `${p.abs} already exists; stop MatrixOne and remove it first (restore never overwrites cluster data)`);
    }
  }
}
