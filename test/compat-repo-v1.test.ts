/**
 * The frozen `repository v1` fixture (spec/repository.md §9): a repository written by mobr
 * 0.1.0 with three backups. Every future mobr must list, check and restore it byte-exact. The
 * fixture's own bytes are pinned below: a format change adds a new fixture, it never edits this one.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restoreBackup } from '../src/backup/restore.js';
import { verifyBackup } from '../src/backup/verify.js';
import { Repository } from '../src/repo/repository.js';
import { FsStore } from '../src/store/fs.js';
import { ensureBuilt, mobr } from './helpers/cli.js';
import { fixtureEntry } from './helpers/fixture-entry.js';

const FIXTURE = path.join(path.dirname(new URL(import.meta.url).pathname), 'fixtures', 'repo-v1');

/** sha256 of every file of the fixture, as committed: the fixture is never edited. */
const FROZEN: Record<string, string> = {
  'expected.json': '27ef80c7ee7e575ac6a2613e6a188a6226043af05acfca8945c1b3c6e3e0cec8',
  'repo/backups/fixture-v1-full': '43b2eaca11a93b86ed38d749f788e5e3afae5512fc0d9ddc52f6126e0c25d06e',
  'repo/backups/fixture-v1-incr': '4ad9b372732c84c1b6015b91717605d6185a0bb6a4e2f8cba63919b551d7d06e',
  'repo/backups/fixture-v1-mo': 'ad4ee16ad77459adb66351e70cc9e857c76232a8b9ab412a17c38d5abe31bc61',
  'repo/config': '61c5da6d840797d3dd11a9bff64689090017496c4bc9016489839c5b6a69b6c2',
  'repo/data/4b/4bfa2ddda63ab9269678568d2dc2712552e1505282da054c26a1ec75c68ac072': '08a66776d2deb22690ebd4c166186e47580aca2a4956a95795788adb10e9d74e',
  'repo/data/6f/6f93ca3d686c9a13507067fa5217ad70e06b61da3e4e76fb761e7cd903414ee7': 'ab36156dbddd15bc78dfb5b5447af8ee248965688cabd337c7d7defade7f0192',
  'repo/data/7d/7dcaf67c977f1a5bff742f9f09e84da6aef6b29cea13899291279e9f9dd5a716': 'd1ae49f3ba55d9c3f95e512de3d79229b7beeceb312c3deddf9594463a67717c',
  'repo/data/99/9909ecb7dd5ea400b3dc8cb1ff40663877a3a11ded7ede04f4155185ae634310': 'ee999115a703f27827ff15836f930895321b2357961f8b784c4394a6446895de',
  'repo/index/1b566718370ff864a7cdd6c24dc22ed41a25d787dca11e129ca1a6809c135c3e': '6acd9222fdc558016d506cb0057e1c61e5fc4dc58fadd740b599ba48333233b8',
  'repo/index/31c8f21f93b87cf1fdb83c12e144f03b617821ee99084e4d2066e6d875e39275': '2121cd344a45c7953dbbccaf4e867a48e110792267f52fdfb634f4c70be2e307',
  'repo/index/4cef56f678a647427c92de5c929770ee4b4aa3981581e9fc8d8a4e6089adc49f': '9f998f9781533610f93a9b25ad6f85354ca333dce7f8782a919496dfb391c3ed',
};

interface Expected {
  path: string;
  kind: 'file' | 'dir' | 'symlink';
  size: number;
  mode: number;
  mtimeMs: number;
  sha256?: string;
  target?: string;
  meta?: Record<string, string>;
}

const expected = JSON.parse(readFileSync(path.join(FIXTURE, 'expected.json'), 'utf8')) as Record<string, Expected[]>;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function filesUnder(dir: string, rel = ''): string[] {
  return readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const r = rel ? `${rel}/${e.name}` : e.name;
    return e.isDirectory() ? filesUnder(dir, r) : [r];
  });
}

