/**
 * Issue #25 for real: a `./mo_br delete` is stopped (SIGSTOP) at a gc step past its lock's
 * staleness (MOBR_TEST_LOCK_STALE_MS makes that 5 s), while a backup of the bytes gc is about
 * to free tries to run; or its wall clock jumps (MOBR_TEST_CLOCK_SKEW_FILE). The backup never
 * walks past gc's lock; gc, resumed, stops with one line and deletes nothing more; every
 * committed backup restores byte for byte.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { promises as fsp, watch } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { FsStore } from '../src/store/fs.js';
import { Repository } from '../src/repo/repository.js';
import { restoreBackup } from '../src/backup/restore.js';
import { backupTree } from '../src/backup/backup.js';
import { WorkerPool } from '../src/workers/pool.js';
import { pseudoRandom, tempDir } from './helpers/tree.js';
import { ensureBuilt, mobr, type Run } from './helpers/cli.js';
import { allPaths, backupIdOf, initTinyRepo, treeHashes } from './reliability/cli.js';
import { until } from './helpers/until.js';

const STALE_MS = 5000; // a gc or backup on a loaded machine (load 25 on 2 cores, several test files at once) must still refresh within STALE_MS / 2
let work: string;
let pool: WorkerPool;
beforeAll(async () => {
  ensureBuilt();
  pool = new WorkerPool(2);
  work = await tempDir('mobr-gc-pause-');
});
afterAll(async () => {
  await pool.close();
  await fsp.rm(work, { recursive: true, force: true });
});

const exists = (p: string) => fsp.stat(p).then(() => true, () => false);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const packs = async (repo: string) => (await allPaths(path.join(repo, 'data'))).filter((p) => /[0-9a-f]{64}$/.test(p));

/** A repository with backups of folders A (to be deleted) and B (sharing one file with A). */
async function setup(name: string) {
  const dir = path.join(work, name);
  const [repo, meta, A, B] = ['repo', 'mo_br.meta', 'A', 'B'].map((x) => path.join(dir, x));
  await initTinyRepo(repo);
  await fsp.mkdir(A, { recursive: true });
  await fsp.mkdir(B, { recursive: true });
  for (let i = 0; i < 3; i++) await fsp.writeFile(path.join(A, `a${i}`), pseudoRandom(10 + i, 150_000));
  await fsp.copyFile(path.join(A, 'a0'), path.join(B, 'a0'));
  await fsp.writeFile(path.join(B, 'b'), pseudoRandom(20, 150_000));
  const backup = async (data: string, env?: NodeJS.ProcessEnv) => mobr(['backup', '--backup_dir', 'filesystem', '--path', repo, '--data_dir', data, '--meta_path', meta], work, { env });
  const ids = { a: randomUUID(), b: randomUUID() };
  const r = await Repository.open(new FsStore(repo));
  await backupTree(r, A, { id: ids.a, pool });
  await backupTree(r, B, { id: ids.b, pool });
  return { repo, meta, A, B, ids, backup };
}

/** Restores backup `id` and compares every file with `source`. */
async function expectRestores(repo: string, id: string, source: string): Promise<void> {
  const r = await Repository.open(new FsStore(repo));
  const out = await tempDir('mobr-gc-pause-r-');
  await restoreBackup(r, await r.loadManifest(id), out, { pool });
  expect(await treeHashes(out), `backup ${id}`).toEqual(await treeHashes(source));
  await fsp.rm(out, { recursive: true, force: true });
}

/** Starts `delete <a>` paused at `step`; resolves once gc is there, holding its lock. */
async function deletePaused(s: Awaited<ReturnType<typeof setup>>, step: string, env: NodeJS.ProcessEnv = {}) {
  const marker = path.join(work, `paused-${Math.random().toString(36).slice(2)}`);
  let child: ChildProcess | undefined;
  const run = mobr(['delete', s.ids.a, '--backup_dir', 'filesystem', '--backup_path', s.repo, '--meta_path', s.meta], work, { env: { MOBR_TEST_GC_PAUSE: `${step}:${marker}`, MOBR_TEST_LOCK_STALE_MS: String(STALE_MS), ...env }, onSpawn: (p) => (child = p) });
  let ended: Run | undefined;
  void run.then((r) => (ended = r));
  await until(async () => ended !== undefined || (await exists(marker)), 60_000, `gc at ${step}`);
  expect(ended, `gc ended before ${step}: ${ended?.stderr}`).toBeUndefined();
  expect(await allPaths(path.join(s.repo, 'locks')), 'gc holds its lock').toHaveLength(1);
  return { run, child: child!, resume: () => fsp.rm(marker) };
}

