/**
 * Issue #25 for real: `./mo_br delete`, `prune` and `check --repair` are stopped (SIGSTOP) at each
 * gc step past their lock's staleness (MOBR_TEST_LOCK_STALE_MS makes that 20 s), while a backup of
 * the bytes gc is about to free tries to run; or their wall clock jumps (MOBR_TEST_CLOCK_SKEW_FILE).
 * The backup never walks past the exclusive lock; the command, resumed, stops with one line and
 * deletes nothing more; every committed backup restores byte for byte.
 * The cases mostly wait (a stopped process must stay stopped past its lock's margin), so three
 * run at once; each proves its own timing (the stopped command's lock object aged, the backup's
 * lock attempts seen, the stop's length measured), so none depends on an idle machine.
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
import { repairIndex } from '../src/repo/repair.js';
import { WorkerPool } from '../src/workers/pool.js';
import { Semaphore } from '../src/util/concurrency.js';
import { pseudoRandom, tempDir } from './helpers/tree.js';
import { ensureBuilt, mobr, type Run } from './helpers/cli.js';
import { allPaths, backupIdOf, initTinyRepo, treeHashes } from './reliability/cli.js';
import { until } from './helpers/until.js';

// a gc or backup on a loaded machine must still refresh within 3/4 of STALE_MS: at 5 s (three cases at once, load 20 on
// 2 cores; then within STALE_MS / 2) a running delete lost its own lock ("not refreshed for 3 s"); at 10 s, beside four
// busy loops (load 35-40), a delete lost its lock before its step ("not refreshed for 8 s") and a waiting backup its own (9 s)
const STALE_MS = 20_000;
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
/** Lock objects (not a refresh's temp file beside one). */
const lockObjects = async (repo: string) => (await allPaths(path.join(repo, 'locks'))).filter((p) => /[0-9a-f]{32}$/.test(p));
/** Packs and index objects: what gc (or repair) may delete. */
const stored = async (repo: string) => (await allPaths(repo)).filter((p) => /^(data|index)\/.*[0-9a-f]{64}$/.test(p));
/** Committed backups. */
const manifests = async (repo: string) => allPaths(path.join(repo, 'backups'));

/**
 * A repository with two backups of one folder (`data`): a (then as folder A is now: to be deleted)
 * and, newer, b (as B: a0 kept, a1 and a2 replaced by b). prune --keep_last 1 drops a, as delete does.
 */
