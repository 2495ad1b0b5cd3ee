/**
 * delete / prune free space when asked and say so, agree with the catalog whatever fails, and
 * prune applies its policy per source and only to backups the catalog in use records
 * (spec/gc.md §2.3, §3 "Deleting backups", §4).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { promises as fsp, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { dirSize, pseudoRandom, tempDir } from '../helpers/tree.js';
import { backupIdOf, ensureBuilt, initTinyRepo, mobr as spawned, treeHashes } from './cli.js';
import { mobrIn } from '../helpers/cli.js';

/** mo_br in this process (mobrIn), or as a process of its own where the case needs one (another user). */
const mobr = (args: string[], cwd: string, o?: Parameters<typeof spawned>[2]) => (o ? spawned(args, cwd, o) : mobrIn(args, cwd));

let work: string;
let n = 0;
beforeAll(async () => {
  ensureBuilt();
  work = await tempDir('mobr-delspace-');
});
afterAll(async () => {
  await fsp.rm(work, { recursive: true, force: true });
});

interface Setup {
  dir: string;
  repo: string;
  M: string[];
  backup: (src: string, meta?: string[]) => Promise<string>;
  source: (name: string, seed: number) => Promise<string>;
}

async function setup(): Promise<Setup> {
  const dir = path.join(work, `case${n++}`);
  const repo = path.join(dir, 'repo');
  const M = ['--meta_path', path.join(dir, 'mo_br.meta')];
  await initTinyRepo(repo);
  const source = async (name: string, seed: number) => {
    const src = path.join(dir, name);
    await fsp.mkdir(src, { recursive: true });
    await fsp.writeFile(path.join(src, 'f'), pseudoRandom(seed, 200_000));
    return src;
  };
  const backup = async (src: string, meta = M) => {
    const r = await mobr(['backup', '--backup_dir', 'filesystem', '--path', repo, '--data_dir', src, ...meta], dir);
    expect(r.code, r.stderr).toBe(0);
    return backupIdOf(r.stdout)!;
  };
  return { dir, repo, M, backup, source };
}

/** A lock object of another process on another host; `ageMs` old on the store's clock. */
async function plantLock(repo: string, ageMs: number): Promise<string> {
  const file = path.join(repo, 'locks', randomBytes(16).toString('hex'));
  await fsp.mkdir(path.dirname(file), { recursive: true });
  await fsp.writeFile(file, JSON.stringify({ v: 1, kind: 'shared', host: 'another-host', pid: 4242, createdAt: Date.now() - ageMs, purpose: 'backup elsewhere' }));
  const t = new Date(Date.now() - ageMs);
  await fsp.utimes(file, t, t);
  return file;
}

const dataSize = (repo: string) => dirSize(path.join(repo, 'data'));
/** The number a line of `out` matching re (one group: kB) says, or -1. */
const kB = (re: RegExp, out: string) => Number(re.exec(out)?.[1] ?? -1);