const lostLine = (step: string, ids: Record<string, string>, repo: string, why: string) =>
  new RegExp(`^mo_br: gc lost the repository lock on filesystem ${repo} \\(not refreshed for ${why}\\)${step === 'repacked' ? '; nothing was deleted' : `: backup\\(s\\) ${ids.a} deleted; the space they held is freed by the next delete or prune`}\\n$`);

describe('gc stopped past its lock staleness (SIGSTOP), while a backup waits', () => {
  for (const [step, skew] of [['repacked', 0], ['indexed', -3_600_000]] as const) {
    it(`at ${step}${skew ? ', with the wall clock set back an hour' : ''}: the backup waits, gc stops with one line and deletes nothing more`, async () => {
      const s = await setup(`stop-${step}`);
      const skewFile = path.join(work, `skew-${step}`);
      await fsp.writeFile(skewFile, '0');
      const gc = await deletePaused(s, step, { MOBR_TEST_CLOCK_SKEW_FILE: skewFile });
      gc.child.kill('SIGSTOP');
      const atStop = await packs(s.repo);
      let lockWrites = 0;
      const watcher = watch(path.join(s.repo, 'locks'), () => void lockWrites++);
      await gc.resume(); // it goes on when it runs again
      await fsp.writeFile(skewFile, String(skew));
      let c: Run | undefined;
      const cRun = s.backup(s.A, { MOBR_TEST_LOCK_STALE_MS: String(STALE_MS) }).then((r) => (c = r)); // a's bytes, which gc is freeing
      await sleep(STALE_MS + 500); // gc's lock is past staleMs on every clock now
      // the backup really met gc's lock: its own lock object came and went beside it (gc, stopped, writes nothing)
      await until(() => c !== undefined || lockWrites > 0, 30_000, 'the backup tries to lock');
      await sleep(500);
      watcher.close();
      expect(c, 'the backup walked past the exclusive lock of a stopped gc').toBeUndefined();
      gc.child.kill('SIGCONT');
      const r = await gc.run;
      expect(r.code, r.stderr).toBe(7);
      expect(r.stderr).toMatch(lostLine(step, s.ids, s.repo, '\\d+ s'));
      const afterGc = await packs(s.repo);
      expect(atStop.filter((p) => !afterGc.includes(p)), 'packs deleted by a gc that had lost its lock').toEqual([]);
      await cRun;
      expect(c!.code, c!.stderr).toBe(0);
      const cId = backupIdOf(c!.stdout)!;
      if (step === 'repacked') await expectRestores(s.repo, s.ids.a, s.A);
      await expectRestores(s.repo, s.ids.b, s.B);
      await expectRestores(s.repo, cId, s.A);
      expect(await allPaths(path.join(s.repo, 'locks'))).toEqual([]);
    }, 60_000);
  }

  it('the wall clock jumps forward an hour while gc waits at repacked: it stops, nothing deleted', async () => {
    const s = await setup('jump');
    const skewFile = path.join(work, 'skew-jump');
    await fsp.writeFile(skewFile, '0');
    const gc = await deletePaused(s, 'repacked', { MOBR_TEST_CLOCK_SKEW_FILE: skewFile });
    const before = await packs(s.repo);
    await fsp.writeFile(skewFile, String(3_600_000));
    await sleep(STALE_MS / 3); // a heartbeat tick sees it
    await gc.resume();
    const r = await gc.run;
    expect(r.code, r.stderr).toBe(7);
    expect(r.stderr).toMatch(lostLine('repacked', s.ids, s.repo, '60 min'));
    expect((await packs(s.repo)).filter((p) => !before.includes(p))).toEqual([]);
    await expectRestores(s.repo, s.ids.a, s.A);
    await expectRestores(s.repo, s.ids.b, s.B);
  }, 60_000);
});
