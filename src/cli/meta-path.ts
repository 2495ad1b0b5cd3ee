/**
 * The meta file's path is checked before any work: a folder that does not exist would fail only
 * after a backup is stored (the record could not be written), and a fifo (or any non-regular
 * file) would block the read forever.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { MobrError, withContext } from '../errors.js';
import { isMissing } from '../util/best-effort.js';

export async function checkMetaPath(file: string): Promise<void> {
  const abs = path.resolve(file);
  const st = await fsp.stat(abs).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? undefined : Promise.reject(withContext(`meta file ${abs}`, e))));
  if (st) {
    if (st.isDirectory()) throw new MobrError('BAD_INPUT', `meta path ${abs} is a folder; give a file`);
    if (!st.isFile()) throw new MobrError('BAD_INPUT', `meta path ${abs} is not a regular file (a fifo, socket or device); give a file`);
    return;
  }
  const dir = await fsp.stat(path.dirname(abs)).catch((e) => (isMissing(e) ? undefined : Promise.reject(withContext(`meta path ${abs}`, e))));
  if (!dir?.isDirectory()) throw new MobrError('BAD_INPUT', `meta path ${abs}: the folder ${path.dirname(abs)} does not exist`);
}
