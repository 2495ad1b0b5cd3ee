/**
 * The frozen encrypted fixture `repo-enc-v1` (spec/encryption.md §11): a repository with one key
 * file (password below) and two backups. Every future mobr must unlock, list, check and restore it
 * byte-exact; without the key it is refused in one line (exit 4), and `check --without_key` passes
 * on it and names a damaged pack. The fixture's own bytes are pinned: never edited or regenerated.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restoreBackup } from '../src/backup/restore.js';
import { verifyBackup } from '../src/backup/verify.js';
import { unlockKeys } from '../src/crypto/keyfile.js';
import { Repository } from '../src/repo/repository.js';
import { checkWithoutKey } from '../src/repo/keyless-check.js';
import { FsStore } from '../src/store/fs.js';
import { ensureBuilt, mobr } from './helpers/cli.js';
import { fixtureEntry } from './helpers/fixture-entry.js';

const FIXTURE = path.join(path.dirname(new URL(import.meta.url).pathname), 'fixtures', 'repo-enc-v1');
const PASSWORD = Buffer.from('mobr-fixture-password');

/** sha256 of every file of the fixture, as committed. */
const FROZEN: Record<string, string> = {
  'expected.json': 'f7d4c22ed62fde498b4deb21c3c75641801e7a0b814435166add7346769fb4be',
  'repo/backups/fixture-enc-full': '068baf9dd0e0c69e53b99fc78a141b1eb3e9ecdcafc09eb668f12b18df9ea8ec',
  'repo/backups/fixture-enc-incr': '865451767164bd6ca6f84adb9fee3f674cde3dde556b328fde63e137e23ce53a',
  'repo/config': 'bb1ee69e587688e88e9c40d8b80acfe2b3871925551bc1f820ee52509c4706d1',
  'repo/data/18/1876b00045d6ffb8283026f373d6cfa4b872307eb4905b1838e80599e0ee61a3': 'cca6d2117003889a09388facbb5a3ad23649afe7c2d419c16f7bb2fa89e44cec',
  'repo/data/21/2197e618f9f5e3eb8faf661121b9455263d7031d61fc02a919e08646a3b8e461': 'd9c67ff73632f40cc9fdbde9af7d0ea9ef9aacfd5fd438a9874058f524c49e45',
  'repo/data/c5/c55897f1b851461a147ccdf2ed166f4d6f03c2439929606c12571932a07fbcb7': 'd51e79142a124fa9b00eab684806af128b7a53a820f16b7fa45bb4d318689b6f',
  'repo/index/5846181a03d3726a7a52352e1e78a04743315932342d3f4927d90a3d5578aafc': '93f9103e24f4f5946b53a45761b2afb80100dda05d70a99d7c08061e03da82e9',
  'repo/index/968ed4185e13b479c7988e25bca142b6d121515a1591254ca2083bba28b75415': '1dd9d0afbdbe97bbc1d0c13d63a600583bdb6b6a0b9e4d68fa0ef619d36a5b4f',
  'repo/keys/949897f1158aa2b7808f083a4293dac65376e9786f46313154a72dea9f917080': '949897f1158aa2b7808f083a4293dac65376e9786f46313154a72dea9f917080',
};