let work: string;
let repoDir: string;
beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'mobr-compat-'));
  repoDir = path.join(work, 'repo');
  cpSync(path.join(FIXTURE, 'repo'), repoDir, { recursive: true }); // commands may add lock objects
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('frozen repository v1 (written by mobr 0.1.0)', () => {
  it('is unchanged: the fixture is never edited or regenerated', () => {
    const got = Object.fromEntries(filesUnder(FIXTURE).sort().map((f) => [f, sha(readFileSync(path.join(FIXTURE, f)))]));
    expect(got).toEqual(FROZEN);
  });

  it('lists its three backups and decodes every manifest entry as written', async () => {
    const repo = await Repository.open(new FsStore(repoDir));
    expect((await repo.listBackupIds()).sort()).toEqual(['fixture-v1-full', 'fixture-v1-incr', 'fixture-v1-mo']);
    for (const [id, want] of Object.entries(expected)) {
      const m = await repo.loadManifest(id);
      const got = m.files.map(fixtureEntry);
      expect(got).toEqual(want);
    }
    const mo = await repo.loadManifest('fixture-v1-mo');
    expect(mo.backupTs).toBe('1764475200000000000-1');
    expect(mo.source).toMatchObject({ kind: 'matrixone', host: '127.0.0.1', port: 6001 });
    const incr = await repo.loadManifest('fixture-v1-incr');
    expect(incr).toMatchObject({ type: 'incremental', baseId: 'fixture-v1-full' });
  });

  it('checks clean, reading every byte', async () => {
    const repo = await Repository.open(new FsStore(repoDir));
    for (const id of Object.keys(expected)) {
      const r = await verifyBackup(repo, await repo.loadManifest(id), { readData: true, parallelism: 1 });
      expect({ id, ok: r.ok, damaged: r.damaged, damagedPacks: r.damagedPacks }).toEqual({ id, ok: true, damaged: [], damagedPacks: [] });
    }
  });

  it('restores every backup byte-exact, with modes, mtimes and links', async () => {
    const repo = await Repository.open(new FsStore(repoDir));
    for (const [id, want] of Object.entries(expected)) {
      const dest = path.join(work, `restore-${id}`);
      await restoreBackup(repo, await repo.loadManifest(id), dest, { parallelism: 1 });
      for (const e of want) {
        const abs = path.join(dest, ...e.path.split('/'));
        const st = await fsp.lstat(abs);
        if (e.kind === 'file') {
          expect({ p: e.path, sha: sha(await fsp.readFile(abs)), mode: st.mode & 0o7777, mtime: Math.trunc(st.mtimeMs) }).toEqual({ p: e.path, sha: e.sha256, mode: e.mode, mtime: e.mtimeMs });
        } else if (e.kind === 'symlink') {
          expect(await fsp.readlink(abs)).toBe(e.target);
        } else {
          expect({ p: e.path, dir: st.isDirectory(), mode: st.mode & 0o7777 }).toEqual({ p: e.path, dir: true, mode: e.mode });
        }
      }
      const restored = filesUnder(dest).sort();
      expect(restored).toEqual(want.filter((e) => e.kind !== 'dir').map((e) => e.path).sort());
    }
  });

  it('checks clean through ./mo_br by location, with no catalog', async () => {
    ensureBuilt();
    const r = await mobr(['check', '--backup_dir', 'filesystem', '--backup_path', repoDir, '--meta_path', path.join(work, 'none.meta')], work);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('check: ')).sort();
    // a server backup's check lines show mo_br's names: `/mo_meta` and `/backup_meta` with a leading slash
    const shown = (id: string, p: string) => (id.endsWith('-mo') && (p === 'mo_meta' || p === 'backup_meta') ? `/${p}` : p);
    const files = Object.entries(expected).flatMap(([id, want]) => want.filter((e) => e.kind === 'file').map((e) => `check: ${shown(id, e.path)}`));
    expect(lines).toEqual(files.sort());
    expect(statSync(path.join(repoDir, 'config')).size).toBe(207);
  }, 60_000);
});
