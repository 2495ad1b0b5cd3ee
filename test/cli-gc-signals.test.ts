/**
 * Ctrl-C during `delete` and `prune` (spec/gc.md §3, "Interrupted"), through the real ./mo_br: gc
 * is paused at a named step by the test hook (MOBR_TEST_GC_PAUSE), so the SIGINT provably lands
 * mid-gc, holding its lock. Before gc's commit: exit 130, nothing deleted (not even the new packs
 * it had written). After it: exit 130, the backups gone and their records with them. Either way:
 * no lock, no temp file, and `check` passes on every backup left. And a gc lock that cannot be
 * removed: the delete stands, with one `mo_br: warning:` line.
 * The commands stopped or hindered are processes (./mo_br); the backups before them and the
 * list, check and delete after them run in this one (mobrIn).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fsp } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { pseudoRandom, tempDir } from './helpers/tree.js';
import { ensureBuilt, mobr, mobrIn } from './helpers/cli.js';
import { allPaths, backupIdOf, initTinyRepo } from './reliability/cli.js';
import { until } from './helpers/until.js';

let work: string;
beforeAll(async () => {
  ensureBuilt();
  work = await tempDir('mobr-gc-signals-');
});
afterAll(async () => {
  await fsp.rm(work, { recursive: true, force: true });
});

const exists = (p: string) => fsp.stat(p).then(() => true, () => false);
const leftovers = async (dir: string) => (await allPaths(dir)).filter((p) => /\.tmp-|\.new-|\.stale-|\.lock$/.test(p));
/** Files (not the folders a store creates on the way, which may stay empty). */
const files = async (repo: string) => (await allPaths(repo)).filter((p) => !/^(data|index|backups|locks|staging)(\/[0-9a-f]{2})?$/.test(p));
const packs = async (repo: string) => (await allPaths(path.join(repo, 'data'))).filter((p) => /[0-9a-f]{64}$/.test(p));

/**
 * A repository with three backups of one folder whose big file changes every other 64 KiB region
 * between backups: deleting the first leaves packs half live, so gc rewrites (repacks) some.
 */
async function setup(name: string): Promise<{ repo: string; meta: string; ids: string[] }> {
  const repo = path.join(work, name, 'repo');
  const data = path.join(work, name, 'data');
  const meta = path.join(work, name, 'mo_br.meta');
  await fsp.mkdir(data, { recursive: true });
  await initTinyRepo(repo);
  const big = pseudoRandom(7, 1024 * 1024);
  const ids: string[] = [];
  for (let round = 0; round < 3; round++) {
    for (let off = (round % 2) * 65_536; off < big.length; off += 2 * 65_536) big.set(pseudoRandom(100 + round * 1000 + off, 65_536), off);
    await fsp.writeFile(path.join(data, 'big'), big);
    await fsp.writeFile(path.join(data, `small-${round}`), pseudoRandom(round, 200_000));
    const r = await mobrIn(['backup', '--backup_dir', 'filesystem', '--path', repo, '--data_dir', data, '--meta_path', meta], work);
    expect(r.code, r.stderr).toBe(0);
    ids.push(backupIdOf(r.stdout)!);
  }
  return { repo, meta, ids };
}

/** Runs a command with gc paused at `step`; once it is there (holding its lock), sends SIGINT. */
async function interruptAt(step: 'repacked' | 'indexed', args: string[], repo: string, onPause?: () => Promise<void>) {
  const marker = path.join(work, `paused-${step}-${Math.random().toString(36).slice(2)}`);
  let child: ChildProcess | undefined;
  const run = mobr(args, work, { env: { MOBR_TEST_GC_PAUSE: `${step}:${marker}` }, onSpawn: (p) => (child = p) });
  await until(() => exists(marker), 60_000, `gc at ${step}`);
  expect((await allPaths(path.join(repo, 'locks'))).length, 'gc holds its lock').toBe(1);
  await onPause?.();
  child!.kill('SIGINT');
  return run;
}

async function recordedIds(meta: string): Promise<string[]> {
  const r = await mobrIn(['list', '--json', '--meta_path', meta], work);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout).backups as { id: string }[]).map((b) => b.id).sort();
}

