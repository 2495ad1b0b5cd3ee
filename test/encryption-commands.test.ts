/**
 * The commands that read a backup, on an encrypted repository, through ./mo_br (issue #23 "Every
 * command that reads a backup … works on encrypted repositories"): diff, stats (and --html), meta
 * rebuild, delete and prune with their gc (sealed packs repacked); afterwards what is kept checks
 * and restores byte for byte. Without the password each stops in one line, exit 4, and changes
 * nothing. (ls, find, dump, check, restore, sync: encryption-cli.test.ts; export and shares:
 * encryption-shares-cli.test.ts.) Key files use the cheap test KDF (MOBR_TEST_KDF). The commands
 * run in-process (mobrIn); encryption-cli.test.ts runs ./mo_br itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ensureBuilt, mobrIn as mobr } from './helpers/cli.js';
import { pseudoRandom } from './helpers/tree.js';

const ENV = { MOBR_TEST_KDF: 'n=16,r=1,p=1', MO_BR_REPO_PASSWORD: 'commands-pw' };
const NO_PW = { ...ENV, MO_BR_REPO_PASSWORD: undefined };
const backupId = (stdout: string) => /Backup ID\n {4}([0-9a-f-]{36})\n/.exec(stdout)![1]!;

let work: string;
let repo: string;
let at: string[];
const ids: string[] = [];
/** The files of the last backup, as they were. */
const last = new Map<string, Buffer>();

const run = (args: string[], env: NodeJS.ProcessEnv = ENV) => mobr([...args, '--meta_path', path.join(work, 'm.meta')], work, { env });
const put = (name: string, data: Uint8Array) => writeFileSync(path.join(work, 'mo-data/shared', name), data);
const packs = () => readdirSync(path.join(repo, 'data'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name).sort();

beforeAll(async () => {
  ensureBuilt();
  work = mkdtempSync(path.join(tmpdir(), 'mobr-enc-commands-'));
  repo = path.join(work, 'repo');
  at = ['--backup_dir', 'filesystem', '--backup_path', repo];
  mkdirSync(path.join(work, 'mo-data/shared'), { recursive: true });
  // backup 1: a (kept to the end) and b (gone after backup 2: its pack is then mostly dead)
  put('a', pseudoRandom(1, 40_000));
  put('b', pseudoRandom(2, 600_000));
  for (const step of [() => undefined, () => (put('b', pseudoRandom(3, 50_000)), put('c', pseudoRandom(4, 70_000))), () => put('d', pseudoRandom(5, 30_000))]) {
    step();
    const b = await run(['backup', '--backup_dir', 'filesystem', '--path', repo, '--data_dir', path.join(work, 'mo-data')]);
    expect(b.code, b.stderr).toBe(0);
    ids.push(backupId(b.stdout));
  }
  for (const f of ['a', 'b', 'c', 'd']) last.set(`shared/${f}`, readFileSync(path.join(work, 'mo-data/shared', f)));
  expect(readFileSync(path.join(repo, 'config')).subarray(0, 4).toString('latin1')).toBe('MOBS');
}, 60_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('an encrypted repository through ./mo_br', () => {
  it('diff and stats (with --html) read its sealed manifests and index', async () => {
    const html = path.join(work, 'stats.html');
    const [d, s] = await Promise.all([run(['diff', ids[0]!, ids[1]!, '--json']), run(['stats', '--json', '--html', html, ...at])]);
    expect([d.code, d.stderr]).toEqual([0, '']);
    const diff = JSON.parse(d.stdout);
    expect(diff.new.map((e: { path: string }) => e.path)).toEqual(['shared/c']);
    expect(diff.changed.map((e: { path: string }) => e.path)).toEqual(['shared/b']);
    expect(diff.repository.addedRawBytes).toBe(120_000);
    expect([s.code, s.stderr]).toEqual([0, '']);
    const stats = JSON.parse(s.stdout).repositories[0];
    expect(stats.backups.map((b: { id: string }) => b.id)).toEqual(ids);
    expect(stats.backups.map((b: { logicalSize: number }) => b.logicalSize)).toEqual([640_000, 160_000, 190_000]);
    // the first backup alone holds the first b; the last alone holds d (the second's files are all in the third)
    expect(stats.backups.map((b: { uniqueBytes: number }) => b.uniqueBytes > 0)).toEqual([true, false, true]);
    expect(readFileSync(html, 'utf8')).toContain(ids[2]);
  }, 30_000);

  it('meta rebuild writes the records of every backup from the sealed manifests', async () => {
    const r = await mobr(['meta', 'rebuild', ...at, '--meta_path', 'rebuilt.meta'], work, { env: ENV });
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toContain('(3 added, 0 already there, 0 removed)');
    const records = (file: string) => readFileSync(path.join(work, file), 'utf8').trim().split('\n').map((l) => l.split(',').slice(0, 2).join(','));
    expect(records('rebuilt.meta')).toEqual(records('m.meta'));
  }, 30_000);

  it('without the password: diff, stats, meta rebuild, delete and prune stop in one line, exit 4, and change nothing', async () => {
    const before = { packs: packs(), meta: readFileSync(path.join(work, 'm.meta'), 'utf8') };
    const runs = await Promise.all([
      run(['diff', ids[0]!, ids[1]!], NO_PW),
      run(['stats', ...at], NO_PW),
      mobr(['meta', 'rebuild', ...at, '--meta_path', 'none.meta'], work, { env: NO_PW }),
      run(['delete', ids[0]!], NO_PW),
      run(['prune', '--keep_last', '1'], NO_PW),
    ]);
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(4);
      expect(r.stderr).toBe(`mo_br: filesystem ${repo} is encrypted: give its password in MO_BR_REPO_PASSWORD, with --repo_password_file <file> or --repo_password_command <command>, or as repo_password in mo_br.toml\n`);
    }
    expect({ packs: packs(), meta: readFileSync(path.join(work, 'm.meta'), 'utf8') }).toEqual(before);
    expect(readdirSync(work)).not.toContain('none.meta');
  }, 30_000);

  it('delete and prune collect sealed packs (repacking the live blobs); the kept backup checks and restores byte for byte', async () => {
    const before = packs();
    const del = await run(['delete', ids[0]!, '--safety', 'none']);
    expect([del.code, del.stderr]).toEqual([0, '']);
    const pr = await run(['prune', '--keep_last', '1', '--safety', 'none']);
    expect([pr.code, pr.stderr]).toEqual([0, '']);
    expect(pr.stdout).toContain(ids[1]);
    const after = packs();
    expect(after.filter((p) => !before.includes(p)).length, 'a repacked pack').toBeGreaterThan(0);
    expect(before.filter((p) => !after.includes(p)).length, 'a dropped pack').toBeGreaterThan(0);
    const dest = path.join(work, 'restored');
    const [list, check, r] = await Promise.all([run(['list', '--json', ...at]), run(['check', ids[2]!]), run(['restore', ids[2]!, '--restore_dir', 'filesystem', '--restore_path', dest])]);
    expect(JSON.parse(list.stdout).backups.map((b: { id: string }) => b.id)).toEqual([ids[2]]);
    expect([check.code, check.stderr]).toEqual([0, '']);
    expect([r.code, r.stderr]).toEqual([0, '']);
    for (const [f, bytes] of last) expect(readFileSync(path.join(dest, 'mo-data', f)).equals(bytes), f).toBe(true);
  }, 30_000);
});
