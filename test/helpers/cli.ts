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

/** Signals whose listeners a run may add (interrupt.ts); the runner removes what a run left. */
const WATCHED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGPIPE'];
let queue: Promise<unknown> = Promise.resolve();

/**
 * Runs mo_br's `run()` (src/cli/main.ts) in this process, as ./mo_br would run it: same `Run`
 * result, with cwd, environment and both outputs its own. Runs queue one after another (the
 * working directory and the environment are the process's). What one run leaves in module state
 * is reset before the next: the lock staleness and clock-skew test hooks, the rate limits, the
 * run's passwords, signal listeners, process.exitCode, the umask, the working directory and the
 * environment. Not for what needs a process of its own: signals, kills, ttys, another uid, the
 * launcher, stdin. `stdoutBytes` is stdout as written (dump's binary output).
 */
export function mobrIn(args: string[], cwd: string, o: { env?: NodeJS.ProcessEnv } = {}): Promise<Run & { stdoutBytes: Buffer }> {
  const next = queue.then(() => runInProcess(args, cwd, o.env ?? {}));
  queue = next.catch(() => undefined);
  return next;
}

async function runInProcess(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Run & { stdoutBytes: Buffer }> {
  const cli = await import('../../src/cli/main.js');
  const lock = await import('../../src/repo/lock.js');
  const clock = await import('../../src/util/clock.js');
  const rates = await import('../../src/store/open.js');
  const passwords = await import('../../src/cli/repo-password.js');
  const t0 = Date.now();
  const savedEnv = { ...process.env };
  const savedCwd = process.cwd();
  const savedUmask = process.umask();
  const listeners = new Map(WATCHED.map((s) => [s, new Set(process.listeners(s))]));
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const io = {
    stdout: { write: (s: string | Uint8Array) => (out.push(Buffer.from(s)), true) },
    stderr: { write: (s: string | Uint8Array) => (err.push(Buffer.from(s)), true), isTTY: false },
    launcher: MO_BR,
    signal: new AbortController().signal,
  };
  let code: number;
  try {
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    for (const [k, v] of Object.entries(env)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    process.chdir(cwd);
    code = await cli.run(args, io);
  } catch (e) {
    code = (await import('../../src/cli/exit.js')).reportError(e, io.stderr);
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
    Object.assign(process.env, savedEnv);
    process.chdir(savedCwd);
    process.umask(savedUmask);
    process.exitCode = undefined;
    for (const s of WATCHED) for (const l of process.listeners(s)) if (!listeners.get(s)!.has(l)) process.removeListener(s, l);
    lock.defaultStaleMs(lock.DEFAULT_STALE_MS);
    clock.skewSystemClock(() => 0);
    rates.setDefaultRateLimits({});
    passwords.repoPasswords(new passwords.RepoPasswords({}, []));
  }
  const stdoutBytes = Buffer.concat(out);
  return { code, signal: null, stdout: stdoutBytes.toString(), stdoutBytes, stderr: Buffer.concat(err).toString(), ms: Date.now() - t0 };
}
