/**
 * Issue #25: `mo_br unlock` (spec/gc.md §2.1 "Unlock"). Nobody walks past an exclusive lock, so a
 * gc that is gone for good (its host lost, its container gone) blocks every gc until its lock
 * goes: `delete` frees nothing and names `mo_br unlock`; `unlock` removes that lock, an
 * unreadable one and one whose holder is provably gone, and the next delete frees the data. A
 * live lock is kept (and named); `--remove_all` removes it too; `--json` says the same.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { promises as fsp, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { backupIdOf, ensureBuilt, initTinyRepo } from './reliability/cli.js';
import { mobrIn as mobr } from './helpers/cli.js';
import { pseudoRandom, tempDir } from './helpers/tree.js';

let work: string;
let repo: string;
let M: string[];
const R = () => ['--backup_dir', 'filesystem', '--backup_path', repo];

beforeAll(async () => {
  ensureBuilt();
  work = await tempDir('mobr-unlock-');
  repo = path.join(work, 'repo');
  await initTinyRepo(repo);
  M = ['--meta_path', path.join(work, 'mo_br.meta')];
});
afterAll(async () => {
  await fsp.rm(work, { recursive: true, force: true });
});

/** A lock object `ageMs` old on the store's clock (a folder: its mtime); returns its key. */
async function plant(body: string | object, ageMs: number): Promise<string> {
  const key = `locks/${randomBytes(16).toString('hex')}`;
  const file = path.join(repo, key);
  await fsp.mkdir(path.dirname(file), { recursive: true });
  await fsp.writeFile(file, typeof body === 'string' ? body : JSON.stringify({ v: 1, createdAt: Date.now() - ageMs, ...body }));
  const t = new Date(Date.now() - ageMs);
  await fsp.utimes(file, t, t);
  return key;
}

const locks = async () => (await fsp.readdir(path.join(repo, 'locks'))).map((f) => `locks/${f}`).sort();
/** A process of this host, boot and PID namespace that has ended (a provably gone holder). */
function goneHolder() {
  const r = spawnSync('true');
  return { host: hostname(), pid: r.pid!, boot: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(), pidns: statSync('/proc/self/ns/pid').ino };
}
const dataFiles = async () => (await fsp.readdir(path.join(repo, 'data'), { recursive: true })).length;

describe('mo_br unlock (issue #25)', () => {
  it('removes a gone gc\'s exclusive lock that keeps delete from freeing space, an unreadable one and a gone holder\'s', async () => {
    const backup = async (name: string, seed: number) => {
      const src = path.join(work, name);
      await fsp.mkdir(src);
      await fsp.writeFile(path.join(src, 'f'), pseudoRandom(seed, 50_000));
      const b = await mobr(['backup', '--backup_dir', 'filesystem', '--path', repo, '--data_dir', src, ...M], work);
      expect(b.code, b.stderr).toBe(0);
      return backupIdOf(b.stdout)!;
    };
    const [a, b] = [await backup('a', 1), await backup('b', 2)];
    const packs = await dataFiles();

    const gc = await plant({ kind: 'exclusive', host: 'lost-host', pid: 77, purpose: 'gc' }, 3 * 3_600_000);
    const junk = await plant('not json', 5 * 60_000);
    const gone = await plant({ kind: 'shared', ...goneHolder(), purpose: 'backup gone' }, 1000);

    const blocked = await mobr(['delete', a, ...M], work);
    expect(blocked.code, blocked.stderr).toBe(0);
    expect(blocked.stdout).toContain(`no space freed yet: filesystem ${repo} is locked by gc (exclusive, host lost-host pid 77), not refreshed for 180 min: a paused process may still hold it; if it is gone for good, \`mo_br unlock\` removes ${gc}`);
    expect(await dataFiles(), 'nothing freed beside the gc lock').toBe(packs);

    const u = await mobr(['unlock', ...R()], work);
    expect(u.code, u.stderr).toBe(0);
    expect(u.stderr).toBe('');
    const lines = u.stdout.trim().split('\n');
    expect(lines).toContain(`removed ${gc}: gc (exclusive, host lost-host pid 77), refreshed 3h00m ago`);
    expect(lines.find((l) => l.startsWith(`removed ${junk}: not a readable lock, refreshed 5m0`))).toBeDefined();
    expect(lines.find((l) => l.startsWith(`removed ${gone}: backup gone (shared, host ${hostname()} pid `))).toBeDefined();
    expect(lines.at(-1)).toBe(`unlock: removed 3 lock(s), kept 0, in filesystem ${repo}`);
    expect(lines).toHaveLength(4);
    expect(await fsp.readdir(path.join(repo, 'locks'))).toEqual([]);

    const d = await mobr(['delete', b, ...M, '--safety', 'none'], work);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout).toMatch(/\ndelete: freed [\d.]+ k?B \(\d+ pack\(s\) deleted, 0 rewritten\)\n$/);
    expect(await dataFiles(), 'the data of both backups is freed').toBeLessThan(packs);
  }, 60_000);

  it('keeps a live lock and names it; --remove_all removes it too; --json says what went', async () => {
    const live = await plant({ kind: 'shared', host: 'other-host', pid: 4243, purpose: 'backup elsewhere' }, 60_000);
    const kept = await mobr(['unlock', ...R()], work);
    expect(kept.code, kept.stderr).toBe(0);
    expect(kept.stdout).toMatch(new RegExp(`^kept ${live}: backup elsewhere \\(shared, host other-host pid 4243\\), refreshed 1m0\\ds ago: live \\(--remove_all removes it\\)\\nunlock: removed 0 lock\\(s\\), kept 1, in filesystem ${repo}\\n$`));
    const j = JSON.parse((await mobr(['unlock', ...R(), '--json'], work)).stdout);
    expect(j).toMatchObject({ schema: 'mobr.unlock.v1', repository: `filesystem ${repo}`, removed: [], kept: [{ key: live, stale: false }] });
    expect(await locks()).toEqual([live]);

    const all = await mobr(['unlock', ...R(), '--remove_all', '--json'], work);
    expect(all.code, all.stderr).toBe(0);
    const k = JSON.parse(all.stdout);
    expect(k.removed).toEqual([expect.objectContaining({ key: live, kind: 'shared', purpose: 'backup elsewhere', host: 'other-host', pid: 4243, stale: false })]);
    expect(k.kept).toEqual([]);
    expect(await locks()).toEqual([]);
  }, 30_000);

  it('no repository there: one line, exit 3', async () => {
    const r = await mobr(['unlock', '--backup_dir', 'filesystem', '--backup_path', path.join(work, 'nothing')], work);
    expect(r.stderr).toMatch(/^mo_br: no mobr repository at filesystem .*nothing\n$/);
    expect(r.code).toBe(3);
  });
});
