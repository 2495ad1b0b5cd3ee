/**
 * Where a stopped MatrixOne reads what a restore writes (spec/matrixone.md, "Restore side"),
 * decided from its TOML configs (parsed by smol-toml):
 *  - TAE files go to the TN's SHARED fileservice; hk_data goes where the log service's
 *    `logservice.BootstrapConfig.restore.file-path` points (default `hk_data`), a relative path
 *    being read through the log service's OWN fileservice (LOCAL unless the path names one,
 *    `NAME:path`), an absolute path read raw (pkg/logservice/service_bootstrap.go getBackupData).
 *  - A fileservice named in `[[fileservice]]` without `data-dir` lives at
 *    `<data-dir>/<lowercase name>`, `data-dir` defaulting to `./mo-data`; LOCAL and SHARED that a
 *    config does not name are DISK at `mo-data/local` and `mo-data/shared`; a fileservice named
 *    `S3` is SHARED (cmd/mo-service/config.go setFileserviceDefaultValues).
 *  - DISK (LocalFS) frames every file, DISK-V2 keeps raw bytes, S3/MINIO are object stores
 *    (pkg/fileservice/config.go, local_fs.go). Relative paths are relative to MatrixOne's folder
 *    (mo-service's working directory: the restore path).
 */
import * as path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { MobrError } from '../errors.js';

type Framing = 'raw' | 'crc';

/** One `[[fileservice]]` of a config, defaults applied. */
export interface FileServiceDir {
  name: string;
  backend: string;
  /** Absolute folder of a DISK / DISK-V2 / MEM fileservice. */
  dir: string;
  framing: Framing;
  /** `s3.bucket` / `s3.key-prefix` of an S3 or MINIO fileservice. */
  s3?: { bucket: string; keyPrefix: string };
}

/** The parts of a mo-service TOML config a restore needs. */
export interface ServiceConfig {
  source: string;
  serviceType?: string;
  dataDir: string;
  fileservices: FileServiceDir[];
  /** `logservice.BootstrapConfig.restore.file-path` when the config sets it. */
  restoreFilePath?: string;
}

/** Where hk_data goes; `file` is absent when the config turns the HAKeeper restore off. */
export interface HkPlacement {
  file?: string;
  framing: Framing;
  /** For messages: the fileservice and config that read it. */
  via: string;
}

const DEFAULT_HK_FILE_PATH = 'hk_data';
const LOCAL_BACKENDS = new Set(['DISK', 'DISK-V2']);

/** Case-insensitive key lookup, as BurntSushi/toml matches Go struct fields. */
function field(o: unknown, key: string): unknown {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return undefined;
  const rec = o as Record<string, unknown>;
  if (key in rec) return rec[key];
  const k = Object.keys(rec).find((x) => x.toLowerCase() === key.toLowerCase());
  return k === undefined ? undefined : rec[k];
}

function str(o: unknown, key: string, source: string): string | undefined {
  const v = field(o, key);
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new MobrError('BAD_INPUT', `${source}: ${key} is not a string`);
  return v;
}

/** Parses a mo-service config; `root` resolves its relative paths. BAD_INPUT on invalid TOML. */
export function parseServiceConfig(text: string, source: string, root: string): ServiceConfig {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (e) {
    const where = (e as { line?: number }).line;
    throw new MobrError('BAD_INPUT', `${source}: not valid TOML${where ? ` (line ${where})` : ''}`, { cause: e });
  }
  const dataDir = path.resolve(root, str(doc, 'data-dir', source) || './mo-data');
  const list = field(doc, 'fileservice') ?? [];
  if (!Array.isArray(list)) throw new MobrError('BAD_INPUT', `${source}: fileservice is not an array of tables ([[fileservice]])`);
  const fileservices = list.map((fs, i): FileServiceDir => {
    const where = `${source}: [[fileservice]] #${i + 1}`;
    let name = (str(fs, 'name', where) ?? '').toUpperCase();
    if (name === '') throw new MobrError('BAD_INPUT', `${where} has no name`);
    if (name === 'S3') name = 'SHARED';
    const backend = (str(fs, 'backend', where) ?? '').toUpperCase();
    const dir = path.resolve(root, str(fs, 'data-dir', where) || path.join(dataDir, name.toLowerCase()));
    const out: FileServiceDir = { name, backend, dir, framing: backend === 'DISK' ? 'crc' : 'raw' };
    if (backend === 'S3' || backend === 'MINIO') {
      const s3 = field(fs, 's3');
      out.s3 = { bucket: str(s3, 'bucket', where) ?? '', keyPrefix: str(s3, 'key-prefix', where) ?? '' };
    }
    return out;
  });
  const restore = field(field(field(doc, 'logservice'), 'BootstrapConfig'), 'restore');
  return { source, serviceType: str(doc, 'service-type', source)?.toUpperCase(), dataDir, fileservices, restoreFilePath: str(restore, 'file-path', source) };
}

/** The named fileservice of a config (or of MatrixOne's defaults when none is given). */
export function fileServiceOf(cfg: ServiceConfig | undefined, name: string, root: string): FileServiceDir {
  const upper = name.toUpperCase();
  const found = cfg?.fileservices.find((f) => f.name === upper);
  if (found) return found;
  if (upper !== 'LOCAL' && upper !== 'SHARED') {
    throw new MobrError('BAD_INPUT', `${cfg?.source ?? 'the default config'} has no fileservice named ${upper}`);
  }
  const dataDir = cfg?.dataDir ?? path.resolve(root, './mo-data');
  return { name: upper, backend: 'DISK', dir: path.join(dataDir, upper.toLowerCase()), framing: 'crc' };
}

/** Throws unless a fileservice is a local folder MatrixOne would open (DISK, DISK-V2). */
export function assertLocalFolder(fs: FileServiceDir, source: string): FileServiceDir {
  if (fs.backend === '') throw new MobrError('BAD_INPUT', `the ${fs.name} fileservice in ${source} has no backend (MatrixOne refuses such a config)`);
  if (!LOCAL_BACKENDS.has(fs.backend)) {
    throw new MobrError('NOT_AVAILABLE', `the ${fs.name} fileservice in ${source} uses backend ${fs.backend}, not a local folder; restore it with --restore_dir s3`);
  }
  return fs;
}

/** Where the log service configured by `log` (MatrixOne's defaults when undefined) reads hk_data. */
export function hkDataPlacement(log: ServiceConfig | undefined, root: string): HkPlacement {
  const source = log?.source ?? 'the default log service config';
  const filePath = log?.restoreFilePath ?? DEFAULT_HK_FILE_PATH;
  if (filePath === '') return { framing: 'raw', via: `${source} (restore.file-path is empty: the HAKeeper restore is off)` };
  if (path.isAbsolute(filePath)) return { file: filePath, framing: 'raw', via: `${source} (absolute restore.file-path, read raw)` };
  const cut = filePath.lastIndexOf(':');
  const service = cut === -1 ? 'LOCAL' : filePath.slice(0, cut).split(',')[0]!.trim() || 'LOCAL';
  const rel = (cut === -1 ? filePath : filePath.slice(cut + 1)).replace(/^\/+/, '');
  if (rel === '' || rel.split('/').some((s) => s === '..')) throw new MobrError('BAD_INPUT', `${source}: bad restore.file-path ${JSON.stringify(filePath)}`);
  const fs = assertLocalFolder(fileServiceOf(log, service, root), source);
  return { file: path.join(fs.dir, ...rel.split('/')), framing: fs.framing, via: `the ${fs.name} fileservice (${fs.backend}) of ${source}` };
}