interface Expected {
  path: string;
  kind: 'file' | 'dir' | 'symlink';
  size: number;
  mode: number;
  mtimeMs: number;
  sha256?: string;
  target?: string;
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
  work = mkdtempSync(path.join(tmpdir(), 'mobr-compat-enc-'));
  repoDir = path.join(work, 'repo');
  cpSync(path.join(FIXTURE, 'repo'), repoDir, { recursive: true }); // commands may add lock objects
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const open = async () => Repository.open(new FsStore(repoDir), { masterKey: () => unlockKeys(new FsStore(repoDir), PASSWORD) });

describe('frozen encrypted repository v1', () => {
  it('is unchanged: the fixture is never edited or regenerated', () => {
    const got = Object.fromEntries(filesUnder(FIXTURE).sort().map((f) => [f, sha(readFileSync(path.join(FIXTURE, f)))]));
    expect(got).toEqual(FROZEN);
  });

  it('unlocks with its password, lists both backups and checks clean reading every byte', async () => {
    const repo = await open();
    expect(repo.config).toMatchObject({ encryption: 'aes-256-gcm', hash: 'blake3-256-keyed', chunker: { algorithm: 'fastcdc-mobr-v1-keyed' } });
    expect((await repo.listBackupIds()).sort()).toEqual(['fixture-enc-full', 'fixture-enc-incr']);
    for (const [id, want] of Object.entries(expected)) {
      const m = await repo.loadManifest(id);
      expect(m.files.map(fixtureEntry)).toEqual(want);
      const r = await verifyBackup(repo, m, { readData: true, parallelism: 1 });
      expect({ id, ok: r.ok, damaged: r.damaged }).toEqual({ id, ok: true, damaged: [] });
    }
    await expect(Repository.open(new FsStore(repoDir))).rejects.toMatchObject({ code: 'AUTH_FAILED' });
  });

  it('restores every backup byte-exact, with modes, mtimes and links', async () => {
    const repo = await open();
    for (const [id, want] of Object.entries(expected)) {
      const dest = path.join(work, `restore-${id}`);
      await restoreBackup(repo, await repo.loadManifest(id), dest, { parallelism: 1 });
      for (const e of want) {
        const abs = path.join(dest, ...e.path.split('/'));
        const st = await fsp.lstat(abs);
        if (e.kind === 'file') expect({ p: e.path, sha: sha(await fsp.readFile(abs)), mode: st.mode & 0o7777, mtime: Math.trunc(st.mtimeMs) }).toEqual({ p: e.path, sha: e.sha256, mode: e.mode, mtime: e.mtimeMs });
        else if (e.kind === 'symlink') expect(await fsp.readlink(abs)).toBe(e.target);
      }
      expect(filesUnder(dest).sort()).toEqual(want.filter((e) => e.kind !== 'dir').map((e) => e.path).sort());
    }
  });

  it('without the key: ./mo_br refuses to read it (exit 4), and check --without_key passes, then names a damaged pack (exit 1)', async () => {
    ensureBuilt();
    const meta = ['--meta_path', path.join(work, 'none.meta')];
    const at = ['--backup_dir', 'filesystem', '--backup_path', repoDir];
    const denied = await mobr(['list', ...at, ...meta], work, { env: { MO_BR_REPO_PASSWORD: '' } });
    expect({ code: denied.code, lines: denied.stderr.trim().split('\n').length }).toEqual({ code: 4, lines: 1 });
    expect(denied.stderr).toMatch(/is encrypted: give its password/);
    const ok = await mobr(['check', '--without_key', ...at, ...meta], work);
    expect({ code: ok.code, stderr: ok.stderr }).toEqual({ code: 0, stderr: '' });
    expect(ok.stdout).toMatch(/^check: 3 pack\(s\), 2 index object\(s\) and 2 other sealed object\(s\) of key set [0-9a-f]{32} checked without the key: ok$/m);
    const pack = 'data/21/2197e618f9f5e3eb8faf661121b9455263d7031d61fc02a919e08646a3b8e461';
    const file = path.join(repoDir, ...pack.split('/'));
    const bytes = await fsp.readFile(file);
    bytes[100] ^= 1;
    await fsp.chmod(file, 0o644);
    await fsp.writeFile(file, bytes);
    const bad = await mobr(['check', '--without_key', ...at, ...meta], work);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain(`check: ${pack} FAILED: its bytes do not match its name (damaged)`);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect((await checkWithoutKey(new FsStore(repoDir))).damaged.map((d) => d.key)).toEqual([pack]);
  }, 60_000);
});