describe('delete frees space when asked, and says what it freed and held back', () => {
  it('alone on the repository: a fresh backup’s unique bytes are freed before delete returns', async () => {
    const s = await setup();
    await s.backup(await s.source('a', 1));
    const before = await dataSize(s.repo);
    const id = await s.backup(await s.source('b', 2));
    const withB = await dataSize(s.repo);
    expect(withB - before).toBeGreaterThan(190_000);
    const d = await mobr(['delete', id, ...s.M], s.dir);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout).toMatch(/^delete: backup \S+ deleted from /m);
    expect(kB(/^delete: freed ([\d.]+) kB \(\d+ pack\(s\) deleted, \d+ rewritten\)$/m, d.stdout)).toBeGreaterThan(190);
    expect(d.stdout).not.toMatch(/held back/);
    expect(await dataSize(s.repo)).toBeLessThan(before + 20_000);
  });

  it('a stale lock of another process: the young data is held back, with until when; --safety none frees it', async () => {
    const s = await setup();
    await s.backup(await s.source('a', 3));
    const id = await s.backup(await s.source('b', 4));
    const withB = await dataSize(s.repo);
    await plantLock(s.repo, 2 * 3600_000);
    const d = await mobr(['delete', id, ...s.M], s.dir);
    expect(d.code, d.stderr).toBe(0);
    const m = /^delete: held back ([\d.]+) kB until (\S+): another process held the repository/m.exec(d.stdout);
    expect(m, d.stdout).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(180);
    const until = Date.parse(m![2]);
    expect(until).toBeGreaterThan(Date.now() + 50 * 60_000);
    expect(until).toBeLessThan(Date.now() + 61 * 60_000);
    expect(await dataSize(s.repo)).toBeGreaterThan(withB - 20_000);
    // the next delete or prune with --safety none frees it
    const p = await mobr(['prune', '--keep_last', '5', '--safety', 'none', ...s.M], s.dir);
    expect(p.code, p.stderr).toBe(0);
    expect(kB(/^prune: freed ([\d.]+) kB/m, p.stdout)).toBeGreaterThan(180);
    expect(await dataSize(s.repo)).toBeLessThan(withB - 180_000);
  });

  it('the lock of a killed process on this host does not hold anything back', async () => {
    const s = await setup();
    await s.backup(await s.source('a', 14));
    const before = await dataSize(s.repo);
    const id = await s.backup(await s.source('b', 15));
    const dead = spawnSync('true').pid!; // exited: its pid names no process
    const file = path.join(s.repo, 'locks', randomBytes(16).toString('hex'));
    // without its boot and PID namespace (an older mobr's lock) its holder is not provably gone
    await fsp.writeFile(file, JSON.stringify({ v: 1, kind: 'shared', host: hostname(), pid: dead, createdAt: Date.now(), purpose: 'backup killed' }));
    const d = await mobr(['delete', id, ...s.M], s.dir);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout).toMatch(/^delete: no space freed yet: .*backup killed/m);
    // as a lock of this host, this boot and this PID namespace records it (spec/gc.md §2.1, "Lock identity")
    const identity = { host: hostname(), pid: dead, boot: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(), pidns: statSync('/proc/self/ns/pid').ino, start: '1' };
    await fsp.writeFile(file, JSON.stringify({ v: 1, kind: 'shared', ...identity, createdAt: Date.now(), purpose: 'backup killed' }));
    const p = await mobr(['prune', '--keep_last', '1', '--unrecorded', '--backup_dir', 'filesystem', '--backup_path', s.repo, ...s.M], s.dir);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).not.toMatch(/held back/);
    expect(kB(/^prune: freed ([\d.]+) kB/m, p.stdout)).toBeGreaterThan(190);
    expect(await dataSize(s.repo)).toBeLessThan(before + 20_000);
  });

  it('a live lock of a backup elsewhere: nothing freed yet, and the line says who holds the repository', async () => {
    const s = await setup();
    const id = await s.backup(await s.source('a', 5));
    const lock = await plantLock(s.repo, 0);
    const d = await mobr(['delete', id, ...s.M], s.dir);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout).toMatch(/^delete: no space freed yet: .*backup elsewhere.*another-host.*next delete or prune/m);
    await fsp.rm(lock);
    const p = await mobr(['prune', '--keep_last', '1', '--unrecorded', '--backup_dir', 'filesystem', '--backup_path', s.repo, ...s.M], s.dir);
    expect(p.code, p.stderr).toBe(0);
    expect(kB(/^prune: freed ([\d.]+) kB/m, p.stdout)).toBeGreaterThan(190);
  });

  it('--safety takes none or full only', async () => {
    const s = await setup();
    const id = await s.backup(await s.source('a', 6));
    const d = await mobr(['delete', id, '--safety', 'some', ...s.M], s.dir);
    expect(d.code).toBe(2);
    expect(d.stderr).toMatch(/^mo_br: bad --safety "some"/);
  });
});