/** No lock, no temp file, and every backup left checks (data included). */
async function expectSound(repo: string, meta: string, ids: string[]): Promise<void> {
  expect(await allPaths(path.join(repo, 'locks'))).toEqual([]);
  expect(await leftovers(repo)).toEqual([]);
  expect(await leftovers(path.dirname(meta))).toEqual([]);
  for (const id of ids) {
    const c = await mobrIn(['check', id, '--meta_path', meta], work);
    expect(c.code, `check ${id}: ${c.stdout}${c.stderr}`).toBe(0);
  }
}

describe('delete and prune stopped or hindered mid-gc', () => {
  it('delete, before gc commits: exit 130, nothing deleted, the packs gc had written removed', async () => {
    const { repo, meta, ids } = await setup('before');
    const before = await files(repo);
    const packsBefore = await packs(repo);
    const r = await interruptAt('repacked', ['delete', ids[0], '--meta_path', meta], repo, async () => {
      expect((await packs(repo)).length, 'gc had written new packs').toBeGreaterThan(packsBefore.length);
    });
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toBe('mo_br: interrupted (SIGINT); nothing was deleted\n');
    expect(await files(repo)).toEqual(before);
    expect(await recordedIds(meta)).toEqual([...ids].sort());
    await expectSound(repo, meta, ids);
  }, 120_000);

  it('delete, after gc commits: exit 130, the backup and its record gone, the rest checks; the next delete frees the space', async () => {
    const { repo, meta, ids } = await setup('after');
    const r = await interruptAt('indexed', ['delete', ids[0], '--meta_path', meta], repo);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toBe(`mo_br: interrupted (SIGINT): backup(s) ${ids[0]} deleted; the space they held is freed by the next delete or prune\n`);
    expect(await exists(path.join(repo, 'backups', ids[0]))).toBe(false);
    expect(await recordedIds(meta)).toEqual(ids.slice(1).sort());
    await expectSound(repo, meta, ids.slice(1));
    const next = await mobrIn(['delete', ids[1], '--meta_path', meta, '--json'], work);
    expect(next.code, next.stderr).toBe(0);
    expect(JSON.parse(next.stdout).gc.packsDeleted + JSON.parse(next.stdout).gc.orphansDeleted).toBeGreaterThan(0);
    await expectSound(repo, meta, ids.slice(2));
  }, 120_000);

  it('prune, after gc commits: exit 130, the catalog records exactly the backups left', async () => {
    const { repo, meta, ids } = await setup('prune');
    const r = await interruptAt('indexed', ['prune', '--keep_last', '1', '--meta_path', meta], repo);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/^mo_br: interrupted \(SIGINT\): backup\(s\) [0-9a-f-]+, [0-9a-f-]+ deleted; [^\n]*\n$/);
    const left = (await allPaths(path.join(repo, 'backups'))).map((p) => path.basename(p)).filter((n) => ids.includes(n));
    expect(left).toEqual([ids[2]]);
    expect(await recordedIds(meta)).toEqual([ids[2]]);
    await expectSound(repo, meta, [ids[2]]);
  }, 120_000);

  it('a lock gc cannot remove: the delete still succeeds, and one warning line says so', async () => {
    const { repo, meta, ids } = await setup('release');
    const marker = path.join(work, 'paused-release');
    const run = mobr(['delete', ids[0], '--meta_path', meta], work, { env: { MOBR_TEST_GC_PAUSE: `done:${marker}` } });
    await until(() => exists(marker), 60_000, 'gc done'); // past its last fence: replacing its lock now only makes the release fail
    const [lock] = await allPaths(path.join(repo, 'locks'));
    const file = path.join(repo, 'locks', lock);
    await fsp.rm(file);
    await fsp.mkdir(file); // a non-empty folder where gc's lock object was: removing it fails
    await fsp.writeFile(path.join(file, 'x'), '');
    await fsp.rm(marker); // gc goes on
    const r = await run;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`delete: backup ${ids[0]} deleted`);
    expect(r.stderr).toMatch(new RegExp(`^mo_br: warning: could not remove the exclusive lock locks/${lock} from filesystem \\S+ \\([^\\n]+\\); it blocks backups and gc until it is stale[^\\n]*\\n$`));
    expect(await recordedIds(meta)).toEqual(ids.slice(1).sort());
  }, 120_000);
});

