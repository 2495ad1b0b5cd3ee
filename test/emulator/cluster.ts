/**
 * The emulated cluster's launch configs (etc/launch/*.toml, shaped like MatrixOne's shipped
 * ones) and how a MatrixOne reads them (cmd/mo-service/config.go, pkg/fileservice/config.go,
 * pkg/logservice/config.go, read with smol-toml):
 *  - each service's fileservices come from its own file's [[fileservice]] tables; a missing
 *    LOCAL or SHARED is DISK at `<data-dir>/<lowercase name>`; an entry without data-dir gets
 *    that same default; relative dirs are relative to the MatrixOne home (mo-service's cwd).
 *  - the log service reads HAKeeper backup data from [logservice.BootstrapConfig.restore]
 *    file-path (default "hk_data"), a relative path through ITS OWN LOCAL fileservice.
 * Layouts the emulator writes:
 *  - 'shipped', DISK: configs as shipped up to v3.x (no [[fileservice]]): everything DISK at
 *    mo-data/shared and mo-data/local.
 *  - 'shipped', DISK-V2: HEAD's etc/launch: tn.toml and cn.toml DISK-V2 at mo-data/shared2 and
 *    mo-data/local2; log.toml has no [[fileservice]], so the log service's LOCAL stays DISK at
 *    mo-data/local (that is where, and how, it reads hk_data).
 *  - 'flat': tn.toml and cn.toml have SHARED with `backend` at mo-data/shared and no LOCAL;
 *    every LOCAL is then DISK at mo-data/local (a DISK-V2 LOCAL there would refuse to start on
 *    the log service's framed hk_data and RESTORED).
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { parse } from 'smol-toml';
import type { Backend } from './localfs.js';

export type Layout = 'shipped' | 'flat';

export interface FileServiceConf {
  name: string;
  backend: Backend | string;
  dir: string;
}

export interface ClusterConf {
  shared: FileServiceConf;
  tnLocal: FileServiceConf;
  logLocal: FileServiceConf;
  /** [logservice.BootstrapConfig.restore] file-path ('' = no restore) */
  hkFilePath: string;
  logDataDir: string;
}

export const LOG_UUID = '7c4dccb4-4d3c-41f8-b482-5251dc7a41bf';
/** mo_meta launchconfig subtype of each launch file (pkg/backup/types.go, cmd/mo-service/launch.go). */
export const LAUNCH_TYPES: Record<string, string> = { 'launch.toml': 'launch', 'log.toml': 'log', 'tn.toml': 'dn', 'cn.toml': 'cn' };

const LAUNCH = 'logservices = [\n    "./etc/launch/log.toml",\n]\n\ntnservices = [\n    "./etc/launch/tn.toml"\n]\n\ncnservices = [\n    "./etc/launch/cn.toml"\n]\n';

function fileservices(backend: Backend, shared: string, local?: string): string {
  const l = local ? `[[fileservice]]\nname = "LOCAL"\nbackend = "${backend}"\ndata-dir = "${local}"\n\n` : '';
  return `${l}[[fileservice]]\nname = "SHARED"\nbackend = "${backend}"\ndata-dir = "${shared}"\n\n`;
}

/** The text of each launch file for a backend and layout. */
export function launchFiles(backend: Backend, layout: Layout): Record<string, string> {
  let fsTn = '';
  if (layout === 'flat') {
    fsTn = fileservices(backend, './mo-data/shared');
  } else if (backend === 'DISK-V2') {
    fsTn = fileservices('DISK-V2', './mo-data/shared2', './mo-data/local2');
  }
  return {
    'launch.toml': LAUNCH,
    'log.toml': `# service node type, [DN|CN|LOG]\nservice-type = "LOG"\ndata-dir = "./mo-data"\n\n[log]\nlevel = "info"\n`,
    'tn.toml': `service-type = "TN"\ndata-dir = "./mo-data"\n\n${fsTn}[log]\nlevel = "info"\n\n[tn]\nuuid = "dd4dccb4-4d3c-41f8-b482-5251dc7a41bf"\nport-base = 19000\n`,
    'cn.toml': `service-type = "CN"\ndata-dir = "./mo-data"\n\n${fsTn}[log]\nlevel = "info"\n\n[cn]\nuuid = "dd1dccb4-4d3c-41f8-b482-5251dc7a41bf"\nport-base = 18000\n`,
  };
}

/** Writes the launch files that are missing (a restore may have put them back already). */
export async function ensureLaunchFiles(home: string, backend: Backend, layout: Layout): Promise<void> {
  const dir = join(home, 'etc', 'launch');
  await mkdir(dir, { recursive: true });
  for (const [f, text] of Object.entries(launchFiles(backend, layout))) {
    const p = join(dir, f);
    try {
      await stat(p);
    } catch {
      await writeFile(p, text);
    }
  }
}

type Toml = Record<string, unknown>;

function get(t: unknown, key: string): unknown {
  if (!t || typeof t !== 'object') return undefined;
  const k = Object.keys(t).find((x) => x.toLowerCase() === key.toLowerCase()); // BurntSushi/toml matches names case-insensitively
  return k === undefined ? undefined : (t as Toml)[k];
}

async function readToml(home: string, rel: string): Promise<Toml> {
  return parse(await readFile(resolve(home, rel), 'utf8')) as Toml;
}

function fsOf(home: string, conf: Toml, name: string): FileServiceConf {
  const dataDir = String(get(conf, 'data-dir') ?? './mo-data');
  const list = (get(conf, 'fileservice') as Toml[] | undefined) ?? [];
  const e = list.find((x) => String(get(x, 'name') ?? '').toLowerCase() === name.toLowerCase());
  const dir = (e && get(e, 'data-dir') ? String(get(e, 'data-dir')) : join(dataDir, name.toLowerCase()));
  return { name, backend: e ? String(get(e, 'backend') ?? '').toUpperCase() : 'DISK', dir: isAbsolute(dir) ? dir : resolve(home, dir) };
}

/** Reads etc/launch/launch.toml and the log and TN files it names, as mo-service would. */
export async function readCluster(home: string): Promise<ClusterConf> {
  const launch = await readToml(home, 'etc/launch/launch.toml');
  const first = (k: string) => {
    const v = get(launch, k) as string[] | undefined;
    if (!v?.length) throw new Error(`emulator: launch.toml names no ${k}`);
    return v[0]!;
  };
  const tn = await readToml(home, first('tnservices'));
  const log = await readToml(home, first('logservices'));
  const restore = get(get(get(log, 'logservice'), 'BootstrapConfig'), 'restore');
  const fp = get(restore, 'file-path');
  return {
    shared: fsOf(home, tn, 'SHARED'),
    tnLocal: fsOf(home, tn, 'LOCAL'),
    logLocal: fsOf(home, log, 'LOCAL'),
    hkFilePath: fp === undefined ? 'hk_data' : String(fp),
    logDataDir: resolve(home, String(get(log, 'data-dir') ?? './mo-data'), 'logservice-data', LOG_UUID),
  };
}

/** The backend a LocalFS is created with (pkg/fileservice/config.go); anything else is refused. */
export function localBackend(c: FileServiceConf): Backend {
  if (c.backend === 'DISK' || c.backend === 'DISK-V2') return c.backend;
  throw new Error(`emulator: file service backend ${c.backend} not implemented for ${c.name}`);
}
