/**
 * `mo_br export`: a server backup written back out as the folder MatrixOne's BACKUP and mo_br
 * write (spec/matrixone.md, "What the server writes" and "Native backup folders"), so a backup
 * never depends on mobr to be read:
 *  - `mo_meta`, `config/*`, `tae/*`, `hakeeper/hk_data`, every file of the manifest (rows an
 *    incremental backup marked needCopy=false too: the folder is self-contained);
 *  - `<file>.sha256` (raw 32-byte SHA-256) beside each file MatrixOne writes through writeFile
 *    (`.md5` for the pre-release format the backup came with);
 *  - `backup_meta` (+ `.sha256`), as mo_br writes it: CSV rows `id,<ID>,`, `version,<v>,`,
 *    `buildinfo,<b>,` (pkg/backup/types.go: "backup_meta | mo_meta: ID, Version, Buildinfo");
 *  - framing: a DISK cluster's FILESYSTEM target (the default) frames everything under `tae/`
 *    and `hakeeper/`, sidecars included; `raw` writes what a DISK-V2 cluster writes.
 */
import { promises as fsp } from 'node:fs';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { MobrError, withContext } from '../errors.js';
import { restoreBackup, type RestoreProgress } from '../backup/restore.js';
import type { Manifest } from '../repo/manifest.js';
import type { Repository } from '../repo/repository.js';
import type { WorkerPool } from '../workers/pool.js';
import { frame, frameStream } from './framing.js';
import { formatCsv, parseMoMeta } from './layout.js';
import { checkOutputFolder } from '../util/output-path.js';

const BACKUP_META = 'backup_meta';

interface ExportOptions {
  /** Raw files everywhere (what a DISK-V2 cluster writes); default: LocalFS-framed tae/ and hakeeper/. */
  raw?: boolean;
  parallelism?: number;
  pool?: WorkerPool;
  onProgress?: (p: RestoreProgress) => void;
}

/** Files a DISK cluster's FILESYSTEM backup stores LocalFS-framed (pkg/backup/backup.go). */
const isFramedInBackup = (p: string): boolean => p.startsWith('tae/') || p.startsWith('hakeeper/');

/** backup_meta's text: mo_br's ID, then mo_meta's version and build info. */
function writeBackupMeta(id: string, version: string, buildinfo: string): string {
  return formatCsv([['id', id, ''], ['version', version, ''], ['buildinfo', buildinfo, '']]);
}

export async function exportBackupLayout(repo: Repository, m: Manifest, dir: string, o: ExportOptions = {}): Promise<RestoreProgress> {
  if (m.source.kind !== 'matrixone') throw new MobrError('BAD_INPUT', `backup ${m.id} is not a backup of a MatrixOne server (a cold backup is a plain mo-data folder: restore it)`);
  const root = path.resolve(dir);
  checkOutputFolder(root, '--path'); // never inside a repository (spec/reliability.md, the output rule)
  const present = await fsp.readdir(root).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [];
    throw withContext(`--path ${root}`, e);
  });
  if (present.length > 0) throw new MobrError('BAD_INPUT', `--path ${root} is not empty; export writes a new folder`);
  const framed = (p: string) => !o.raw && isFramedInBackup(p);
  const done = await restoreBackup(repo, m, root, {
    pool: o.pool,
    parallelism: o.parallelism,
    encode: (f) => (framed(f.path) ? frameStream : undefined),
    onProgress: o.onProgress,
  });
  const put = async (rel: string, data: Uint8Array) => {
    const file = path.join(root, ...rel.split('/'));
    await fsp.writeFile(file, framed(rel) ? frame(data) : data, { flag: 'wx' }).catch((e) => Promise.reject(withContext(`export ${rel}`, e)));
  };
  for (const f of m.files) {
    if (f.kind !== 'file' || !f.meta?.sidecar) continue;
    if (f.meta.sidecar === 'sha256') await put(`${f.path}.sha256`, f.sha256!);
    else if (f.meta.sidecar === 'md5' && f.meta.md5) await put(`${f.path}.md5`, Buffer.from(f.meta.md5, 'hex'));
  }
  let version = '';
  let buildinfo = '';
  if (m.files.some((f) => f.path === 'mo_meta' && f.kind === 'file')) {
    // mo_meta is never framed: read back what was just written
    for (const row of parseMoMeta(await fsp.readFile(path.join(root, 'mo_meta')))) {
      if (row.type === 'version') version = row.version;
      else if (row.type === 'buildinfo') buildinfo = row.buildinfo;
    }
  }
  const text = Buffer.from(writeBackupMeta(m.id, version, buildinfo));
  await put(BACKUP_META, text);
  await put(`${BACKUP_META}.sha256`, createHash('sha256').update(text).digest());
  return done;
}
