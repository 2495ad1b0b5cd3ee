/**
 * Stray lock files never block for long, and never silently (spec/gc.md §2.1, spec/reliability.md
 * §4): an unparsable object in the repository's locks/ counts as stale once a minute old and is
 * reported; an empty or unparsable catalog lock (what a full disk left) is stale at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { pseudoRandom, tempDir } from '../helpers/tree.js';
import { canMount, ensureBuilt, initTinyRepo, mobr } from './cli.js';

let work: string;
beforeAll(async () => {
  ensureBuilt();
  work = await tempDir('mobr-locks-');
});
afterAll(async () => {
  await fsp.rm(work, { recursive: true, force: true });
});

async function setup(name: string): Promise<{ dir: string; repo: string; src: string; M: string[] }> {
  const dir = path.join(work, name);
  const repo = path.join(dir, 'repo');
  const src = path.join(dir, 'src');
  await initTinyRepo(repo);
  await fsp.mkdir(src, { recursive: true });
  await fsp.writeFile(path.join(src, 'f'), pseudoRandom(1, 50_000));
  return { dir, repo, src, M: ['--meta_path', path.join(dir, 'mo_br.meta')] };
}

const age = async (file: string, ms: number) => {
  const t = new Date(Date.now() - ms);
  await fsp.utimes(file, t, t);
};

describe('stray lock files', () => {
  it('an unparsable object in locks/ two minutes old: the backup goes ahead at once and says so', async () => {
    const s = await setup('repo-lock');
    const stray = path.join(s.repo, 'locks', 'ab'.repeat(16));
    await fsp.mkdir(path.dirname(stray), { recursive: true });
    await fsp.writeFile(stray, 'not json {');
    await age(stray, 120_000);
    const b = await mobr(['backup', '--backup_dir', 'filesystem', '--path', s.repo, '--data_dir', s.src, ...s.M], s.dir);
    expect(b.code, b.stderr).toBe(0); // held up, it would wait out the 10-min lock wait (this test's limit is 60 s)
    expect(b.stderr).toMatch(new RegExp(`^mo_br: warning: .*locks/${'ab'.repeat(16)} is not a readable lock \\(\\d+ s old\\); ignoring it \\(gc removes it\\)\\n$`));
    // gc (through delete) removes it, and says so
    const id = /Backup ID\n {4}(\S+)/.exec(b.stdout)![1];
    const d = await mobr(['delete', id, ...s.M], s.dir);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stderr).toMatch(/is not a readable lock .*removing it/);
    await expect(fsp.stat(stray)).rejects.toThrow();
  }, 60_000);

  it('an empty catalog lock (a full disk while it was created): the next backup is not held up', async () => {
    const s = await setup('meta-lock');
    const lock = path.join(s.dir, 'mo_br.meta.lock');
    await fsp.writeFile(lock, '');
    await age(lock, 10_000);
    const b = await mobr(['backup', '--backup_dir', 'filesystem', '--path', s.repo, '--data_dir', s.src, ...s.M], s.dir);
    expect(b.code, b.stderr).toBe(0); // held up, it would fail LOCKED after the catalog lock's 30 s wait
    await expect(fsp.stat(lock)).rejects.toThrow(); // broken and released
    const l = await mobr(['list', '--json', ...s.M], s.dir);
    expect(JSON.parse(l.stdout).backups).toHaveLength(1);
  }, 60_000);

  it('a full disk while the catalog lock is created leaves no lock; the next backup is not held up', async (t) => {
    if (!canMount()) t.skip('needs root and a mountable tmpfs to fill a disk for real');
    const s = await setup('meta-full');
    const small = path.join(s.dir, 'small');
    await fsp.mkdir(small);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small]);
    try {
      const M = ['--meta_path', path.join(small, 'mo_br.meta')];
      spawnSync('dd', ['if=/dev/zero', `of=${path.join(small, 'fill')}`, 'bs=64k']); // until the disk is full
      const b1 = await mobr(['backup', '--backup_dir', 'filesystem', '--path', s.repo, '--data_dir', s.src, ...M], s.dir);
      expect(b1.code, b1.stderr).toBe(10);
      expect(b1.stderr).toMatch(/^mo_br: [^\n]*no space left on device[^\n]*\n$/i);
      expect((await fsp.readdir(small)).filter((n) => n.startsWith('mo_br.meta.lock'))).toEqual([]);
      await fsp.rm(path.join(small, 'fill'));
      const b2 = await mobr(['backup', '--backup_dir', 'filesystem', '--path', s.repo, '--data_dir', s.src, ...M], s.dir);
      expect(b2.code, b2.stderr).toBe(0); // held up, it would fail LOCKED after the catalog lock's 30 s wait
    } finally {
      spawnSync('umount', ['-l', small]);
    }
  }, 90_000);
});