describe('delete and the catalog agree whatever fails', () => {
  it('gc refuses (a damaged index object): exit 6, nothing deleted, the backup still restores', async () => {
    const s = await setup();
    const src = await s.source('a', 7);
    const id = await s.backup(src);
    await s.backup(await s.source('b', 8));
    const idx = (await fsp.readdir(path.join(s.repo, 'index')))[0];
    const file = path.join(s.repo, 'index', idx);
    const good = await fsp.readFile(file);
    const bad = Buffer.from(good);
    bad[bad.length >> 1] ^= 1;
    await fsp.writeFile(file, bad);
    const d = await mobr(['delete', id, ...s.M], s.dir);
    expect(d.code, d.stderr).toBe(6);
    expect(d.stderr).toMatch(/^mo_br: .*nothing was deleted\n$/);
    expect(await fsp.readdir(path.join(s.repo, 'backups'))).toContain(id);
    const l = await mobr(['list', '--json', ...s.M], s.dir);
    expect(JSON.parse(l.stdout).backups.map((b: { id: string }) => b.id)).toContain(id);
    await fsp.writeFile(file, good);
    const r = await mobr(['restore', id, '--restore_dir', 'filesystem', '--restore_path', path.join(s.dir, 'out'), ...s.M], s.dir);
    expect(r.code, r.stderr).toBe(0);
    expect(await treeHashes(path.join(s.dir, 'out', 'mo-data'))).toEqual(await treeHashes(src));
  });

  it('a catalog that cannot be written (as user nobody): exit 4, nothing deleted', async (t) => {
    if (process.getuid?.() !== 0) t.skip();
    const s = await setup();
    const src = await s.source('a', 9);
    const id = await s.backup(src);
    await fsp.chmod(work, 0o755);
    await fsp.chmod(s.dir, 0o755);
    execFileSync('chmod', ['-R', 'a+rwX', s.repo]); // the repository is writable, the catalog readable, its folder not writable
    for (const f of await fsp.readdir(s.dir)) if (f.startsWith('mo_br.meta')) await fsp.chmod(path.join(s.dir, f), 0o644);
    const d = await mobr(['delete', id, ...s.M], s.dir, { uid: 65534, gid: 65534 });
    expect(d.code, d.stderr).toBe(4);
    expect(d.stderr).toMatch(/^mo_br: nothing was deleted: cannot write .*permission denied.*\n$/i);
    expect(await fsp.readdir(path.join(s.repo, 'backups'))).toEqual([id]);
    const c = await mobr(['check', id, ...s.M], s.dir);
    expect(c.code, c.stdout + c.stderr).toBe(0);
  });

  it('a prune killed after deleting manifests: the next prune removes the orphaned records and says so', async () => {
    const s = await setup();
    const src = await s.source('a', 10);
    const ids = [await s.backup(src), await s.backup(src)];
    await fsp.rm(path.join(s.repo, 'backups', ids[0])); // what a prune killed before its catalog update leaves
    const p = await mobr(['prune', '--keep_last', '5', ...s.M], s.dir);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toContain(`removed 1 record(s) whose backup no longer exists: ${ids[0]}`);
    const l = await mobr(['list', '--json', ...s.M], s.dir);
    expect(JSON.parse(l.stdout).backups.map((b: { id: string }) => b.id)).toEqual([ids[1]]);
  });
});

describe('prune groups by source and leaves backups the catalog does not record', () => {
  it('keep_last 2 keeps each data folder’s newest two, and never another catalog’s backup', async () => {
    const s = await setup();
    const a = await s.source('a', 11);
    const b = await s.source('b', 12);
    const aIds = [await s.backup(a), await s.backup(a), await s.backup(a)];
    const bId = await s.backup(b);
    const other = ['--meta_path', path.join(s.dir, 'other.meta')];
    const foreign = await s.backup(await s.source('c', 13), other);
    const p = await mobr(['prune', '--keep_last', '2', ...s.M], s.dir);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toMatch(new RegExp(`^remove  ${aIds[0]} `, 'm'));
    expect(p.stdout).toMatch(/^untouched: 1 backup\(s\) .* does not record/m);
    const left = (await fsp.readdir(path.join(s.repo, 'backups'))).sort();
    expect(left).toEqual([aIds[1], aIds[2], bId, foreign].sort());
    // --unrecorded applies the policy to it too (its source has one backup: kept)
    const q = await mobr(['prune', '--keep_last', '1', '--unrecorded', '--dry_run', ...s.M], s.dir);
    expect(q.stdout).toMatch(new RegExp(`^keep    ${foreign} `, 'm'));
    expect(q.stdout).toMatch(new RegExp(`^would remove  ${aIds[1]} `, 'm'));
  });
});
