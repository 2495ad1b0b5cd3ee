/**
 * The soak's pause round (issue #25; `npm run soak` runs MOBR_PAUSE_ROUNDS, default there 200; the
 * suite runs none, test/cli-gc-pause.test.ts covers each case once): each round a real
 * `mo_br delete` is paused at a gc step drawn at random (MOBR_TEST_GC_PAUSE), stopped (SIGSTOP)
 * past its lock's staleness or not, while a backup of the bytes gc frees is started, then
 * continued (SIGCONT). gc either finishes (exit 0) or stops with one line (exit 7); the backup
 * commits once gc is gone; every backup left restores byte for byte. Seed: MOBR_SEED. A process
 * starved past its fence by the load (MOBR_PAUSE_STALE_MS, default 5 s) must stop with the same one
 * line: counted as `starved`, its backup run again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { FsStore } from '../src/store/fs.js';
import { Repository } from '../src/repo/repository.js';
import { restoreBackup } from '../src/backup/restore.js';
import { backupTree } from '../src/backup/backup.js';
import { WorkerPool } from '../src/workers/pool.js';
import { pseudoRandom, tempDir } from './helpers/tree.js';
import { ensureBuilt, mobr, type Run } from './helpers/cli.js';
import { SEED, backupIdOf, initTinyRepo, rng, treeHashes } from './reliability/cli.js';
import { until } from './helpers/until.js';

const ROUNDS = Number(process.env.MOBR_PAUSE_ROUNDS ?? 0);
/** Locks go stale after this (MOBR_PAUSE_STALE_MS, default 5 s): a process starved for half of it (load 25+) loses its lock, as it should. */
const STALE_MS = Number(process.env.MOBR_PAUSE_STALE_MS ?? 5000);
const LOST = /^mo_br: (gc|backup \S+) lost the repository lock on filesystem \S+ \(not refreshed for [^)]+\)[^\n]*\n$/;
const STEPS = ['planned', 'repacked', 'committed', 'indexed', 'deleting', 'done'] as const; // every GcStep (src/repo/gc.ts)
let work: string;
let pool: WorkerPool;
const rand = rng(SEED);
const exists = (p: string) => fsp.stat(p).then(() => true, () => false);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** starved: a process lost its lock to the machine's load, not to our SIGSTOP (it stopped with the one line; the backup is run again). */
const stats = { stopped: 0, lost: 0, finished: 0, starved: 0 };

/** Every backup named restores byte for byte from its source folder. */
async function expectRestores(repo: string, want: [string, string][], ctx: string): Promise<void> {
  const r = await Repository.open(new FsStore(repo));
  for (const [id, source] of want) {
    const out = await tempDir('mobr-pause-r-');
    await restoreBackup(r, await r.loadManifest(id), out, { pool });
    expect(await treeHashes(out), `${ctx}: backup ${id}`).toEqual(await treeHashes(source));
    await fsp.rm(out, { recursive: true, force: true });
  }
}

describe.skipIf(ROUNDS === 0)(`gc paused by SIGSTOP at a random step (${ROUNDS} rounds, seed ${SEED})`, () => {
  beforeAll(async () => {
    ensureBuilt();
    pool = new WorkerPool(2);
    work = await tempDir('mobr-pause-rounds-');
  });
  afterAll(async () => {
    await pool?.close();
    await fsp.rm(work, { recursive: true, force: true });
  });

  for (let round = 0; round < ROUNDS; round++) {
    it(`round ${round}: gc ends with 0 or one line and 7; the backup commits; every backup restores`, async () => {
      const ctx = `pause round ${round} (seed ${SEED})`;
      const dir = path.join(work, `r${round}`);
      const [repo, meta, A, B] = ['repo', 'mo_br.meta', 'A', 'B'].map((x) => path.join(dir, x));
      await initTinyRepo(repo);
      for (const d of [A, B]) await fsp.mkdir(d, { recursive: true });
      for (let i = 0; i < 3; i++) await fsp.writeFile(path.join(A, `a${i}`), pseudoRandom(round * 10 + i, 150_000));
      await fsp.copyFile(path.join(A, 'a0'), path.join(B, 'a0'));
      await fsp.writeFile(path.join(B, 'b'), pseudoRandom(round * 10 + 9, 150_000));
      const ids = { a: randomUUID(), b: randomUUID() };
      const r0 = await Repository.open(new FsStore(repo));
      await backupTree(r0, A, { id: ids.a, pool });
      await backupTree(r0, B, { id: ids.b, pool });
      const step = STEPS[Math.floor(rand() * STEPS.length)]!;
      const stop = rand() < 0.75; // most rounds stop it past staleness, some only pause it
      const marker = path.join(dir, 'paused');
      const env = { MOBR_TEST_GC_PAUSE: `${step}:${marker}`, MOBR_TEST_LOCK_STALE_MS: String(STALE_MS) };
      let child: ChildProcess | undefined;
      let ended: Run | undefined;
      const gcRun = mobr(['delete', ids.a, '--backup_dir', 'filesystem', '--backup_path', repo, '--meta_path', meta], work, { env, onSpawn: (p) => (child = p) });
      void gcRun.then((r) => (ended = r));
      await until(async () => ended !== undefined || (await exists(marker)), 60_000, `${ctx}: gc at ${step}`);
      if (ended !== undefined) {
        // starved before its step (the machine's load): it must have stopped with the one line, and deleted nothing it should not
        expect([ended.code, ended.stderr], `${ctx}: gc ended before ${step}`).toEqual([7, expect.stringMatching(LOST)]);
        stats.starved++;
        const present = await (await Repository.open(new FsStore(repo))).hasBackup(ids.a);
        await expectRestores(repo, present ? [[ids.a, A], [ids.b, B]] : [[ids.b, B]], ctx);
        return fsp.rm(dir, { recursive: true, force: true });
      }
      if (stop) child!.kill('SIGSTOP');
      await fsp.rm(marker);
      const backupC = () => mobr(['backup', '--backup_dir', 'filesystem', '--path', repo, '--data_dir', A, '--meta_path', meta], work, { env: { MOBR_TEST_LOCK_STALE_MS: String(STALE_MS) } });
      const c = backupC();
      if (stop) {
        await sleep(STALE_MS + 500 * rand());
        child!.kill('SIGCONT');
        stats.stopped++;
      }
      const g = await gcRun;
      expect([0, 7], `${ctx}: ${g.stderr}`).toContain(g.code);
      if (g.code === 7) {
        expect(g.stderr, ctx).toMatch(LOST);
        stats.lost++;
      } else stats.finished++;
      let cr = await c;
      if (cr.code === 7 && LOST.test(cr.stderr)) {
        stats.starved++; // the backup itself was starved past its fence: it committed nothing; a user runs it again
        cr = await backupC();
      }
      expect(cr.code, `${ctx}: ${cr.stderr}`).toBe(0);
      const want: [string, string][] = [[ids.b, B], [backupIdOf(cr.stdout)!, A]];
      if (await (await Repository.open(new FsStore(repo))).hasBackup(ids.a)) want.push([ids.a, A]);
      await expectRestores(repo, want, ctx);
      await fsp.rm(dir, { recursive: true, force: true });
    }, 120_000);
  }

  it('the pauses really happened', () => {
    console.log(`pause rounds=${ROUNDS} seed=${SEED} ${JSON.stringify(stats)}`);
    expect(stats.stopped + stats.finished + stats.lost).toBeGreaterThan(0);
    if (ROUNDS >= 4) expect(stats.lost, 'no round lost its lock').toBeGreaterThan(0);
  });
});
