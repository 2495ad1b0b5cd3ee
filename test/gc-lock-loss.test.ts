/**
 * Issue #25: a gc that stalls (SIGSTOP, a frozen VM, a suspended laptop) past its lock's staleness
 * must never delete what a backup committed meanwhile. On an injected clock and a MemStore: no
 * backup walks past gc's exclusive lock, however old; gc, resumed with its refresh overdue on the
 * wall clock, stops before its next irreversible step and deletes nothing more.
 */
import { spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupTree } from '../src/backup/backup.js';
import { restoreBackup } from '../src/backup/restore.js';
import { verifyBackup } from '../src/backup/verify.js';
import { deleteBackups } from '../src/repo/delete.js';
import { gc } from '../src/repo/gc.js';
import { acquireLock } from '../src/repo/lock.js';
import { Repository } from '../src/repo/repository.js';
import { MemStore } from '../src/store/mem.js';
import { WorkerPool } from '../src/workers/pool.js';
import { ManualClock } from './helpers/clock.js';
import { pseudoRandom, readTree, tempDir, writeTree, type TreeFile } from './helpers/tree.js';

const OPTS = { chunker: { min: 1024, avg: 4096, max: 16384 }, packSize: 32 * 1024 };
const MIN = 60_000;
let pool: WorkerPool;
beforeAll(() => void (pool = new WorkerPool(2)));
afterAll(async () => pool.close());

function tree(seed: number, files = 4, size = 60_000): TreeFile[] {
  return Array.from({ length: files }, (_, i) => ({ path: `d${i % 2}/f${seed}-${i}`, data: pseudoRandom(seed * 100 + i, size), mode: 0o644 }));
}

