/**
 * Which configs the restored cluster will start with, and so where its files go (placement.ts).
 * The backup carries the launch configs the cluster was started with (`config/<file>_<uuid>`,
 * roles in mo_meta's `launchconfig` rows; cmd/mo-service/launch.go, pkg/backup/backup.go
 * backupConfigFile). For the TN (SHARED) and the log service (hk_data), in this order:
 *  1. `--dn_config_path` (TN only);
 *  2. the backup's copy of that role's config (the files the cluster used);
 *  3. the launch config already at `<restore_path>/<configDir>/tn.toml|log.toml`, when the backup
 *     carries none;
 *  4. MatrixOne's defaults.
 * Where a config already in the restore folder (at the carried config's place, or at
 * `<configDir>/<file>`) would place SHARED or hk_data elsewhere, one note says so (and, for the
 * TN, that --dn_config_path follows it instead).
 * Each carried config goes back to the relative place the carried launch config names for it
 * (`tnservices = ["./etc/other/tn.toml"]`), the n-th carried config of a role and base name to
 * the n-th such path (uuidv7 names sort in the order the server wrote them); else to
 * `<configDir>/<file>`, or `<configDir>/<file>_<uuid>` when another config already goes there.
 * The role of a carried config is its `launchconfig` row in mo_meta, else its `service-type`.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { MobrError, withContext } from '../errors.js';
import type { FileEntry } from '../repo/manifest.js';
import type { FileTable } from '../repo/file-table.js';
import { parseMoMeta } from './layout.js';
import { assertLocalFolder, fileServiceOf, hkDataPlacement, parseServiceConfig, type FileServiceDir, type HkPlacement, type ServiceConfig } from './placement.js';

export interface ClusterPlacement {
  shared: FileServiceDir;
  hk: HkPlacement;
  /** Where the TN and log configs came from ('MatrixOne defaults' when none). */
  tnSource: string;
  logSource: string;
  /** Each carried config's manifest path and where it goes back, relative to the restore path. */
  configs: Map<string, string>;
  /** One line each where a config already in the restore folder disagrees with the backup's. */
  notes: string[];
}

export const UUID_SUFFIX = /_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DEFAULTS = 'MatrixOne defaults';
const MAX_CONFIG = 4 << 20;

async function readAll(chunks: AsyncIterable<Uint8Array>): Promise<string> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const c of chunks) {
    n += c.length;
    if (n > MAX_CONFIG) throw new MobrError('BAD_INPUT', 'a launch config in the backup is larger than 4 MiB');
    parts.push(c);
  }
  return Buffer.concat(parts).toString('utf8');
}

async function readIfThere(file: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw withContext(`read ${file}`, e);
  }
}

type Role = 'dn' | 'log';
interface Candidate {
  role?: string;
  base: string;
  entry: FileEntry;
  /** Where it goes back, relative to the restore path (posix). */
  rel: string;
}

function roleOf(serviceType: string | undefined): Role | undefined {
  return serviceType === 'TN' || serviceType === 'DN' ? 'dn' : serviceType === 'LOG' ? 'log' : undefined;
}

/** launch.toml's lists of service configs, by mo_meta role (cmd/mo-service/config.go LaunchConfig). */
const LAUNCH_LISTS: [string, string][] = [['logservices', 'log'], ['tnservices', 'dn'], ['cnservices', 'cn'], ['proxy-services', 'proxy']];

/** A path a launch config names, as a place under the restore path; undefined when it leaves it. */
function placeUnder(p: unknown): string | undefined {
  if (typeof p !== 'string' || p === '' || path.posix.isAbsolute(p)) return undefined;
  const n = path.posix.normalize(p);
  return n === '.' || n.startsWith('../') || n === '..' ? undefined : n;
}

/** The carried configs with their roles (mo_meta first) and the places they go back to. */
async function carried(t: FileTable, read: (f: FileEntry) => AsyncIterable<Uint8Array>, root: string, configDir: string): Promise<Candidate[]> {
  const roles = new Map<string, string>();
  // the table's rows: an entry object only for mo_meta and the configs (issue #22: a million files)
  const files = (want: (p: string) => boolean) => {
    const out: FileEntry[] = [];
    for (let k = 0; k < t.length; k++) if (t.kind(k) === 'file' && want(t.path(k))) out.push(t.entry(k));
    return out;
  };
  const meta = files((p) => p === 'mo_meta')[0];
  if (meta) {
    for (const row of parseMoMeta(Buffer.from(await readAll(read(meta))))) if (row.type === 'launchconfig') roles.set(row.file, row.subtype);
  }
  const out: Candidate[] = [];
  for (const f of files((p) => p.startsWith('config/'))) {
    const name = f.path.slice(7);
    let role = roles.get(name);
    if (role === undefined) role = roleOf(parseServiceConfig(await readAll(read(f)), f.path, root).serviceType);
    out.push({ role, base: name.replace(UUID_SUFFIX, ''), entry: f, rel: '' });
  }
  const launch = out.find((c) => c.role === 'launch');
  const lists = new Map<string, string[]>();
  if (launch) {
    let doc: Record<string, unknown> = {};
    try {
      doc = parseToml(await readAll(read(launch.entry))) as Record<string, unknown>;
    } catch {
      // not TOML: mo-service could not have started with it; its configs go to configDir
    }
    for (const [key, role] of LAUNCH_LISTS) {
      const v = doc[key];
      lists.set(role, (Array.isArray(v) ? v : []).map(placeUnder).filter((x): x is string => x !== undefined));
    }
  }
  const taken = new Set<string>();
  for (const c of out) {
    const listed = c.role && c.role !== 'launch' ? lists.get(c.role) : undefined;
    const i = listed?.findIndex((p) => path.posix.basename(p) === c.base && !taken.has(p)) ?? -1;
    let rel = i >= 0 ? listed![i]! : path.posix.join(configDir, c.base);
    if (taken.has(rel)) rel = path.posix.join(configDir, c.entry.path.slice(7));
    taken.add(rel);
    c.rel = rel;
  }
  return out;
}

