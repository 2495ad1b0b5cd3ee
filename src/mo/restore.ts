/**
 * Restoring a MatrixOne backup the way MatrixOne's restore lays it out (spec/matrixone.md,
 * "Restore side"; MatrixOne must be stopped and its mo-data removed first):
 *  - server backups (`source.kind === 'matrixone'`): TAE files `tae/<x>` (objects, `ckp/`, `gc/`)
 *    go to the SHARED fileservice folder (`<restore_path>/mo-data/shared/<x>`, or the TN config's
 *    SHARED data-dir with `dnConfigPath`, LocalFS-framed when its backend is DISK);
 *    `hakeeper/hk_data` goes to the LOCAL fileservice as `hk_data`, the log service's default
 *    `bootstrap.restore.file-path`; the launch configs `config/<file>_<uuid>` go back to
 *    `<restore_path>/etc/launch/<file>` unless a file of that name is already there (never
 *    overwritten). tae_list, tae_sum and mo_meta describe the backup, not the data: they are not
 *    written into mo-data; `exportBackupLayout` writes the backup folder itself, sidecars included.
 *  - cold backups (`source.kind === 'cold'`, a stopped MatrixOne's mo-data): every file back
 *    under `<restore_path>/mo-data/` as it was.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { MobrError } from '../errors.js';
import { restoreBackup, type RestoreProgress } from '../backup/restore.js';
import { assertSafeRelPath } from '../backup/paths.js';
import type { FileEntry, Manifest } from '../repo/manifest.js';
import type { Repository } from '../repo/repository.js';
import type { WorkerPool } from '../workers/pool.js';
import { frameFileInPlace } from './framing.js';
import { tnStorage, type TnStorage } from './tnconfig.js';

export interface MoRestoreLayout {
  /** mo_br's `TaePath` line: `./mo-data/shared` (relative to the restore path when inside it). */
  taePath: string;
  storage: TnStorage;
  kind: 'matrixone' | 'cold';
}

export interface MoRestoreOptions {
  /** The TN (DN) config naming the SHARED fileservice folder and backend. */
  dnConfigPath?: string;
  /** Folder (relative to the restore path) that gets the launch configs back; null: skip them. */
  configDir?: string | null;
  parallelism?: number;
  pool?: WorkerPool;
  /** Called once before any file is written (for the From:/To/TaePath header). */
  onLayout?: (l: MoRestoreLayout) => void;
  /** Called per file: `shown` is mo_br's `<x> => mo-data/shared/<x>` form for TAE files. */
  onFile?: (f: FileEntry, shown: { from: string; to: string; tae: boolean }) => void;
  onSkip?: (f: FileEntry, why: string) => void;
  onProgress?: (p: RestoreProgress) => void;
}

export interface MoRestoreResult extends RestoreProgress {
  layout: MoRestoreLayout;
  taeFiles: number;
}

