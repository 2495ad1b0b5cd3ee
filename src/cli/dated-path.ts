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
 *
 * S3 (`--filepath <root>/<yyyymm>/<yyyymmdd_hhmmss>`, mo_ctl's BACKUP_PHYSICAL_TYPE=s3): the same,
 * with the repository at `<parent>/.mobr/<name>` for a root `<parent>/<name>`, its anchors under
 * `<parent>/.mobr/<name>.anchors/<ID>` and the note as the object `<dated>/mo_br.backup`. Nothing
 * goes below the root: mo_ctl's S3 clean lists it with `mc ls` (which shows names starting with a
 * dot) and removes every entry whose name is not a date, as `[[ "" -le N ]]` holds in bash. A
 * backup's folder is gone when its note object is (mo_ctl's `mc rm --recursive --force`).
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { withContext } from '../errors.js';
import { bestEffort, ignoreMissing } from '../util/best-effort.js';
import { deleteBackups } from '../repo/delete.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';
import { sameLocation, type Location, type S3Credentials, type S3Location } from '../store/location.js';
import type { CliContext } from './context.js';
import { openRepository } from './stores.js';

const SHARED_NAME = '.mobr';
const ANCHORS = '.mobr-anchors';
const ANCHOR_NOTE = 'mo_br.backup';
const DATED = /^(?:(.+)\/)?([A-Za-z0-9._-]+)\/(\d{6})\/(\d{8}_\d{6})$/;

interface SharedRepo {
  /** The repository (`<root>/.mobr`, or on S3 `<parent>/.mobr/<name>`). */
  location: Location;
  /** The --path (or --filepath) given: the dated folder. */
  anchor: string;
}

const isRepository = async (dir: string) => (await ignoreMissing(fsp.stat(path.join(dir, 'config')))) !== undefined;
const exists = async (p: string) => (await ignoreMissing(fsp.lstat(p))) !== undefined;
const trimSlashes = (p: string) => p.replace(/^\/+|\/+$/g, '');

/** The shared repository a backup location stores into, or undefined for a repository of its own. */
export async function sharedRepositoryFor(loc: Location, creds: S3Credentials): Promise<SharedRepo | undefined> {
  return loc.backupDir === 'filesystem' ? sharedFolderFor(loc.path) : sharedPrefixFor(loc, creds);
}

async function sharedFolderFor(p: string): Promise<SharedRepo | undefined> {
  const anchor = path.resolve(p);
  if (await isRepository(anchor)) return undefined;
  const shared = (dir: string): SharedRepo => ({ location: { backupDir: 'filesystem', path: path.join(dir, SHARED_NAME) }, anchor });
  for (let dir = path.dirname(anchor); ; dir = path.dirname(dir)) {
    if (await isRepository(path.join(dir, SHARED_NAME))) return shared(dir);
    if (path.dirname(dir) === dir) break;
  }
  const month = path.dirname(anchor);
  if (/^\d{8}_\d{6}$/.test(path.basename(anchor)) && /^\d{6}$/.test(path.basename(month))) return shared(path.dirname(month));
  return undefined;
}

/** A dated S3 --filepath (not itself a repository already): the shared prefix beside its root. */
async function sharedPrefixFor(loc: S3Location, creds: S3Credentials): Promise<SharedRepo | undefined> {
  const anchor = trimSlashes(loc.filepath ?? '');
  const m = DATED.exec(anchor);
  if (!m) return undefined;
  const store = openStore(loc, { credentials: creds });
  try {
    if (await store.has('config')) return undefined;
  } finally {
    await bestEffort(async () => store.close?.(), `close ${store.location}`);
  }
  const [, parent, name] = m;
  return { location: { ...loc, filepath: [parent, SHARED_NAME, name].filter(Boolean).join('/') }, anchor };
}

/** Where a shared repository's anchors and notes are (undefined: a repository of its own). */
interface AnchorPlace {
  read(id: string): Promise<string | undefined>;
  write(id: string, anchor: string): Promise<void>;
  ids(): Promise<string[]>;
  forget(id: string): Promise<void>;
  /** The anchor folder is still there (mo_ctl's clean has not removed it). */
  present(anchor: string): Promise<boolean>;
  note(anchor: string, text: string): Promise<void>;
  close(): Promise<void>;
}

function anchorPlace(loc: Location, creds: S3Credentials): AnchorPlace | undefined {
  if (loc.backupDir === 'filesystem') return path.basename(loc.path) === SHARED_NAME ? folderPlace(path.join(path.dirname(loc.path), ANCHORS)) : undefined;
  const parts = trimSlashes(loc.filepath ?? '').split('/');
  if (parts.length < 2 || parts[parts.length - 2] !== SHARED_NAME) return undefined;
  const name = parts.pop()!;
  parts.pop();
  return prefixPlace(openStore({ ...loc, filepath: parts.join('/') }, { credentials: creds }), parts.join('/'), `${SHARED_NAME}/${name}.anchors`);
}

