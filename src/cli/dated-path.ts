/**
 * mo_ctl's dated backup folders share one repository (README, "mo_ctl users"). mo_ctl's cron full
 * backup runs `mo_br backup … --backup_dir filesystem --path <root>/<yyyymm>/<yyyymmdd_hhmmss>`
 * (bin/auto_backup.sh, BACKUP_DATA_PATH_AUTO_TS=yes, the default), a new folder each run, and its
 * clean step `rm -rf`s dated folders older than BACKUP_CLEAN_DAYS_BEFORE. So that these backups
 * deduplicate against each other:
 *  - a filesystem --path below a folder holding a `.mobr` repository, or shaped as mo_ctl's dated
 *    folder (`<root>/<6 digits>/<8 digits>_<6 digits>`: the repository `<root>/.mobr` is created),
 *    stores into that repository; the --path folder (the "anchor") gets a note naming it;
 *  - `<root>/.mobr-anchors/<ID>` names the anchor of each such backup (an incremental on one
 *    inherits its base's, as mo_br keeps it in the base's folder); both names start with a dot,
 *    so mo_ctl's clean (`ls` of the root) never lists them;
 *  - a later backup into the repository first deletes the backups whose anchor folder is gone
 *    (mo_ctl's `rm -rf`), with their catalog records, and frees what no other backup uses.
 * A --path that is itself a repository (the `.mobr` folder, as `list` shows it) stays as it is.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { withContext } from '../errors.js';
import { ignoreMissing } from '../util/best-effort.js';
import { deleteBackups } from '../repo/delete.js';
import { sameLocation, type FsLocation } from '../store/location.js';
import type { CliContext } from './context.js';
import { openRepository } from './stores.js';

export const SHARED_NAME = '.mobr';
const ANCHORS = '.mobr-anchors';
export const ANCHOR_NOTE = 'mo_br.backup';

export interface SharedRepo {
  /** The repository folder (`<root>/.mobr`). */
  repository: string;
  /** The --path given (the dated folder). */
  anchor: string;
}

const isRepository = async (dir: string) => (await ignoreMissing(fsp.stat(path.join(dir, 'config')))) !== undefined;
const exists = async (p: string) => (await ignoreMissing(fsp.lstat(p))) !== undefined;

/** The shared repository a filesystem --path stores into, or undefined for a repository of its own. */
export async function sharedRepositoryFor(p: string): Promise<SharedRepo | undefined> {
  const anchor = path.resolve(p);
  if (await isRepository(anchor)) return undefined;
  for (let dir = path.dirname(anchor); ; dir = path.dirname(dir)) {
    if (await isRepository(path.join(dir, SHARED_NAME))) return { repository: path.join(dir, SHARED_NAME), anchor };
    if (path.dirname(dir) === dir) break;
  }
  const month = path.dirname(anchor);
  if (/^\d{8}_\d{6}$/.test(path.basename(anchor)) && /^\d{6}$/.test(path.basename(month))) {
    return { repository: path.join(path.dirname(month), SHARED_NAME), anchor };
  }
  return undefined;
}

const anchorsDir = (repository: string) => path.join(path.dirname(repository), ANCHORS);

/** The anchor recorded for a backup of the repository, if any. */
export async function anchorOf(repository: string, id: string): Promise<string | undefined> {
  const text = await ignoreMissing(fsp.readFile(path.join(anchorsDir(repository), id), 'utf8'));
  return text?.trim() || undefined;
}

/** Records a stored backup's anchor, and leaves a note in the anchor folder. */
export async function recordAnchor(repository: string, id: string, anchor: string): Promise<void> {
  try {
    await fsp.mkdir(anchorsDir(repository), { recursive: true });
    await fsp.writeFile(path.join(anchorsDir(repository), id), `${anchor}\n`);
    await fsp.mkdir(anchor, { recursive: true });
    await fsp.writeFile(path.join(anchor, ANCHOR_NOTE), `mobr backup ${id}\nits data is in the repository ${repository}, shared with the other backups of ${path.dirname(repository)}\n`);
  } catch (e) {
    throw withContext(`backup ${id} is stored, but its folder ${anchor} could not be recorded`, e);
  }
}

/** Backups whose anchor folder is gone (mo_ctl's clean removed it): their IDs. */
export async function orphanedBackups(repository: string): Promise<string[]> {
  const ids = (await ignoreMissing(fsp.readdir(anchorsDir(repository)))) ?? [];
  const out: string[] = [];
  for (const id of ids.sort()) {
    const anchor = await anchorOf(repository, id);
    if (anchor && !(await exists(anchor))) out.push(id);
  }
  return out;
}

export async function forgetAnchor(repository: string, id: string): Promise<void> {
  await ignoreMissing(fsp.unlink(path.join(anchorsDir(repository), id)));
}

/**
 * Before a backup into a shared repository: deletes the backups whose anchor folder is gone (and
 * their catalog records), freeing what no other backup uses; returns the IDs. When another process
 * holds the repository the manifests still go and a later gc frees the data (deleteBackups).
 */
export async function forgetRemovedFolders(location: FsLocation, ctx: CliContext): Promise<string[]> {
  if (path.basename(location.path) !== SHARED_NAME) return [];
  const orphans = await orphanedBackups(location.path);
  if (orphans.length === 0) return [];
  const repo = await openRepository(location);
  try {
    const present = new Set(await repo.listBackupIds());
    const ids = orphans.filter((id) => present.has(id));
    if (ids.length > 0) await deleteBackups(repo, ids, { gc: true, signal: ctx.signal });
    await ctx.catalog.update((rs) => rs.filter((r) => !(orphans.includes(r.id) && sameLocation(r.location, location))));
    for (const id of orphans) await forgetAnchor(location.path, id);
    for (const id of orphans) ctx.log?.info('backup forgotten: its folder was removed', { id });
    (ctx.json ? ctx.stderr : ctx.stdout).write(`removed ${orphans.length} backup(s) whose folder is gone: ${orphans.join(', ')}\n`);
    return orphans;
  } finally {
    await repo.close();
  }
}
