/**
 * Small-files workloads for `npm run bench`: a checkpoint-like tree (12,000 files of 16 B–12 KB
 * in 120 folders), many tiny files (10k and 100k, to show that every operation stays linear in
 * the number of files), and a real /usr/lib mix (a copy of part of this machine's /usr/lib plus
 * one big random file). Each tool backs up, restores and checks (reading every byte) the same
 * tree in each mode:
 *   cold   the page cache dropped before each step
 *   warm   the tree read once beforehand, nothing dropped
 *   load2  warm, with two busy loops holding the cores during each step (a database host is never idle)
 */
import { promises as fsp } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import * as path from 'node:path';
import { dropCaches } from './proc.js';
import type { RunResult } from './proc.js';
import type { BackupTool } from './tools.js';

export type Mode = 'cold' | 'warm' | 'load2';
export const MODES: Mode[] = ['cold', 'warm', 'load2'];

export interface SmallResult {
  tool: string;
  mode: Mode;
  backup: RunResult;
  restore: RunResult;
  check?: RunResult;
}

export interface SmallWorkload {
  name: string;
  files: number;
  bytes: number;
  results: SmallResult[];
}

/** Small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let s = seed;
  return () => {
    let t = (s = (s + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` files of 10–200 bytes (like checkpoints' small metadata), 500 to a folder. */
export async function makeTinyTree(root: string, n: number): Promise<{ files: number; bytes: number }> {
  let bytes = 0;
  for (let d = 0; d * 500 < n; d++) {
    const dir = path.join(root, `d${String(d).padStart(4, '0')}`);
    await fsp.mkdir(dir, { recursive: true });
    const writes: Promise<void>[] = [];
    for (let i = d * 500; i < Math.min(n, (d + 1) * 500); i++) {
      const body = `object ${i} ${'x'.repeat(i % 190)}\n`;
      bytes += body.length;
      writes.push(fsp.writeFile(path.join(dir, `f${String(i).padStart(6, '0')}`), body));
    }
    await Promise.all(writes);
  }
  return { files: n, bytes };
}

/** Checkpoint-like: `n` files of 16 B–12 KB (log-uniform sizes, random bytes) in `folders` folders. */
export async function makeCheckpointTree(root: string, n = 12_000, folders = 120): Promise<{ files: number; bytes: number }> {
  const r = prng(7);
  let bytes = 0;
  for (let d = 0; d < folders; d++) {
    const dir = path.join(root, `ckp${String(d).padStart(3, '0')}`);
    await fsp.mkdir(dir, { recursive: true });
    const writes: Promise<void>[] = [];
    for (let i = Math.floor((d * n) / folders); i < Math.floor(((d + 1) * n) / folders); i++) {
      const body = randomFillSync(Buffer.alloc(Math.round(Math.exp(Math.log(16) + r() * (Math.log(12 * 1024) - Math.log(16))))));
      bytes += body.length;
      writes.push(fsp.writeFile(path.join(dir, `meta_${i}.ckp`), body));
    }
    await Promise.all(writes);
  }
  return { files: n, bytes };
}

/**
 * Copies files of /usr/lib (in walk order, none over 16 MiB) until `maxFiles` or `maxBytes`,
 * then adds one random (incompressible) file of `bigBytes`.
 */
export async function makeUsrLibTree(root: string, maxFiles = 4000, maxBytes = 130 * 1024 * 1024, bigBytes = 200e6): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  const visit = async (src: string, dst: string): Promise<void> => {
    let names: string[];
    try {
      names = (await fsp.readdir(src)).sort();
    } catch {
      return;
    }
    for (const name of names) {
      if (files >= maxFiles || bytes >= maxBytes) return;
      const s = path.join(src, name);
      const st = await fsp.lstat(s).catch(() => undefined);
      if (!st) continue;
      if (st.isDirectory()) await visit(s, path.join(dst, name));
      else if (st.isFile() && st.size <= 16 * 1024 * 1024) {
        await fsp.mkdir(dst, { recursive: true });
        if (await fsp.copyFile(s, path.join(dst, name)).then(() => true, () => false)) {
          files++;
          bytes += st.size;
        }
      }
    }
  };
  await visit('/usr/lib', root);
  if (bigBytes > 0) {
    const fh = await fsp.open(path.join(root, 'big.random'), 'w');
    try {
      const block = Buffer.allocUnsafe(4 * 1024 * 1024);
      for (let left = bigBytes; left > 0; left -= block.length) {
        const b = block.subarray(0, Math.min(block.length, left));
        await fh.write(randomFillSync(b));
      }
    } finally {
      await fh.close();
    }
    files++;
    bytes += bigBytes;
  }
  return { files, bytes };
}

/** Reads every file below `dir` once (so the page cache holds it). */
async function readTree(dir: string): Promise<void> {
  for (const rel of await fsp.readdir(dir, { recursive: true })) {
    await fsp.readFile(path.join(dir, rel)).catch(() => undefined); // folders: EISDIR
  }
}

/** Two busy loops, one per core of a 2-core machine (load 2), until stopped. */
function busyLoops(n = 2): () => Promise<void> {
  const kids: ChildProcess[] = [];
  for (let i = 0; i < n; i++) kids.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
  return async () => {
    await Promise.all(kids.map((k) => new Promise<void>((resolve) => {
      if (k.exitCode !== null || k.signalCode !== null) return resolve();
      k.once('exit', () => resolve());
      k.kill('SIGKILL');
    })));
  };
}

/** One step in a mode: caches dropped (cold) or busy loops beside it (load2). */
async function step(mode: Mode, run: () => Promise<RunResult>): Promise<RunResult> {
  if (mode === 'cold') await dropCaches();
  const stop = mode === 'load2' ? busyLoops() : undefined;
  try {
    return await run();
  } finally {
    await stop?.();
  }
}

/** Backup, restore and check of `src` by each tool, in each mode, into fresh repositories (`tools(mode)`). */
export async function runSmallWorkload(name: string, id: string, src: string, shape: { files: number; bytes: number }, tools: (mode: Mode) => Promise<BackupTool[]>, modes: Mode[], log: (s: string) => void): Promise<SmallWorkload> {
  const w: SmallWorkload = { name, ...shape, results: [] };
  for (const mode of modes) {
    for (const t of await tools(mode)) {
      await t.init();
      if (mode !== 'cold') await readTree(src);
      log(`${name} (${mode}): ${t.name} backup`);
      const backup = await step(mode, () => t.backup(src, id));
      log(`${name} (${mode}): ${t.name} restore`);
      const dest = `${src}.restore-${t.name}`;
      const restore = await step(mode, () => t.restore(id, dest));
      await fsp.rm(dest, { recursive: true, force: true });
      let check: RunResult | undefined;
      if (t.check) {
        log(`${name} (${mode}): ${t.name} check (reading every byte)`);
        check = await step(mode, () => t.check!(id));
      }
      w.results.push({ tool: t.name, mode, backup, restore, check });
      await fsp.rm(t.repo, { recursive: true, force: true });
    }
  }
  return w;
}
