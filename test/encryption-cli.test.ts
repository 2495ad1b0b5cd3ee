/**
 * An encrypted repository through ./mo_br (spec/encryption.md), made by `backup` with a repository
 * password (cheap test KDF): the commands that read a backup work with the password, every object
 * and the catalog hold none of a known file's bytes, hashes or path, and without the password the
 * commands stop in one line, exit 4.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { blake3, blake3Ready } from '../src/hash/blake3.js';
import { ensureBuilt, mobr } from './helpers/cli.js';
import { pseudoRandom } from './helpers/tree.js';

const ENV = { MOBR_TEST_KDF: 'n=16,r=1,p=1', MO_BR_REPO_PASSWORD: 'cli-password' };
const known = Buffer.concat([Buffer.from(pseudoRandom(71, 80_000)), Buffer.from('SECRET CATALOG TEXT 7;'.repeat(300))]);

let work: string;
let repo: string;
let M: string[];
let id: string;
beforeAll(async () => {
  ensureBuilt();
  await blake3Ready();
  work = mkdtempSync(path.join(tmpdir(), 'mobr-enc-cli-'));
  repo = path.join(work, 'repo');
  M = ['--meta_path', path.join(work, 'mo_br.meta')];
  await fsp.mkdir(path.join(work, 'src', 'secret-dir'), { recursive: true });
  await fsp.writeFile(path.join(work, 'src', 'secret-dir', 'known-file.dat'), known);
  const r = await mobr(['backup', '--data_dir', path.join(work, 'src'), '--backup_dir', 'filesystem', '--path', repo, ...M], work, { env: ENV });
  expect(r.code, r.stderr).toBe(0);
  id = (await fsp.readFile(path.join(work, 'mo_br.meta'), 'utf8')).split(',')[0]!;
}, 60_000);

async function everything(dir: string, rel = ''): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const e of await fsp.readdir(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) for (const [k, v] of await everything(dir, r)) out.set(k, v);
    else out.set(r, await fsp.readFile(path.join(dir, r)));
  }
  return out;
}

describe('encrypted repository through ./mo_br', () => {
  const run = (args: string[]) => mobr([...args, ...M], work, { env: ENV });

  it('is encrypted; ls, find and dump read it with the password', async () => {
    expect((await fsp.readFile(path.join(repo, 'config'))).subarray(0, 4).toString()).toBe('MOBS');
    const ls = await run(['ls', id]);
    expect({ code: ls.code, stderr: ls.stderr }).toEqual({ code: 0, stderr: '' });
    expect(ls.stdout).toContain('secret-dir/known-file.dat');
    const find = await run(['find', '*known*']);
    expect({ code: find.code, out: find.stdout.includes('secret-dir/known-file.dat') }).toEqual({ code: 0, out: true });
    const dump = await run(['dump', id, 'secret-dir/known-file.dat']);
    expect(dump.code).toBe(0);
  }, 30_000);

  it('check and restore work with the password', async () => {
    const check = await run(['check', id]);
    expect({ code: check.code, stderr: check.stderr }).toEqual({ code: 0, stderr: '' });
    const dest = path.join(work, 'restored');
    const r = await run(['restore', id, '--restore_dir', 'filesystem', '--restore_path', dest]);
    expect(r.code, r.stderr).toBe(0);
    const files = await everything(dest);
    expect([...files.values()].some((b) => b.equals(known))).toBe(true);
  }, 60_000);

  it('no object, nor the catalog, holds the bytes, hashes or path of the file', async () => {
    const hay = await everything(repo);
    for (const f of ['mo_br.meta', 'mo_br.meta.sha256']) hay.set(f, await fsp.readFile(path.join(work, f)));
    const needles = new Map<string, Buffer>([
      ['bytes', known.subarray(1000, 1032)],
      ['text', Buffer.from('SECRET CATALOG TEXT 7;')],
      ['sha256', createHash('sha256').update(known).digest()],
      ['sha256 hex', Buffer.from(createHash('sha256').update(known).digest('hex'))],
      ['blake3', Buffer.from(blake3(known))],
      ['blake3 hex', Buffer.from(Buffer.from(blake3(known)).toString('hex'))],
      ['path', Buffer.from('secret-dir/known-file.dat')],
      ['name', Buffer.from('known-file.dat')],
    ]);
    const hits = [...needles].flatMap(([what, n]) => [...hay].filter(([, v]) => v.includes(n)).map(([k]) => `${what} in ${k}`));
    expect(hits).toEqual([]);
    expect(hay.size).toBeGreaterThan(5);
  });

  it('sync to an empty place carries the key files: the copy opens with the same password', async () => {
    const mirror = path.join(work, 'mirror');
    const at = ['--backup_dir', 'filesystem', '--backup_path', mirror];
    const s = await run(['sync', id, '--backup_dir', 'filesystem', '--backup_path', repo, '--target_dir', 'filesystem', '--target_path', mirror]);
    expect(s.code, s.stderr).toBe(0);
    const keys = (d: string) => fsp.readdir(path.join(d, 'keys')).then((k) => k.sort());
    expect(await keys(mirror)).toEqual(await keys(repo));
    const check = await mobr(['check', id, ...at], work, { env: ENV });
    expect({ code: check.code, stderr: check.stderr }).toEqual({ code: 0, stderr: '' });
    const wrong = await mobr(['check', id, ...at], work, { env: { ...ENV, MO_BR_REPO_PASSWORD: 'not-it' } });
    expect(wrong.code).toBe(4);
  }, 60_000);

  it('without the password: one line, exit 4', async () => {
    const r = await mobr(['ls', id, ...M], work, { env: { ...ENV, MO_BR_REPO_PASSWORD: undefined } });
    expect(r.code).toBe(4);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