/** `t`: the backup's entries (its manifest's table). */
export async function clusterPlacement(root: string, t: FileTable, read: (f: FileEntry) => AsyncIterable<Uint8Array>, o: { dnConfigPath?: string; configDir: string | null }): Promise<ClusterPlacement> {
  const candidates = await carried(t, read, root, o.configDir ?? 'etc/launch');
  const notes: string[] = [];
  const ofBackup = async (c: Candidate) => parseServiceConfig(await readAll(read(c.entry)), `the backup's ${c.entry.path}`, root);
  /** The folder's own configs a cluster might start with instead: at the carried config's place, or configDir's. */
  const inFolder = async (c: Candidate | undefined, fallback: string): Promise<ServiceConfig[]> => {
    if (o.configDir === null) return [];
    const found: ServiceConfig[] = [];
    for (const rel of new Set([...(c ? [c.rel] : []), path.posix.join(o.configDir, c?.base ?? fallback)])) {
      const text = await readIfThere(path.join(root, ...rel.split('/')));
      if (text !== undefined) found.push(parseServiceConfig(text, rel, root));
    }
    return found;
  };
  const dn = candidates.find((x) => x.role === 'dn');
  const logC = candidates.find((x) => x.role === 'log');
  let tn: ServiceConfig | undefined;
  if (o.dnConfigPath !== undefined) {
    const text = await readIfThere(o.dnConfigPath);
    if (text === undefined) throw new MobrError('NOT_FOUND', `--dn_config_path ${o.dnConfigPath} does not exist`);
    tn = parseServiceConfig(text, o.dnConfigPath, root);
  } else if (dn) {
    tn = await ofBackup(dn);
    const shown = (c: ServiceConfig | undefined) => describeFs(fileServiceOf(c, 'SHARED', root), root);
    for (const own of await inFolder(dn, 'tn.toml')) {
      if (shown(own) !== shown(tn)) notes.push(`${own.source} in the restore path puts SHARED at ${shown(own)}, the backup's ${dn.entry.path} (${dn.rel}) at ${shown(tn)}: restoring for the backup's; give --dn_config_path ${path.join(root, ...own.source.split('/'))} to restore for the folder's`);
    }
  } else tn = (await inFolder(undefined, 'tn.toml'))[0];
  let log: ServiceConfig | undefined;
  if (logC) {
    log = await ofBackup(logC);
    const shown = (c: ServiceConfig | undefined) => describeHk(hkDataPlacement(c, root), root);
    for (const own of await inFolder(logC, 'log.toml')) {
      if (shown(own) !== shown(log)) notes.push(`${own.source} in the restore path reads hk_data from ${shown(own)}, the backup's ${logC.entry.path} (${logC.rel}) from ${shown(log)}: restoring for the backup's`);
    }
  } else log = (await inFolder(undefined, 'log.toml'))[0];
  const tnSource = tn?.source ?? DEFAULTS;
  return {
    shared: assertLocalFolder(fileServiceOf(tn, 'SHARED', root), tnSource),
    hk: hkDataPlacement(log, root),
    tnSource,
    logSource: log?.source ?? DEFAULTS,
    configs: new Map(candidates.map((c) => [c.entry.path, c.rel])),
    notes,
  };
}

const shortPath = (p: string, root: string) => {
  const r = path.relative(root, p).split(path.sep).join('/');
  return r.startsWith('..') || path.isAbsolute(r) ? p : `./${r}`;
};
const describeFs = (fs: FileServiceDir, root: string) => `${shortPath(fs.dir, root)} (${fs.backend})`;
const describeHk = (hk: HkPlacement, root: string) => (hk.file === undefined ? 'nowhere (restore off)' : `${shortPath(hk.file, root)} (${hk.framing === 'crc' ? 'framed' : 'raw'})`);
