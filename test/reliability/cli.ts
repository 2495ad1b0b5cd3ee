/**
 * Shared helpers for the reliability tests: run ./mo_br as a child process (and kill it),
 * make a mo-data tree big enough that a kill lands mid-backup, hash trees for byte comparison,
 * and pre-create a repository with tiny chunk and pack sizes so a backup writes many objects.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { FsStore } from '../../src/store/fs.js';
import { Repository } from '../../src/repo/repository.js';
import { pseudoRandom } from '../helpers/tree.js';

/** Small chunks and packs: a few MiB of data become dozens of packs and several index objects. */
export const TINY = { chunker: { min: 4096, avg: 16384, max: 65536 }, packSize: 64 * 1024 };

export { ROOT, MO_BR, ensureBuilt, mobr, type Run } from '../helpers/cli.js';

export const backupIdOf = (stdout: string): string | undefined => /Backup ID\n {4}([0-9a-f-]{36})\n/.exec(stdout)?.[1];

/** A mo-data tree of `files` files of about `size` bytes each (random: they do not dedupe). */
export async function makeMoData(dir: string, files: number, size: number, seed = 1): Promise<void> {
  await fsp.mkdir(path.join(dir, 'shared'), { recursive: true });
  await fsp.mkdir(path.join(dir, 'etc'), { recursive: true });
  for (let i = 0; i < files; i++) await fsp.writeFile(path.join(dir, `shared/obj-${i}`), pseudoRandom(seed * 1000 + i, size + i * 4099));
  await fsp.writeFile(path.join(dir, 'etc/tn.toml'), '[tn]\nuuid = "dd4dccb4"\n');
  await fsp.writeFile(path.join(dir, 'empty'), '');
}

/** Rewrites one region of one file, so the next backup has new chunks. */
export async function mutate(dir: string, round: number): Promise<void> {
  const names = (await fsp.readdir(path.join(dir, 'shared'))).sort();
  const f = path.join(dir, 'shared', names[round % names.length]);
  const fh = await fsp.open(f, 'r+');
  try {
    const { size } = await fh.stat();
    const chunk = pseudoRandom(round * 7919 + 13, Math.min(256 * 1024, size));
    await fh.write(chunk, 0, chunk.length, (round * 104_729) % Math.max(1, size - chunk.length));
  } finally {
    await fh.close();
  }
}

/** path -> sha256 of every regular file (and '->target' for symlinks) below root. */
export async function treeHashes(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const visit = async (d: string, rel: string) => {
    for (const e of await fsp.readdir(d, { withFileTypes: true })) {
      const abs = path.join(d, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await visit(abs, r);
      else if (e.isSymbolicLink()) out.set(r, `->${await fsp.readlink(abs)}`);
      else out.set(r, createHash('sha256').update(await fsp.readFile(abs)).digest('hex'));
    }
  };
  await visit(root, '');
  return out;
}

/** Every path below root (files, dirs, links), relative. */
export async function allPaths(root: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (d: string, rel: string) => {
    for (const e of await fsp.readdir(d, { withFileTypes: true }).catch(() => [])) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      out.push(r);
      if (e.isDirectory()) await visit(path.join(d, e.name), r);
    }
  };
  await visit(root, '');
  return out.sort();
}

/** Creates an empty repository with tiny chunk and pack sizes at dir. */
export async function initTinyRepo(dir: string): Promise<void> {
  const repo = await Repository.init(new FsStore(dir), TINY);
  await repo.close();
}

/** Deterministic PRNG for choosing kill moments and damage (seeded from MOBR_SEED if set). */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

export const SEED = Number(process.env.MOBR_SEED ?? Date.now() % 1_000_000);

/** True when this process can mount a tmpfs (root, and a kernel that allows it): real disk-full tests. */
export function canMount(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = mkdtempSync(path.join(tmpdir(), 'mobr-mount-probe-'));
  const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe]).status === 0;
  if (ok) spawnSync('umount', [probe]);
  rmSync(probe, { recursive: true, force: true });
  return ok;
}

/** SIGKILLs child `delay` ms after the first file appears under dir (polled every 5 ms). */
export async function killOnceWriting(child: ChildProcess, dir: string, delay: number): Promise<void> {
  while (child.exitCode === null && child.signalCode === null) {
    if ((await allPaths(dir).catch(() => [])).some((p) => !p.endsWith('/'))) {
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGKILL');
      return;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}
