/**
 * Start-up time: how long a command that does almost nothing takes, as a user types it
 * (`./mo_br --version`, `./mo_br list --backup_dir <repo>`), beside restic's equivalents.
 * Median wall time of several runs, so one scheduling hiccup on a shared machine does not count.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface StartupRow {
  what: string;
  mobrSeconds: number;
  peer?: { name: string; what: string; seconds: number };
}

const RUNS = 7;

function medianSeconds(cmd: string, args: string[], env: Record<string, string> = {}): number {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const r = spawnSync(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${String(r.stderr).slice(-500)}`);
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(RUNS / 2)];
}

/** The project's `mo_br` script (next to package.json), whether run from bench/ or dist/bench/. */
export function moBrScript(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return path.resolve(here, here.includes(`${path.sep}dist${path.sep}`) ? '../../mo_br' : '../mo_br');
}

/** A peer's commands for the same two rows. */
export interface StartupPeer {
  name: string;
  version: CommandLine;
  list: CommandLine;
}

export interface CommandLine {
  cmd: string;
  args: string[];
  env?: Record<string, string>;
}

/** `--version` and a catalog-free `list` of a repository with a few backups. */
export function measureStartup(mobrRepo: string, peer?: StartupPeer): StartupRow[] {
  const node = process.execPath;
  const mo = moBrScript();
  const rows: StartupRow[] = [
    { what: '`mo_br --version`', mobrSeconds: medianSeconds(node, [mo, '--version']) },
    { what: '`mo_br list --backup_dir filesystem --backup_path <repo>`', mobrSeconds: medianSeconds(node, [mo, 'list', '--backup_dir', 'filesystem', '--backup_path', mobrRepo]) },
  ];
  if (peer) {
    const show = (c: CommandLine) => `\`${c.cmd} ${c.args.map((a) => (a.startsWith('/') ? '<repo>' : a)).join(' ')}\``;
    rows[0].peer = { name: peer.name, what: show(peer.version), seconds: medianSeconds(peer.version.cmd, peer.version.args, peer.version.env) };
    rows[1].peer = { name: peer.name, what: show(peer.list), seconds: medianSeconds(peer.list.cmd, peer.list.args, peer.list.env) };
  }
  return rows;
}