async function setup(name: string) {
  const dir = path.join(work, name);
  const [repo, meta, A, B] = ['repo', 'mo_br.meta', 'A', 'data'].map((x) => path.join(dir, x));
  await initTinyRepo(repo);
  await fsp.mkdir(A, { recursive: true });
  for (let i = 0; i < 3; i++) await fsp.writeFile(path.join(A, `a${i}`), pseudoRandom(10 + i, 150_000));
  await fsp.cp(A, B, { recursive: true });
  const backup = async (data: string, env?: NodeJS.ProcessEnv) => mobr(['backup', '--backup_dir', 'filesystem', '--path', repo, '--data_dir', data, '--meta_path', meta], work, { env });
  const ids = { a: randomUUID(), b: randomUUID() };
  const r = await Repository.open(new FsStore(repo));
  await backupTree(r, B, { id: ids.a, pool });
  for (const f of ['a1', 'a2']) await fsp.rm(path.join(B, f));
  await fsp.writeFile(path.join(B, 'b'), pseudoRandom(20, 150_000));
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

type Setup = Awaited<ReturnType<typeof setup>>;
type Kind = 'delete' | 'prune' | 'repair';

/** The command each kind runs: delete a; prune a (an older backup of B's folder, keep_last 1); check --repair (an index object damaged). */
function gcArgs(kind: Kind, s: Setup): string[] {
  const where = ['--backup_dir', 'filesystem', '--backup_path', s.repo, '--meta_path', s.meta];
  if (kind === 'delete') return ['delete', s.ids.a, ...where];
  if (kind === 'prune') return ['prune', '--keep_last', '1', '--unrecorded', ...where];
  return ['check', '--repair', ...where];
}

/** Starts the command paused at `step`; resolves once it is there, holding its lock. */
async function gcPaused(kind: Kind, s: Setup, step: string, env: NodeJS.ProcessEnv = {}) {
  const marker = path.join(work, `paused-${Math.random().toString(36).slice(2)}`);
  let child: ChildProcess | undefined;
  const run = mobr(gcArgs(kind, s), work, { env: { MOBR_TEST_GC_PAUSE: `${step}:${marker}`, MOBR_TEST_LOCK_STALE_MS: String(STALE_MS), ...env }, onSpawn: (p) => (child = p) });
  let ended: Run | undefined;
  void run.then((r) => (ended = r));
  await until(async () => ended !== undefined || (await exists(marker)), 60_000, `${kind} at ${step}`);
  expect(ended, `${kind} ended before ${step}: ${ended?.stderr}`).toBeUndefined();
  expect(await lockObjects(s.repo), `${kind} holds its lock`).toHaveLength(1);
  return { run, child: child!, resume: () => fsp.rm(marker) };
}

const BEFORE_COMMIT = new Set(['planned', 'repacked']);
/** The one line a gc (or repair) that lost its lock ends with. */
function lostLine(kind: Kind, step: string, s: Setup, why: string): RegExp {
  const where = kind === 'prune' ? `BackupDir: filesystem  Path: ${s.repo}: ` : ''; // prune names the repository it was pruning
  const head = `^mo_br: ${where}${kind === 'repair' ? 'repair' : 'gc'} lost the repository lock on filesystem ${s.repo} \\(not refreshed for ${why}\\)`;
  if (kind === 'repair') return new RegExp(`${head}\\n$`);
  return new RegExp(`${head}${BEFORE_COMMIT.has(step) ? '; nothing was deleted' : `: backup\\(s\\) ${s.ids.a} deleted; the space they held is freed by the next delete or prune`}\\n$`);
}

/** Replaces the bytes of the repository's first index object: check --repair has work (reindex its packs, then remove it). */
async function damageIndex(repo: string): Promise<void> {
  const [first] = (await allPaths(path.join(repo, 'index'))).sort();
  await fsp.writeFile(path.join(repo, 'index', first!), pseudoRandom(99, 300));
}

/**
 * At most five cases at once (vitest's maxConcurrency: the nine stop cases take two turns of
 * ~20 s, not three): they mostly wait, and each judges its timing by what it saw.
 */
const slots = new Semaphore(5);
/** A case waits its turn inside its own time limit: three turns of a case at load, with room. */
const CASE_MS = 180_000;

/**
 * SIGSTOP at `step` (the wall clock moved by `skew` meanwhile), while a backup of A (the bytes gc
 * frees) tries to lock. The stopped command's lock object is aged an hour (its mtime, the store's
 * clock: what another process judges staleness by), so the backup sees it stale at once and still
 * waits; the stop lasts past the point where the command's lock is lost (3/4 of staleMs on its
 * monotonic clock; spec/gc.md §2.1). Once
 * continued, the command stops with the one line (exit 7) and deletes nothing more, or ends (exit
 * 0) at `done`; the backup commits; every committed backup restores byte for byte (after a
 * second, unpaused repair for `repair`).
 */
async function stopCase(kind: Kind, step: string, skew: number): Promise<void> {
  const s = await setup(`${kind}-${step}-${skew}`);
  if (kind === 'repair') await damageIndex(s.repo);
  const skewFile = path.join(work, `skew-${kind}-${step}-${skew}`);
  await fsp.writeFile(skewFile, '0');
  const gc = await gcPaused(kind, s, step, { MOBR_TEST_CLOCK_SKEW_FILE: skewFile });
  gc.child.kill('SIGSTOP');
  const stoppedAt = performance.now();
  const [atStop, atStopManifests] = [await stored(s.repo), await manifests(s.repo)];
  const [held] = await lockObjects(s.repo);
  const anHourAgo = new Date(Date.now() - 3_600_000);
  await fsp.utimes(path.join(s.repo, 'locks', held!), anHourAgo, anHourAgo); // not refreshed for an hour, as a store sees it
  let lockWrites = 0;
  const watcher = watch(path.join(s.repo, 'locks'), () => void lockWrites++);
  await gc.resume(); // it goes on when it runs again
  await fsp.writeFile(skewFile, String(skew));
  let c: Run | undefined;
  const cRun = s.backup(s.A, { MOBR_TEST_LOCK_STALE_MS: String(STALE_MS) }).then((r) => (c = r)); // a's bytes, which gc is freeing
  // the backup really met the lock and was refused: its own lock object came and went beside the
  // stopped one (which writes nothing); one that walked past keeps it until it has committed
  const refused = async () => lockWrites > 0 && (await lockObjects(s.repo)).length === 1;
  await until(async () => c !== undefined || (await refused()), 30_000, 'the backup to be refused the lock');
  // stopped past 3/4 of its staleness, where its lock is lost: the command's monotonic clock counts the stop (its wall clock may be set back)
  await sleep(Math.max(0, stoppedAt + (STALE_MS * 3) / 4 + 500 - performance.now()));
  await until(async () => c !== undefined || (await refused()), 30_000, 'the backup, still refused');
  watcher.close();
  expect(c, `the backup walked past the exclusive lock of a stopped ${kind}, an hour old`).toBeUndefined();
  expect(await manifests(s.repo), 'no backup committed beside the stopped command').toEqual(atStopManifests);
  gc.child.kill('SIGCONT');
  const r = await gc.run;
  if (step === 'done') expect([r.code, r.stderr]).toEqual([0, '']);
  else {
    expect(r.code, r.stderr).toBe(7);
    expect(r.stderr).toMatch(lostLine(kind, step, s, '\\d+ s'));
  }
  const after = await stored(s.repo);
  expect(atStop.filter((p) => !after.includes(p)), `objects deleted by a ${kind} that had lost its lock`).toEqual([]);
  await cRun;
  expect(c!.code, c!.stderr).toBe(0);
  if (kind === 'repair') await repairIndex(await Repository.open(new FsStore(s.repo)));
  const aLeft = kind === 'repair' || BEFORE_COMMIT.has(step);
  for (const [id, source] of [...(aLeft ? [[s.ids.a, s.A]] : []), [s.ids.b, s.B], [backupIdOf(c!.stdout)!, s.A]]) await expectRestores(s.repo, id!, source!);
  expect(await lockObjects(s.repo)).toEqual([]);
}

describe.concurrent('gc stopped past its lock staleness (SIGSTOP) at every step, while a backup waits', () => {
  const STEPS = ['planned', 'repacked', 'committed', 'indexed', 'deleting', 'done'];
  STEPS.forEach((step, i) => {
    const skew = i % 2 === 0 ? 0 : -3_600_000; // every other step with the wall clock set back an hour meanwhile
    it(`delete at ${step}${skew ? ', with the wall clock set back an hour' : ''}: the backup waits; gc ${step === 'done' ? 'ends' : 'stops with one line'} and deletes nothing more`, () => slots.run(() => stopCase('delete', step, skew)), CASE_MS);
  });
  it('prune at committed: the same', () => slots.run(() => stopCase('prune', 'committed', 0)), CASE_MS);
  for (const step of ['planned', 'indexed']) {
    it(`check --repair at ${step}: the backup waits; repair stops with one line and removes nothing`, () => slots.run(() => stopCase('repair', step, step === 'indexed' ? -3_600_000 : 0)), CASE_MS);
  }
});

describe.concurrent('the wall clock jumps forward an hour while gc waits, not stopped', () => {
  for (const step of ['repacked', 'deleting']) {
    it(`at ${step}: it stops with one line, nothing more deleted`, () => slots.run(async () => {
      const s = await setup(`jump-${step}`);
      const skewFile = path.join(work, `skew-jump-${step}`);
      await fsp.writeFile(skewFile, '0');
      const gc = await gcPaused('delete', s, step, { MOBR_TEST_CLOCK_SKEW_FILE: skewFile });
      const before = await stored(s.repo);
      await fsp.writeFile(skewFile, String(3_600_000));
      await sleep(STALE_MS / 3); // a heartbeat tick sees it
      await gc.resume();
      const r = await gc.run;
      expect(r.code, r.stderr).toBe(7);
      expect(r.stderr).toMatch(lostLine('delete', step, s, '60 min'));
      const after = await stored(s.repo);
      expect(before.filter((p) => !after.includes(p))).toEqual([]);
      if (BEFORE_COMMIT.has(step)) await expectRestores(s.repo, s.ids.a, s.A);
      await expectRestores(s.repo, s.ids.b, s.B);
    }), CASE_MS);
  }
});
