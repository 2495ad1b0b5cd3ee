/**
 * `mo_br export <ID> --path <folder> [--raw]`: writes a server backup back out as the folder
 * MatrixOne's BACKUP and mo_br write (src/mo/export.ts): sidecars, backup_meta, and the framing
 * the server wrote (the manifest's `moFraming`): LocalFS framing under tae/ and hakeeper/ as a DISK
 * cluster's FILESYSTEM target has them, raw as a DISK-V2 cluster or an S3 target wrote them;
 * --raw writes raw files whatever the server wrote. The folder checks and restores with `--backup_dir filesystem --backup_path`, by
 * mobr or by MatrixOne's own tools: no backup is locked into mobr's repository format.
 */
import * as path from 'node:path';
import { MobrError } from '../../errors.js';
import { exportBackupLayout } from '../../mo/export.js';
import { checkOutputFolder } from '../../util/output-path.js';
import { intFlag, printJson, type CliContext } from '../context.js';
import { Progress } from '../progress.js';
import { openBackup, type RepoFlags } from '../resolve.js';
import { readSession } from '../../repo/session.js';

export interface ExportFlags extends RepoFlags {
  path?: string;
  raw?: boolean;
  parallelism?: string;
}

export async function runExport(id: string, flags: ExportFlags, ctx: CliContext): Promise<void> {
  if (!flags.path) throw new MobrError('BAD_INPUT', 'missing --path (the new folder that gets the backup in MatrixOne\'s layout)');
  const dir = path.resolve(flags.path);
  checkOutputFolder(dir, '--path'); // before any work; exportBackupLayout checks again for the library
  const parallelism = intFlag(flags.parallelism, '--parallelism', 1, 1024);
  const found = await openBackup(id, flags, ctx, parallelism);
  const progress = new Progress('export', { json: ctx.json });
  try {
    const m = await found.manifest();
    // the framing the server wrote (recorded at ingest), unless --raw asks for raw files
    const raw = flags.raw === true || m.extra?.moFraming === 'raw';
    // under a shared lock, as a restore (spec/gc.md §2.4): a gc meanwhile deletes nothing it reads
    const onProgress = (p: Parameters<typeof progress.update>[0]) => progress.update(p);
    const write = () => exportBackupLayout(found.repo, m, dir, { raw, parallelism, onProgress });
    const done = await readSession(found.repo, { purpose: `export ${m.id}`, signal: ctx.signal }, write);
    progress.done();
    if (ctx.json) printJson(ctx, 'export', { id: m.id, path: dir, framing: raw ? 'raw' : 'crc', files: done.files, bytes: done.bytes });
    else ctx.stdout.write(`Export ID\n    ${m.id}\nPath\n    ${dir}\nexport file num: ${done.files}, framing: ${raw ? 'raw (DISK-V2 or S3)' : 'LocalFS CRC (DISK)'}\n`);
  } finally {
    progress.done();
    await found.close();
  }
}
