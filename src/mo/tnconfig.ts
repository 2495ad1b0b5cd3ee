/**
 * Where a restored MatrixOne keeps its files: the TN (DN) config's fileservices
 * (spec/matrixone.md, "Restore side"). cmd/mo-service/config.go: a fileservice without a
 * data-dir uses `<service data-dir>/<lowercase name>`, the service data-dir defaults to
 * `./mo-data`; relative paths are relative to MatrixOne's folder (the restore path).
 * Backend `DISK` (LocalFS) frames every file (framing.ts); `DISK-V2` keeps raw files.
 *
 * The parser reads the few TOML forms these configs use (`key = "v"`, `[section]`,
 * `[[fileservice]]`, comments); anything else is skipped.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { MobrError, withContext } from '../errors.js';

export type Framing = 'raw' | 'crc';

export interface FileServiceDir {
  dir: string; // absolute
  backend: string;
  framing: Framing;
}

export interface TnStorage {
  shared: FileServiceDir;
  local: FileServiceDir;
}

interface Parsed {
  dataDir?: string;
  fileservices: Record<string, string>[];
}

export function parseTnToml(text: string): Parsed {
  const out: Parsed = { fileservices: [] };
  let section: Record<string, string> | 'top' | undefined = 'top';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/^\s+|\s+$/g, '');
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('[[')) {
      if (/^\[\[\s*fileservice\s*\]\]/.test(line)) out.fileservices.push((section = {}));
      else section = undefined;
      continue;
    }
    if (line.startsWith('[')) {
      section = undefined;
      continue;
    }
    const m = /^([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)')/.exec(line);
    if (!m || section === undefined) continue;
    const value = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!;
    if (section === 'top') {
      if (m[1] === 'data-dir') out.dataDir = value;
    } else section[m[1]!] = value;
  }
  return out;
}

/** Storage dirs of a MatrixOne at restorePath, from its TN config when given. */
export async function tnStorage(restorePath: string, dnConfigPath?: string): Promise<TnStorage> {
  const root = path.resolve(restorePath);
  let parsed: Parsed = { fileservices: [] };
  if (dnConfigPath !== undefined) {
    let text: string;
    try {
      text = await fsp.readFile(dnConfigPath, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new MobrError('NOT_FOUND', `--dn_config_path ${dnConfigPath} does not exist`);
      throw withContext(`read --dn_config_path ${dnConfigPath}`, e);
    }
    parsed = parseTnToml(text);
  }
  const dataDir = path.resolve(root, parsed.dataDir ?? './mo-data');
  const fs = (name: string): FileServiceDir => {
    const e = parsed.fileservices.find((f) => (f.name ?? '').toUpperCase() === name);
    const backend = (e?.backend ?? 'DISK-V2').toUpperCase();
    if (backend !== 'DISK' && backend !== 'DISK-V2' && backend !== 'MEM') {
      throw new MobrError('NOT_AVAILABLE', `the ${name} fileservice in ${dnConfigPath} uses backend ${backend}; restore writes local folders (DISK or DISK-V2)`);
    }
    const dir = e?.['data-dir'] ? path.resolve(root, e['data-dir']) : path.join(dataDir, name.toLowerCase());
    return { dir, backend, framing: backend === 'DISK' ? 'crc' : 'raw' };
  };
  return { shared: fs('SHARED'), local: fs('LOCAL') };
}
