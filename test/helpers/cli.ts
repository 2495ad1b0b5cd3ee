/**
 * Running ./mo_br from tests: build dist/ when a source is newer, spawn the real launcher
 * (optionally killed after a delay, as another user, with extra environment), collect its output.
 */
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const MO_BR = path.join(ROOT, 'mo_br');

/** Builds dist/ when any source file is newer than the bundled CLI (the last step of `npm run build`). */
export function ensureBuilt(): void {
  const entry = path.join(ROOT, 'dist/cli/main.js');
  let built = 0;
  try {
    built = statSync(entry).mtimeMs;
  } catch {
    built = 0;
  }
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
      const p = path.join(dir, e.name);
      return Math.max(m, e.isDirectory() ? newest(p) : e.name.endsWith('.ts') ? statSync(p).mtimeMs : 0);
    }, 0);
  if (newest(path.join(ROOT, 'src')) > built) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
}

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Spawns ./mo_br; `killAfterMs` sends SIGKILL after that long (if still running). */
export function mobr(args: string[], cwd: string, o: { killAfterMs?: number; env?: NodeJS.ProcessEnv; uid?: number; gid?: number; onSpawn?: (p: ChildProcess) => void } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const p = spawn(process.execPath, [MO_BR, ...args], { cwd, env: { ...process.env, ...o.env }, uid: o.uid, gid: o.gid });
    o.onSpawn?.(p);
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const timer = o.killAfterMs === undefined ? undefined : setTimeout(() => p.kill('SIGKILL'), o.killAfterMs);
    p.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

/** The same, synchronously (for tables of quick failures). */
export function mobrSync(args: string[], cwd: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MO_BR, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
