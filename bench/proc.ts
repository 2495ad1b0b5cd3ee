/** Runs a benchmark child under /usr/bin/time -v: wall seconds and peak RSS of the process. */
import { spawn } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';

export interface RunResult {
  seconds: number;
  peakRssBytes: number;
  cpuSeconds: number; // user + system time of the child
  stdout: string;
}

export async function timed(cmd: string, args: string[], env: Record<string, string> = {}, cwd?: string): Promise<RunResult> {
  const start = performance.now();
  const child = spawn('/usr/bin/time', ['-v', cmd, ...args], { env: { ...process.env, ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const code = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c) => resolve(c ?? -1));
  });
  const seconds = (performance.now() - start) / 1000;
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`);
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  const user = /User time \(seconds\): ([\d.]+)/.exec(stderr);
  const sys = /System time \(seconds\): ([\d.]+)/.exec(stderr);
  const cpuSeconds = user && sys ? Number(user[1]) + Number(sys[1]) : NaN;
  const peakRssBytes = m ? Number(m[1]) * 1024 : NaN;
  // each step's figures as it ends, so a run that dies before its report still leaves them in its log
  const step = [path.basename(cmd), ...args.filter((a) => /^[a-z]+$/.test(a)).slice(0, 2)].join(' ');
  process.stderr.write(`[step] ${step}: ${seconds.toFixed(1)} s, ${cpuSeconds.toFixed(1)} CPU-s, peak RSS ${(peakRssBytes / 2 ** 20).toFixed(0)} MiB, load ${os.loadavg()[0].toFixed(1)}\n`);
  return { seconds, peakRssBytes, cpuSeconds, stdout };
}

/** Runs a command to completion; returns stdout+stderr. */
export async function sh(cmd: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const code = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c) => resolve(c ?? -1));
  });
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${code}: ${out.slice(-2000)}`);
  return out;
}

/** Empties the page cache (root only; some sandboxes refuse): true when it worked. */
export async function dropCaches(): Promise<boolean> {
  try {
    await sh('sync', []);
    const { writeFile } = await import('node:fs/promises');
    await writeFile('/proc/sys/vm/drop_caches', '3\n');
    return true;
  } catch {
    return false;
  }
}