const UUID_SUFFIX = /_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export async function restoreMatrixOne(repo: Repository, m: Manifest, restorePath: string, o: MoRestoreOptions = {}): Promise<MoRestoreResult> {
  const root = path.resolve(restorePath);
  const kind = m.source.kind === 'cold' ? 'cold' : m.source.kind === 'matrixone' ? 'matrixone' : undefined;
  if (!kind) throw new MobrError('BAD_INPUT', `backup ${m.id} is neither a MatrixOne server backup nor a cold backup of mo-data`);
  const storage = await tnStorage(root, o.dnConfigPath);
  const rel = (abs: string) => path.relative(root, abs).split(path.sep).join('/');
  const inside = (abs: string) => !rel(abs).startsWith('..') && !path.isAbsolute(rel(abs));
  const taePath = inside(storage.shared.dir) ? `./${rel(storage.shared.dir)}` : storage.shared.dir;
  const layout: MoRestoreLayout = { taePath, storage, kind };
  o.onLayout?.(layout);

  // destination of each file: absolute path, and whether it lives in a framed fileservice
  const plan: { f: FileEntry; abs: string; framed: boolean; tae: boolean; from: string }[] = [];
  const configDir = o.configDir === undefined ? 'etc/launch' : o.configDir;
  for (const f of m.files) {
    if (f.kind !== 'file') continue;
    assertSafeRelPath(f.path); // before path.join, which would resolve `..` out of every root
    if (kind === 'cold') {
      plan.push({ f, abs: path.join(root, 'mo-data', ...f.path.split('/')), framed: false, tae: false, from: f.path });
    } else if (f.path === 'tae/tae_list' || f.path === 'tae/tae_sum' || f.path === 'mo_meta') {
      continue;
    } else if (f.path.startsWith('tae/')) {
      const x = f.path.slice(4);
      plan.push({ f, abs: path.join(storage.shared.dir, ...x.split('/')), framed: storage.shared.framing === 'crc', tae: true, from: x });
    } else if (f.path === 'hakeeper/hk_data') {
      plan.push({ f, abs: path.join(storage.local.dir, 'hk_data'), framed: storage.local.framing === 'crc', tae: false, from: f.path });
    } else if (f.path.startsWith('config/')) {
      if (configDir === null) continue;
      const abs = path.join(root, ...configDir.split('/'), f.path.slice(7).replace(UUID_SUFFIX, ''));
      if (await fsp.stat(abs).catch(() => undefined)) {
        o.onSkip?.(f, `${rel(abs)} exists; left as it is`);
        continue;
      }
      plan.push({ f, abs, framed: false, tae: false, from: f.path });
    } else {
      o.onSkip?.(f, 'not part of a MatrixOne data folder');
    }
  }

  // one restoreBackup per destination root: the restore path, and any folder outside it
  const roots = new Map<string, typeof plan>();
  for (const p of plan) {
    const under = (d: string) => !path.relative(d, p.abs).startsWith('..');
    const r = inside(p.abs) ? root : under(storage.shared.dir) ? storage.shared.dir : under(storage.local.dir) ? storage.local.dir : path.dirname(p.abs);
    (roots.get(r) ?? roots.set(r, []).get(r)!).push(p);
  }
  const total: MoRestoreResult = { bytes: 0, totalBytes: 0, files: 0, totalFiles: 0, layout, taeFiles: 0 };
  for (const [r, items] of roots) {
    const byEntry = new Map(items.map((p) => [p.f, p]));
    const done = await restoreBackup(repo, m, r, {
      pool: o.pool,
      parallelism: o.parallelism,
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
  for (const p of plan) {
    if (p.framed) await frameFileInPlace(p.abs);
    if (p.tae) total.taeFiles++;
  }
  return total;
}

/**
 * Writes a server backup back as the folder MatrixOne's BACKUP wrote (mo_meta, config/*,
 * tae/*, hakeeper/hk_data), re-emitting the checksum sidecars MatrixOne's tooling checks
 * (`<file>.sha256` raw 32 bytes, or `.md5` for the pre-release format). Rows an incremental
 * backup marked needCopy=false are written too: the folder is self-contained.
 */
export async function exportBackupLayout(repo: Repository, m: Manifest, dir: string, o: { parallelism?: number; pool?: WorkerPool } = {}): Promise<RestoreProgress> {
  if (m.source.kind !== 'matrixone') throw new MobrError('BAD_INPUT', `backup ${m.id} is not a MatrixOne server backup`);
  const done = await restoreBackup(repo, m, dir, { pool: o.pool, parallelism: o.parallelism });
  for (const f of m.files) {
    if (f.kind !== 'file' || !f.meta?.sidecar) continue;
    const file = path.join(path.resolve(dir), ...f.path.split('/'));
    if (f.meta.sidecar === 'sha256') await fsp.writeFile(`${file}.sha256`, f.sha256!);
    else if (f.meta.sidecar === 'md5' && f.meta.md5) await fsp.writeFile(`${file}.md5`, Buffer.from(f.meta.md5, 'hex'));
  }
  return done;
}