function folderPlace(dir: string): AnchorPlace {
  return {
    read: async (id) => (await ignoreMissing(fsp.readFile(path.join(dir, id), 'utf8')))?.trim() || undefined,
    write: async (id, anchor) => {
      await fsp.mkdir(dir, { recursive: true });
      await fsp.writeFile(path.join(dir, id), `${anchor}\n`);
    },
    ids: async () => ((await ignoreMissing(fsp.readdir(dir))) ?? []).sort(),
    forget: async (id) => void (await ignoreMissing(fsp.unlink(path.join(dir, id)))),
    present: exists,
    note: async (anchor, text) => {
      await fsp.mkdir(anchor, { recursive: true });
      await fsp.writeFile(path.join(anchor, ANCHOR_NOTE), text);
    },
    close: async () => undefined,
  };
}

/** Anchors as objects `<anchors>/<ID>` and notes `<dated>/mo_br.backup`, keys below `parent`. */
function prefixPlace(store: Store, parent: string, anchors: string): AnchorPlace {
  const rel = (anchor: string) => (parent === '' ? anchor : anchor.slice(parent.length + 1));
  const text = (s: string) => new TextEncoder().encode(s);
  return {
    read: async (id) => {
      const data = await ignoreMissing(store.get(`${anchors}/${id}`));
      return data === undefined ? undefined : new TextDecoder().decode(data).trim() || undefined;
    },
    write: (id, anchor) => store.put(`${anchors}/${id}`, text(`${anchor}\n`)),
    ids: async () => {
      const out: string[] = [];
      for await (const e of store.list(anchors)) out.push(e.key.slice(anchors.length + 1));
      return out.sort();
    },
    forget: (id) => store.delete(`${anchors}/${id}`),
    present: (anchor) => store.has(`${rel(anchor)}/${ANCHOR_NOTE}`),
    note: (anchor, t) => store.put(`${rel(anchor)}/${ANCHOR_NOTE}`, text(t)),
    close: async () => void (await store.close?.()),
  };
}

/** Runs `work` on the location's anchor place, if it is a shared repository. */
async function withPlace<T>(loc: Location, creds: S3Credentials, work: (p: AnchorPlace) => Promise<T>): Promise<T | undefined> {
  const place = anchorPlace(loc, creds);
  if (!place) return undefined;
  try {
    return await work(place);
  } finally {
    await bestEffort(place.close(), 'close the anchors of a shared repository');
  }
}

const describe = (loc: Location) => (loc.backupDir === 'filesystem' ? loc.path : `s3://${loc.bucket}/${trimSlashes(loc.filepath ?? '')}`);

/** The anchor recorded for a backup of the repository, if any. */
export function anchorOf(loc: Location, creds: S3Credentials, id: string): Promise<string | undefined> {
  return withPlace(loc, creds, (p) => p.read(id));
}

/** Records a stored backup's anchor, and leaves a note in the anchor folder. */
export async function recordAnchor(loc: Location, creds: S3Credentials, id: string, anchor: string): Promise<void> {
  try {
    await withPlace(loc, creds, async (p) => {
      await p.write(id, anchor);
      await p.note(anchor, `mobr backup ${id}\nits data is in the repository ${describe(loc)}, shared with the other backups beside this folder\n`);
    });
  } catch (e) {
    throw withContext(`backup ${id} is stored, but its folder ${anchor} could not be recorded`, e);
  }
}

/** Backups whose anchor folder is gone (mo_ctl's clean removed it): their IDs. */
async function orphanedBackups(p: AnchorPlace): Promise<string[]> {
  const out: string[] = [];
  for (const id of await p.ids()) {
    const anchor = await p.read(id);
    if (anchor && !(await p.present(anchor))) out.push(id);
  }
  return out;
}

/**
 * Before a backup into a shared repository: deletes the backups whose anchor folder is gone (and
 * their catalog records), freeing what no other backup uses; returns the IDs. When another process
 * holds the repository the manifests still go and a later gc frees the data (deleteBackups).
 */
export async function forgetRemovedFolders(location: Location, creds: S3Credentials, ctx: CliContext): Promise<string[]> {
  return (await withPlace(location, creds, (p) => forgetOrphans(p, location, creds, ctx))) ?? [];
}

async function forgetOrphans(p: AnchorPlace, location: Location, creds: S3Credentials, ctx: CliContext): Promise<string[]> {
  const orphans = await orphanedBackups(p);
  if (orphans.length === 0) return [];
  const repo = await openRepository(location, creds);
  try {
    const present = new Set(await repo.listBackupIds());
    const ids = orphans.filter((id) => present.has(id));
    if (ids.length > 0) await deleteBackups(repo, ids, { gc: true, signal: ctx.signal });
    await ctx.catalog.update((rs) => rs.filter((r) => !(orphans.includes(r.id) && sameLocation(r.location, location))));
    for (const id of orphans) await p.forget(id);
    for (const id of orphans) ctx.log?.info('backup forgotten: its folder was removed', { id });
    (ctx.json ? ctx.stderr : ctx.stdout).write(`removed ${orphans.length} backup(s) whose folder is gone: ${orphans.join(', ')}\n`);
    return orphans;
  } finally {
    await repo.close();
  }
}