async function backup(repo: Repository, id: string, files: TreeFile[], o: { signal?: AbortSignal; clock?: ManualClock } = {}): Promise<void> {
  const dir = await tempDir('mobr-lockloss-');
  await writeTree(dir, files);
  try {
    await backupTree(repo, dir, { id, pool, signal: o.signal, clock: o.clock });
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

/** Every file of backup `id` checks (data read) and restores byte for byte. */
async function expectWhole(store: MemStore, id: string, files: TreeFile[]): Promise<void> {
  const repo = await Repository.open(store);
  const m = await repo.loadManifest(id);
  const v = await verifyBackup(repo, m, { readData: true, pool });
  expect(v.damaged, `backup ${id}`).toEqual([]);
  const dir = await tempDir('mobr-lockloss-r-');
  await restoreBackup(repo, m, dir, { pool });
  const got = await readTree(dir);
  for (const f of files) expect(Buffer.compare(got.get(f.path)!.data, Buffer.from(f.data)), f.path).toBe(0);
  await fsp.rm(dir, { recursive: true, force: true });
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a gc paused past its lock staleness (issue #25)', () => {
  it('the reproduction: backup c, started while gc is paused at `repacked` 31 min, is whole after gc resumes', async () => {
    const clock = new ManualClock();
    const store = new MemStore(clock);
    const repo = await Repository.init(store, OPTS);
    const a = tree(1), b = tree(2);
    await backup(repo, 'a', a, { clock });
    await backup(repo, 'b', b, { clock });
    let c: Promise<void> | undefined;
    let cDone = false;
    const del = deleteBackups(repo, ['a'], { gc: true, safetyWindowMs: 0, clock, onStep: async (step) => {
      if (step !== 'repacked') return;
      clock.advance(31 * MIN); // gc stalls past the default staleMs (30 min)
      c = backup(await Repository.open(store), 'c', a, { clock }).then(() => void (cDone = true)); // a's bytes: dedups against a's doomed packs
      await settle(400);
    } });
    const err = await del.then(() => undefined, (e: unknown) => e);
    expect(cDone, 'backup c walked past the exclusive lock of a paused gc').toBe(false);
    expect(err).toMatchObject({ code: 'LOCKED', message: expect.stringMatching(/^gc lost the repository lock on memory \(not refreshed for 31 min\); nothing was deleted$/) });
    await c;
    expect((await repo.listBackupIds()).sort()).toEqual(['a', 'b', 'c']);
    for (const [id, files] of [['a', a], ['b', b], ['c', a]] as const) await expectWhole(store, id, files);
  });
});

describe('lock loss fences gc and backups (spec/gc.md §2.1)', () => {
  const packKeys = (s: MemStore) => [...s.objects.keys()].filter((k) => k.startsWith('data/') || k.startsWith('index/')).sort();

  it('gc paused at `indexed` (after its commit) past staleMs: the backup is gone, nothing more is deleted, the rest is whole', async () => {
    const clock = new ManualClock();
    const store = new MemStore(clock);
    const repo = await Repository.init(store, OPTS);
    const a = tree(3), b = [...tree(3).slice(0, 2), ...tree(4)];
    await backup(repo, 'a', a, { clock });
    await backup(repo, 'b', b, { clock });
    let atPause: string[] = [];
    const del = deleteBackups(repo, ['a'], { gc: true, safetyWindowMs: 0, clock, onStep: (step) => {
      if (step !== 'indexed') return;
      atPause = packKeys(store);
      clock.advance(23 * MIN); // past 3/4 of staleMs (22.5 min): a refresh now might land after the lock was judged stale, it is no longer ours
    } });
    await expect(del).rejects.toMatchObject({ code: 'LOCKED', message: 'gc lost the repository lock on memory (not refreshed for 23 min): backup(s) a deleted; the space they held is freed by the next delete or prune' });
    expect(atPause.length).toBeGreaterThan(0);
    expect(packKeys(store), 'a gc that lost its lock deletes nothing more').toEqual(atPause);
    expect(await repo.listBackupIds()).toEqual(['b']);
    expect([...store.objects.keys()].filter((k) => k.startsWith('locks/'))).toEqual([]);
    await expectWhole(store, 'b', b);
  });

  it('a wall clock set back does not hide a stall: the monotonic count still fences', async () => {
    const clock = new ManualClock();
    const lock = await acquireLock(new MemStore(clock), 'exclusive', { staleMs: 200, refreshMs: 1_000_000, clock, purpose: 'gc' }); // no heartbeat: as in a stall
    clock.advance(-60 * MIN);
    await lock.assertHeld(); // just taken: held
    await settle(170); // past 3/4 of staleMs on the monotonic clock
    await expect(lock.assertHeld()).rejects.toMatchObject({ code: 'LOCKED', message: expect.stringMatching(/^gc lost the repository lock on memory \(not refreshed for 0 s\)$/) });
    expect(lock.signal.aborted).toBe(true);
    await lock.release();
  });

  it('an overdue lock is lost for good: a later refresh does not revive it, and its signal fires', async () => {
    const clock = new ManualClock();
    const store = new MemStore(clock);
    const lock = await acquireLock(store, 'shared', { clock, purpose: 'backup z' });
    const before = store.objects.get(lock.key)!.mtimeMs;
    clock.advance(31 * MIN);
    await lock.refresh();
    expect(store.objects.get(lock.key)!.mtimeMs, 'no refresh after the stall').toBe(before);
    expect(lock.signal.aborted).toBe(true);
    expect(lock.signal.reason).toMatchObject({ code: 'LOCKED', message: 'backup z lost the repository lock on memory (not refreshed for 31 min); nothing was committed, run it again' });
    await lock.release();
  });

  it('a backup whose lock is lost while it runs stops, and commits nothing', async () => {
    const clock = new ManualClock();
    const store = new MemStore(clock);
    const repo = await Repository.init(store, OPTS);
    const dir = await tempDir('mobr-lockloss-');
    await writeTree(dir, tree(5, 8));
    let jumped = false;
    const run = backupTree(repo, dir, { id: 'x', pool, clock, onProgress: () => {
      if (!jumped) clock.advance(31 * MIN);
      jumped = true;
    } });
    await expect(run).rejects.toMatchObject({ code: 'LOCKED', message: 'backup x lost the repository lock on memory (not refreshed for 31 min); nothing was committed, run it again' });
    expect(await repo.listBackupIds()).toEqual([]);
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('a release waits for a refresh in flight: the lock object does not come back after it', async () => {
    const clock = new ManualClock();
    let open: () => void = () => undefined;
    const store = new (class extends MemStore {
      hold = false;
      override async put(key: string, data: Uint8Array): Promise<void> {
        if (this.hold && key.startsWith('locks/')) await new Promise<void>((r) => (open = r));
        return super.put(key, data);
      }
    })(clock);
    const lock = await acquireLock(store, 'exclusive', { clock, refreshMs: 1_000_000 });
    store.hold = true;
    clock.advance(8 * MIN); // past staleMs / 4: the fence refreshes, and its PUT hangs
    const fence = lock.assertHeld();
    await settle(20);
    const release = lock.release();
    await settle(20);
    open();
    await Promise.all([fence, release]);
    expect([...store.objects.keys()].filter((k) => k.startsWith('locks/'))).toEqual([]);
  });

  it('nobody walks past an exclusive lock, however old, unless its holder is provably gone', async () => {
    const clock = new ManualClock();
    const store = new MemStore(clock);
    const gcLock = await acquireLock(store, 'exclusive', { clock, purpose: 'gc' });
    clock.advance(120 * MIN);
    for (const kind of ['shared', 'exclusive'] as const) {
      await expect(acquireLock(store, kind, { clock, waitMs: 100 })).rejects.toMatchObject({
        code: 'LOCKED', message: expect.stringMatching(new RegExp(`^memory is locked by gc \\(exclusive, host .+ pid ${process.pid}\\), not refreshed for 120 min: a paused process may still hold it; if it is gone for good, \`mo_br unlock\` removes ${gcLock.key}$`)),
      });
    }
    await gcLock.release();
    // the same lock written by a process of this host, boot and PID namespace that has ended
    const body = JSON.parse(new TextDecoder().decode(await (async () => { const l = await acquireLock(store, 'exclusive', { clock }); const d = store.objects.get(l.key)!.data; await l.release(); return d; })())) as Record<string, unknown>;
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    await store.put('locks/' + 'e'.repeat(32), new TextEncoder().encode(JSON.stringify({ ...body, pid: Number(dead), purpose: 'gc' })));
    const shared = await acquireLock(store, 'shared', { clock, waitMs: 100 });
    await shared.release();
    // another PID namespace (or boot): the pid cannot be looked up here, so it is not proven gone
    await store.put('locks/' + 'e'.repeat(32), new TextEncoder().encode(JSON.stringify({ ...body, pid: Number(dead), pidns: 1, purpose: 'gc' })));
    await expect(acquireLock(store, 'shared', { clock, waitMs: 100 })).rejects.toMatchObject({ code: 'LOCKED' });
  });
});

/** Every point gc names (src/repo/gc.ts GcStep), in order; after `committed` the deleted backup is gone. */
const STEPS = ['planned', 'repacked', 'committed', 'indexed', 'deleting', 'done'] as const;
const AFTER_COMMIT = new Set<string>(['committed', 'indexed', 'deleting']);
/** Blocks this thread as SIGSTOP would: no timer, no heartbeat, no I/O callback runs meanwhile. */
const freeze = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

describe('gc stalled at every step while a backup of its doomed bytes waits (issue #25)', () => {
  const storedKeys = (s: MemStore) => [...s.objects.keys()].filter((k) => k.startsWith('data/') || k.startsWith('index/'));
  // forward: the wall clock jumps 31 min (a suspended host: the monotonic clock saw nothing);
  // back: the wall clock is set back an hour and the thread is frozen past 3/4 of staleMs (only the monotonic clock sees it)
  const JUMPS = { forward: { staleMs: undefined, jump: 31 * MIN, stall: 0, why: '31 min' }, back: { staleMs: 1200, jump: -60 * MIN, stall: 1000, why: '\\d s' } } as const;
  for (const step of STEPS) {
    for (const [dir, j] of Object.entries(JUMPS)) {
      it(`at \`${step}\`, wall clock ${dir}: the backup waits; gc ${step === 'done' ? 'ends' : 'stops with LOCKED'} and deletes nothing more; every backup is whole`, async () => {
        const clock = new ManualClock();
        const store = new MemStore(clock);
        const repo = await Repository.init(store, OPTS);
        const a = tree(10), b = [...tree(10).slice(0, 2), ...tree(11, 2)];
        await backup(repo, 'a', a, { clock });
        await backup(repo, 'b', b, { clock });
        let atPause: string[] | undefined;
        let cDone = false;
        let c: Promise<void> | undefined;
        const del = deleteBackups(repo, ['a'], { gc: true, safetyWindowMs: 0, clock, lock: { staleMs: j.staleMs }, onStep: async (s) => {
          if (s !== step) return;
          atPause = storedKeys(store);
          clock.advance(j.jump);
          c = backup(await Repository.open(store), 'c', a, { clock }).then(() => void (cDone = true));
          await settle(300); // the backup meets gc's lock (and, on a slow machine, may still be reading)
          freeze(j.stall);
        } });
        const err = await del.then(() => undefined, (e: unknown) => e);
        expect(atPause, `gc reached ${step}`).toBeDefined();
        expect(cDone, 'a backup walked past the exclusive lock of a stalled gc').toBe(false);
        if (step === 'done') expect(err).toBeUndefined();
        else expect(err).toMatchObject({ code: 'LOCKED', message: expect.stringMatching(new RegExp(`^gc lost the repository lock on memory \\(not refreshed for ${j.why}\\)${AFTER_COMMIT.has(step) ? ': backup\\(s\\) a deleted' : '; nothing was deleted$'}`)) });
        const after = new Set(storedKeys(store));
        expect(atPause!.filter((k) => !after.has(k)), 'deleted by a gc that had lost its lock').toEqual([]);
        await c;
        const left = (await repo.listBackupIds()).sort();
        expect(left).toEqual(step === 'done' || AFTER_COMMIT.has(step) ? ['b', 'c'] : ['a', 'b', 'c']);
        for (const [id, files] of [['a', a], ['b', b], ['c', a]] as const) if (left.includes(id)) await expectWhole(store, id, files);
      });
    }
  }
});
