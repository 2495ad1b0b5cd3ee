/**
 * The three backup programs driven by the benchmark, each as a child process under
 * /usr/bin/time -v. Fairness notes live in `settings`, printed with the results.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sh, timed, type RunResult } from './proc.js';
import type { StartupPeer } from './startup.js';

export interface BackupTool {
  name: string;
  settings: string;
  repo: string;
  init(): Promise<void>;
  backup(src: string, id: string, parentId?: string): Promise<RunResult>;
  restore(id: string, dest: string): Promise<RunResult>;
  /** Reads back and checks every byte of a backup (mobr check, restic check --read-data, borg check --verify-data). */
  check?(id: string): Promise<RunResult>;
  version(): Promise<string>;
  /** Its equivalents of `mo_br --version` and `mo_br list` (bench/startup.ts). */
  startup?: StartupPeer;
}

/** mobr through the library API, in a child (dist/bench/mobr-child.js, built by `npm run build`). */
export function mobrTool(work: string, o: { encrypted?: boolean } = {}): BackupTool {
  const here = fileURLToPath(import.meta.url);
  const child = here.endsWith('.ts') ? here.replace(/([\\/])bench[\\/]tools\.ts$/, '$1dist$1bench$1mobr-child.js') : here.replace(/tools\.js$/, 'mobr-child.js');
  const repo = path.join(work, o.encrypted ? 'repo-mobr-enc' : 'repo-mobr');
  const env: Record<string, string> = o.encrypted ? { MOBR_BENCH_ENCRYPT: '1' } : {};
  return {
    name: o.encrypted ? 'mobr-enc' : 'mobr',
    settings: o.encrypted
      ? 'as mobr, encrypted (spec/encryption.md): AES-256-GCM per blob and object, keyed BLAKE3 ids, secret gear table'
      : 'FastCDC 256K/1M/4M, BLAKE3 ids, zstd-3 "auto" per chunk, 16 MiB packs, no encryption, fsync per object, worker pool = cores (a restore or check of ≤ 64 MiB, or with < 1.5 cores spare now, runs in the main thread)',
    repo,
    init: async () => undefined,
    backup: (src, id, parentId) => timed(process.execPath, [child, 'backup', repo, src, id, ...(parentId ? [parentId] : [])], env),
    restore: (id, dest) => timed(process.execPath, [child, 'restore', repo, id, dest], env),
    check: (id) => timed(process.execPath, [child, 'check', repo, id], env),
    version: async () => 'working tree',
  };
}

export async function haveCommand(cmd: string): Promise<boolean> {
  try {
    await sh('sh', ['-c', `command -v ${cmd}`]);
    return true;
  } catch {
    return false;
  }
}

/** restic: encrypts always (AES-256-CTR + Poly1305); this version may lack --insecure-no-password. */
export async function resticTool(work: string): Promise<BackupTool> {
  const repo = path.join(work, 'repo-restic');
  const env = { RESTIC_PASSWORD: 'bench', RESTIC_CACHE_DIR: path.join(work, 'restic-cache') };
  const help = await sh('restic', ['init', '--help']).catch(() => '');
  const noPw = help.includes('insecure-no-password');
  const pw = noPw ? ['--insecure-no-password'] : [];
  const e = noPw ? { RESTIC_CACHE_DIR: env.RESTIC_CACHE_DIR } : env;
  return {
    name: 'restic',
    settings: `repository v2, compression auto (zstd), content-defined chunks 512K/1M/8M, SHA-256 ids, ${noPw ? '--insecure-no-password' : 'fixed password (restic encrypts: AES-256-CTR + Poly1305 on every blob)'}, GOMAXPROCS = cores`,
    repo,
    init: async () => void (await sh('restic', ['-r', repo, 'init', '--repository-version', '2', ...pw], e)),
    backup: (src, id) => timed('restic', ['-r', repo, 'backup', '-q', '--host', 'bench', '--tag', id, ...pw, '.'], e, src),
    restore: (id, dest) => timed('restic', ['-r', repo, 'restore', 'latest', '--tag', id, '--target', dest, ...pw], e),
    check: () => timed('restic', ['-r', repo, 'check', '--read-data', ...pw], e),
    version: async () => (await sh('restic', ['version'])).trim(),
    startup: { name: 'restic', version: { cmd: 'restic', args: ['version'] }, list: { cmd: 'restic', args: ['-r', repo, 'snapshots', ...pw], env: e } },
  };
}

/** borg 1.x: single-threaded; --encryption none; default lz4 compression and 2 MiB average chunks. */
export async function borgTool(work: string): Promise<BackupTool> {
  const repo = path.join(work, 'repo-borg');
  const env = { BORG_BASE_DIR: path.join(work, 'borg-base'), BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK: 'yes', BORG_RELOCATED_REPO_ACCESS_IS_OK: 'yes' };
  return {
    name: 'borg',
    settings: '--encryption none, compression lz4 (default), chunker 19,23,21,4095 (512K/2M/8M), one thread',
    repo,
    init: async () => void (await sh('borg', ['init', '--encryption', 'none', repo], env)),
    backup: (src, id) => timed('borg', ['create', `${repo}::${id}`, '.'], env, src),
    restore: async (id, dest) => {
      await fsp.mkdir(dest, { recursive: true });
      return timed('borg', ['extract', `${repo}::${id}`], env, dest);
    },
    check: (id) => timed('borg', ['check', '--verify-data', `${repo}::${id}`], env),
    version: async () => (await sh('borg', ['--version'])).trim(),
  };
}
