/**
 * Which configs the restored cluster will start with, and so where its files go (placement.ts).
 * For the TN (SHARED) and the log service (hk_data), in this order:
 *  1. `--dn_config_path` (TN only);
 *  2. the launch config already at `<restore_path>/<configDir>/<file>` (restore never replaces
 *     it, so the cluster starts with it), `<file>` being the name of the backup's copy without
 *     its `_<uuid>` suffix, or `tn.toml` / `log.toml` when the backup carries none;
 *  3. the backup's copy `config/<file>_<uuid>` (restored to that place);
 *  4. MatrixOne's defaults.
 * The role of a carried config is its `launchconfig` row in mo_meta (`dn`, `log`), else its
 * `service-type`.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { MobrError, withContext } from '../errors.js';
import type { FileEntry, Manifest } from '../repo/manifest.js';
import { parseMoMeta } from './layout.js';
import { assertLocalFolder, fileServiceOf, hkDataPlacement, parseServiceConfig, type FileServiceDir, type HkPlacement, type ServiceConfig } from './placement.js';

export interface ClusterPlacement {
  shared: FileServiceDir;
  hk: HkPlacement;
  /** Where the TN and log configs came from ('MatrixOne defaults' when none). */
  tnSource: string;
  logSource: string;
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
  role?: Role;
  base: string;
  entry: FileEntry;
}

function roleOf(serviceType: string | undefined): Role | undefined {
  return serviceType === 'TN' || serviceType === 'DN' ? 'dn' : serviceType === 'LOG' ? 'log' : undefined;
}

/** The carried configs with their roles (mo_meta first). */
async function carried(m: Manifest, read: (f: FileEntry) => AsyncIterable<Uint8Array>, root: string): Promise<Candidate[]> {
  const roles = new Map<string, string>();
  const meta = m.files.find((f) => f.path === 'mo_meta' && f.kind === 'file');
  if (meta) {
    for (const row of parseMoMeta(Buffer.from(await readAll(read(meta))))) if (row.type === 'launchconfig') roles.set(row.file, row.subtype);
  }
  const out: Candidate[] = [];
  for (const f of m.files) {
    if (f.kind !== 'file' || !f.path.startsWith('config/')) continue;
    const name = f.path.slice(7);
    let role = roles.get(name) as Role | undefined;
    if (role !== 'dn' && role !== 'log') role = roles.has(name) ? undefined : roleOf(parseServiceConfig(await readAll(read(f)), f.path, root).serviceType);
    out.push({ role, base: name.replace(UUID_SUFFIX, ''), entry: f });
  }
  return out;
}

export async function clusterPlacement(root: string, m: Manifest, read: (f: FileEntry) => AsyncIterable<Uint8Array>, o: { dnConfigPath?: string; configDir: string | null }): Promise<ClusterPlacement> {
  const candidates = await carried(m, read, root);
  const effective = async (role: Role, fallback: string): Promise<ServiceConfig | undefined> => {
    const c = candidates.find((x) => x.role === role);
    if (o.configDir !== null) {
      const rel = path.posix.join(o.configDir, c?.base ?? fallback);
      const text = await readIfThere(path.join(root, ...rel.split('/')));
      if (text !== undefined) return parseServiceConfig(text, rel, root);
    }
    if (c) return parseServiceConfig(await readAll(read(c.entry)), `the backup's ${c.entry.path}`, root);
    return undefined;
  };
  let tn: ServiceConfig | undefined;
  if (o.dnConfigPath !== undefined) {
    const text = await readIfThere(o.dnConfigPath);
    if (text === undefined) throw new MobrError('NOT_FOUND', `--dn_config_path ${o.dnConfigPath} does not exist`);
    tn = parseServiceConfig(text, o.dnConfigPath, root);
  } else tn = await effective('dn', 'tn.toml');
  const log = await effective('log', 'log.toml');
  const tnSource = tn?.source ?? DEFAULTS;
  return {
    shared: assertLocalFolder(fileServiceOf(tn, 'SHARED', root), tnSource),
    hk: hkDataPlacement(log, root),
    tnSource,
    logSource: log?.source ?? DEFAULTS,
  };
}
