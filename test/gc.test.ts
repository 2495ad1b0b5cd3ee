/** gc and deleteBackup: data of deleted backups is freed, every remaining backup restores. */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { backupTree } from '../src/backup/backup.js';
import { restoreBackup } from '../src/backup/restore.js';
import { gc } from '../src/repo/gc.js';
import { deleteBackup, deleteBackups } from '../src/repo/delete.js';
import { acquireLock, lockNotices } from '../src/repo/lock.js';
import { MobrError } from '../src/errors.js';
import { onCleanupFailure } from '../src/util/best-effort.js';
import { repairIndex } from '../src/repo/repair.js';
import { syncRepository } from '../src/repo/sync.js';
import { Repository } from '../src/repo/repository.js';
import { MemStore } from '../src/store/mem.js';
import { WorkerPool } from '../src/workers/pool.js';
import { pseudoRandom, readTree, tempDir, writeTree, type TreeFile } from './helpers/tree.js';
import { ManualClock } from './helpers/clock.js';

const OPTS = { chunker: { min: 1024, avg: 4096, max: 16384 }, packSize: 32 * 1024 };
let pool: WorkerPool;
beforeAll(() => void (pool = new WorkerPool(2)));
afterAll(async () => pool.close());

function tree(seed: number, files = 4, size = 60_000): TreeFile[] {
  return Array.from({ length: files }, (_, i) => ({ path: `d${i % 2}/f${seed}-${i}`, data: pseudoRandom(seed * 100 + i, size), mode: 0o644 }));
}

async function backup(repo: Repository, id: string, files: TreeFile[]): Promise<void> {
  const dir = await tempDir();
  await writeTree(dir, files);
  await backupTree(repo, dir, { id, pool });
  await fsp.rm(dir, { recursive: true, force: true });
}

async function expectRestores(repo: Repository, id: string, files: TreeFile[]): Promise<void> {
  const fresh = await Repository.open(repo.store);
  const dir = await tempDir();
  await restoreBackup(fresh, await fresh.loadManifest(id), dir, { pool });
  const got = await readTree(dir);
  expect([...got.keys()].sort()).toEqual(files.map((f) => f.path).sort());
  for (const f of files) expect(Buffer.compare(got.get(f.path)!.data, Buffer.from(f.data))).toBe(0);
  await fsp.rm(dir, { recursive: true, force: true });
}

const packBytes = (s: MemStore) => [...s.objects].filter(([k]) => k.startsWith('data/')).reduce((n, [, o]) => n + o.data.length, 0);

describe('gc', () => {
  it('frees what only a deleted backup used; the others still restore', async () => {
    const store = new MemStore();
    const repo = await Repository.init(store, OPTS);
    const a = tree(1), b = [...tree(1).slice(0, 2), ...tree(2)];
    await backup(repo, 'a', a);
    await backup(repo, 'b', b);
    const before = packBytes(store);
    const dry = await gc(repo, { safetyWindowMs: 0, dryRun: true });
    expect(dry.packsDeleted + dry.packsRepacked).toBe(0);
    const del = await deleteBackup(repo, 'a', { gc: true, safetyWindowMs: 0 });
    const r = del.gc as Exclude<typeof del.gc, 'deferred' | undefined>;
    expect(r.packsDeleted + r.packsRepacked).toBeGreaterThan(0);
    expect(r.bytesFreed).toBeGreaterThan(0);
    expect(packBytes(store)).toBeLessThan(before);
    await expectRestores(repo, 'b', b);
    expect([...store.objects.keys()].filter((k) => k.startsWith('index/'))).toHaveLength(1);
    expect([...store.objects.keys()].filter((k) => k.startsWith('locks/'))).toHaveLength(0);
    // deleting everything leaves no packs
    await deleteBackup(repo, 'b', { gc: true, safetyWindowMs: 0 });
    expect(packBytes(store)).toBe(0);
  });

  it("marks the live set from each manifest's file table, never making its entry objects (issue #22)", async () => {
    const store = new MemStore();
    const repo = await Repository.init(store, OPTS);
    const a = tree(1), b = [...tree(1).slice(0, 2), ...tree(2)];
    await backup(repo, 'a', a);
    await backup(repo, 'b', b);
    const load = repo.loadManifest.bind(repo);
    let reads = 0;
    let loaded = 0;
    vi.spyOn(repo, 'loadManifest').mockImplementation(async (id) => {
      const m = await load(id);
      loaded++;
      const get = Object.getOwnPropertyDescriptor(m, 'files')!.get!;
      Object.defineProperty(m, 'files', { get: () => (reads++, get()), configurable: true });
      return m;
    });
    const r = await gc(repo, { safetyWindowMs: 0, dryRun: true });
    expect(loaded).toBe(2);
    expect(reads).toBe(0);
    expect(r.liveChunks).toBeGreaterThan(0);
    const del = await deleteBackup(repo, 'a', { gc: true, safetyWindowMs: 0 });
    expect((del.gc as Exclude<typeof del.gc, 'deferred' | undefined>).packsDeleted + (del.gc as Exclude<typeof del.gc, 'deferred' | undefined>).packsRepacked).toBeGreaterThan(0);
    expect(reads).toBe(0);
    vi.restoreAllMocks();
    await expectRestores(repo, 'b', b);
  });

  it('dry run changes nothing; a young pack is never touched', async () => {
    const store = new MemStore();
    const repo = await Repository.init(store, OPTS);
    await backup(repo, 'a', tree(3));
    await repo.deleteManifest('a');
    const snapshot = [...store.objects.keys()].sort();
    const dry = await gc(repo, { safetyWindowMs: 0, dryRun: true });
    expect(dry.packsDeleted).toBeGreaterThan(0);
    expect([...store.objects.keys()].sort()).toEqual(snapshot);
    const young = await gc(repo, { safetyWindowMs: 60_000 });
    expect(young.packsDeleted).toBe(0);
    expect(young.youngSkipped).toBeGreaterThan(0);
    expect([...store.objects.keys()].sort()).toEqual(snapshot);
  });

  it('repacks sparse packs keeping live chunks, then deletes the old ones', async () => {
    const store = new MemStore();
    const repo = await Repository.init(store, OPTS);
    // one file interleaving shared and unique regions: packs end up half live after deleting 'a'
    const shared = tree(4, 2, 100_000);
    await backup(repo, 'a', [...shared, ...tree(5, 2, 100_000)]);
    await backup(repo, 'b', shared);
    const packBytes = () => [...store.objects].filter(([k]) => k.startsWith('data/')).reduce((s, [, v]) => s + v.data.length, 0);
    const packKeys = () => new Set([...store.objects.keys()].filter((k) => k.startsWith('data/')));
    const r = await gc(repo, { safetyWindowMs: 0, repackThreshold: 0.5 });
    expect(r.packsRepacked).toBe(0); // every pack fully live: nothing to do
    await repo.deleteManifest('a');
    const [bytesBefore, keysBefore] = [packBytes(), packKeys()];
    const r2 = await gc(repo, { safetyWindowMs: 0, repackThreshold: 0.99 });
    expect(r2.missingChunks).toBe(0);
    expect(r2.packsRepacked).toBeGreaterThan(0);
    expect(r2.packsWritten).toBeGreaterThan(0);
    expect([...keysBefore].filter((k) => packKeys().has(k)).length).toBeLessThan(keysBefore.size); // old packs gone
    expect(packBytes()).toBeLessThan(bytesBefore * 0.75); // half of the data was only a's
    await expectRestores(repo, 'b', shared);
  });

  it('adopts an orphan pack holding live chunks whose index object was lost', async () => {
    const store = new MemStore();
    const repo = await Repository.init(store, OPTS);
    const files = tree(6);
    await backup(repo, 'a', files);
    for (const k of [...store.objects.keys()]) if (k.startsWith('index/')) store.objects.delete(k);
    const r = await gc(repo, { safetyWindowMs: 0 });
    expect(r.orphansAdopted).toBeGreaterThan(0);
    expect(r.orphansDeleted).toBe(0);
    await expectRestores(repo, 'a', files);
  });

  it('does not run while a backup holds the repository; delete defers', async () => {
    const store = new MemStore();
    const repo = await Repository.init(store, OPTS);
    await backup(repo, 'a', tree(7));
    const shared = await acquireLock(store, 'shared');
    await expect(gc(repo, { safetyWindowMs: 0 })).rejects.toMatchObject({ code: 'LOCKED' });
    expect(await deleteBackup(repo, 'a', { gc: true, safetyWindowMs: 0 })).toMatchObject({ ids: ['a'], gc: 'deferred' });
    await shared.release();
    // a backup waits for a gc holding the exclusive lock
    const ex = await acquireLock(store, 'exclusive');
    let done = false;
    const p = backup(repo, 'b', tree(8)).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(done).toBe(false);
    await ex.release();
    await p;
    expect(done).toBe(true);
  });

  it('a stale lock (not refreshed for staleMs on the store clock) does not block gc', async () => {
    const clock = new ManualClock();
    const store = new MemStore(clock);
    const repo = await Repository.init(store, OPTS);
    const old = await acquireLock(store, 'shared', { clock });
    await expect(gc(repo, { safetyWindowMs: 0, clock })).rejects.toMatchObject({ code: 'LOCKED' });
    clock.advance(30 * 60_000 + 1); // the default staleMs, on the store's clock: no refresh came
    await gc(repo, { safetyWindowMs: 0, clock });
    expect(store.objects.has(old.key)).toBe(false);
    await expect(old.assertHeld()).rejects.toMatchObject({ code: 'LOCKED' });
    await old.release();
  });

  it('refuses to run over a damaged index object', async () => {
    const dir = await tempDir();
    const store = new MemStore();
    const repo = await Repository.init(store, OPTS);
    await backup(repo, 'a', tree(9));
    const k = [...store.objects.keys()].find((x) => x.startsWith('index/'))!;
    store.objects.get(k)!.data[10] ^= 1;
    await expect(gc(repo, { safetyWindowMs: 0 })).rejects.toMatchObject({ code: 'CORRUPT_INDEX' });
    await fsp.rm(path.join(dir), { recursive: true, force: true });
  });
});

describe('gc on an injected clock (no sleeping)', () => {
  it('a dead pack held back by the safety window is freed once the store clock passes the window', async () => {
    const clock = new ManualClock();
    const store = new MemStore(clock);
    const repo = await Repository.init(store, OPTS);
    const keep = tree(11);
    await backup(repo, 'a', tree(10));
    await backup(repo, 'b', keep);
    const written = clock.now();
    await repo.deleteManifest('a');
    const before = packBytes(store);
    const held = await gc(repo, { safetyWindowMs: 60 * 60_000, clock });
    expect(held).toMatchObject({ packsDeleted: 0, bytesFreed: 0, safetyWindowMs: 60 * 60_000 });
    expect(held.bytesHeld).toBeGreaterThan(0);
    expect(held.heldUntil).toBe(written + 60 * 60_000); // exactly: every object has the clock's time
    expect(packBytes(store)).toBe(before);
    clock.advance(60 * 60_000 - 1); // one ms short of the window: still held
    expect((await gc(repo, { safetyWindowMs: 60 * 60_000, clock })).packsDeleted).toBe(0);
    clock.advance(2);
    const freed = await gc(repo, { safetyWindowMs: 60 * 60_000, clock });
    expect(freed.packsDeleted).toBeGreaterThan(0);
    expect(freed.bytesHeld).toBe(0);
    expect(packBytes(store)).toBeLessThan(before);
    await expectRestores(repo, 'b', keep);
  });

  it('the window after a stale lock of another process is 1 h on the store clock, whatever the system clock says', async () => {
    const clock = new ManualClock(Date.UTC(2030, 5, 1));
    const store = new MemStore(clock);
    const repo = await Repository.init(store, OPTS);
    await backup(repo, 'a', tree(12));
    await repo.deleteManifest('a');
    const other = await acquireLock(store, 'shared', { clock });
    clock.advance(31 * 60_000); // stale: gc removes it, and holds back what its holder may still need
    const r = await gc(repo, { clock });
    expect(r.safetyWindowMs).toBe(60 * 60_000);
    expect(r.packsDeleted).toBe(0);
    expect(r.heldUntil).toBe(Date.UTC(2030, 5, 1) + 60 * 60_000);
    await other.release();
  });
});

describe('gc stopped by an AbortSignal', () => {
  /** A repository where deleting 'a' makes gc repack (sparse packs) and drop packs. */
  async function sparse(store: MemStore) {
    const repo = await Repository.init(store, OPTS);
    const shared = tree(20, 2, 100_000);
    await backup(repo, 'a', [...shared, ...tree(21, 2, 100_000)]);
    await backup(repo, 'b', shared);
    return { repo, shared };
  }
  const keys = (s: MemStore) => [...s.objects.keys()].sort();

  it('before the commit: nothing deleted, the new packs removed, no lock left', async () => {
    const store = new MemStore();
    const { repo, shared } = await sparse(store);
    const before = keys(store);
    const ac = new AbortController();
    let step = '';
    const del = deleteBackups(repo, ['a'], { gc: true, safetyWindowMs: 0, repackThreshold: 0.99, signal: ac.signal, onStep: (s) => {
      step = s;
      if (s === 'repacked') {
        expect(keys(store).length, 'new packs were written').toBeGreaterThan(before.length + 1); // + our lock
        ac.abort('SIGINT');
      }
    } });
    await expect(del).rejects.toMatchObject({ code: 'INTERRUPTED', message: 'interrupted (SIGINT); nothing was deleted' });
    expect(step).toBe('repacked');
    expect(keys(store)).toEqual(before);
    await expectRestores(repo, 'a', [...shared, ...tree(21, 2, 100_000)]);
  });

  it('after the commit: the backup is gone, the rest restores, the next gc frees what is left', async () => {
    const store = new MemStore();
    const { repo, shared } = await sparse(store);
    const ac = new AbortController();
    const del = deleteBackups(repo, ['a'], { gc: true, safetyWindowMs: 0, repackThreshold: 0.99, signal: ac.signal, onStep: (s) => void (s === 'indexed' && ac.abort('SIGINT')) });
    await expect(del).rejects.toMatchObject({ code: 'INTERRUPTED', message: expect.stringMatching(/^interrupted \(SIGINT\): backup\(s\) a deleted; the space they held is freed by the next delete or prune$/) });
    expect(await repo.listBackupIds()).toEqual(['b']);
    expect(keys(store).filter((k) => k.startsWith('locks/'))).toEqual([]);
    const bytes = packBytes(store);
    await expectRestores(repo, 'b', shared);
    const next = await gc(repo, { safetyWindowMs: 0 });
    expect(next.packsDeleted + next.orphansDeleted).toBeGreaterThan(0);
    expect(packBytes(store)).toBeLessThan(bytes);
    await expectRestores(repo, 'b', shared);
  });

  it('an aborted signal stops the wait for a lock', async () => {
    const store = new MemStore();
    const repo = await Repository.init(store, OPTS);
    const other = await acquireLock(store, 'shared');
    const ac = new AbortController();
    setTimeout(() => ac.abort('SIGINT'), 50);
    const t0 = performance.now();
    await expect(gc(repo, { safetyWindowMs: 0, signal: ac.signal, lock: { waitMs: 60_000 } })).rejects.toMatchObject({ code: 'INTERRUPTED' });
    expect(performance.now() - t0, 'stopped by the signal, before its 60 s wait for the lock ran out').toBeLessThan(60_000);
    await other.release();
  });

  it('a sync waiting for gc to end stops waiting when its signal fires', async () => {
    const store = new MemStore();
    const repo = await Repository.init(store, OPTS);
    const gcLock = await acquireLock(store, 'exclusive');
    const ac = new AbortController();
    setTimeout(() => ac.abort('SIGINT'), 50);
    const t0 = performance.now();
    await expect(syncRepository(repo, new MemStore(), { pool, signal: ac.signal })).rejects.toMatchObject({ code: 'INTERRUPTED' });
    expect(performance.now() - t0).toBeLessThan(60_000); // not the 10 min a backup or sync waits for gc (a bound on the code, not on the machine's speed)
    await gcLock.release();
  });

  it('a backup waiting for gc to end stops waiting when its signal fires', async () => {
    const store = new MemStore();
    const repo = await Repository.init(store, OPTS);
    const src = await tempDir('mobr-wait-');
    await writeTree(src, tree(3));
    const gcLock = await acquireLock(store, 'exclusive');
    const ac = new AbortController();
    setTimeout(() => ac.abort('SIGINT'), 50);
    const t0 = performance.now();
    await expect(backupTree(repo, src, { id: 'w', pool, signal: ac.signal })).rejects.toMatchObject({ code: 'INTERRUPTED' });
    expect(performance.now() - t0).toBeLessThan(60_000); // not the 10 min a backup waits for gc (a bound on the code, not on the machine's speed)
    expect(await repo.listBackupIds()).toEqual([]);
    await gcLock.release();
    await fsp.rm(src, { recursive: true, force: true });
  });

  it('check --repair stops while it reads: no index object written, no lock left', async () => {
    const ac = new AbortController();
    const store = new (class extends MemStore {
      override async get(key: string): Promise<Uint8Array> {
        if (key.startsWith('data/')) ac.abort('SIGINT'); // first pack read
        return super.get(key);
      }
    })();
    const repo = await Repository.init(store, OPTS);
    await backup(repo, 'a', tree(30));
    for (const k of keys(store)) if (k.startsWith('index/')) store.objects.delete(k); // repair has work to do
    const before = keys(store);
    await expect(repairIndex(await Repository.open(store), { signal: ac.signal })).rejects.toMatchObject({ code: 'INTERRUPTED' });
    expect(ac.signal.aborted).toBe(true);
    expect(keys(store)).toEqual(before);
    expect((await repairIndex(await Repository.open(store))).packsReindexed).toBeGreaterThan(0); // and it had something to write
  });
});

describe('failures that are not thrown are still told', () => {
  /** A MemStore whose deletes of lock objects fail (a disk gone read-only, a bucket policy). */
  class NoLockDelete extends MemStore {
    failLockDeletes = false;
    override async delete(key: string): Promise<void> {
      if (this.failLockDeletes && key.startsWith('locks/')) throw new MobrError('ACCESS_DENIED', `delete ${key}: access denied`);
      return super.delete(key);
    }
  }

  it('a gc whose lock cannot be released still returns its report, and the user is warned', async () => {
    const store = new NoLockDelete();
    const repo = await Repository.init(store, OPTS);
    await backup(repo, 'a', tree(40));
    await repo.deleteManifest('a');
    store.failLockDeletes = true;
    const notices: string[] = [];
    lockNotices((m) => notices.push(m));
    try {
      const r = await gc(repo, { safetyWindowMs: 0 });
      expect(r.packsDeleted).toBeGreaterThan(0);
    } finally {
      lockNotices(() => undefined);
    }
    const left = [...store.objects.keys()].filter((k) => k.startsWith('locks/'));
    expect(left).toHaveLength(1);
    expect(notices).toEqual([expect.stringMatching(new RegExp(`^could not remove the exclusive lock ${left[0]} from memory \\(delete ${left[0]}: access denied\\); it blocks backups and gc until it is stale`))]);
  });

  it('a failed lock refresh is reported, and kept as the cause when the lock is then found lost', async () => {
    const store = new (class extends MemStore {
      failPuts = false;
      override async put(key: string, data: Uint8Array): Promise<void> {
        if (this.failPuts && key.startsWith('locks/')) throw new MobrError('UNREACHABLE', 'put: connection refused');
        return super.put(key, data);
      }
    })();
    const clock = new ManualClock();
    const lock = await acquireLock(store, 'shared', { staleMs: 40 * 60_000, refreshMs: 1_000_000, clock, purpose: 'backup x' });
    const reported: string[] = [];
    const prev = onCleanupFailure((what, e) => reported.push(`${what}: ${(e as Error).message}`));
    try {
      store.failPuts = true;
      clock.advance(11 * 60_000); // past staleMs/4 on the wall clock: fencing must refresh, and cannot; still held (< staleMs/2)
      await lock.assertHeld();
      clock.advance(10 * 60_000); // past staleMs/2 without a successful refresh: the fence tries once more, and cannot: lost
      const err = await lock.assertHeld().then(() => undefined, (e: unknown) => e);
      expect(err).toMatchObject({ code: 'LOCKED', message: 'backup x lost the repository lock on memory (not refreshed for 21 min); nothing was committed, run it again' });
      expect((err as Error).cause).toMatchObject({ code: 'UNREACHABLE' });
      expect(reported).toEqual(Array(2).fill(`refresh lock ${lock.key} on memory: put: connection refused`));
    } finally {
      onCleanupFailure(prev);
      await lock.release();
    }
  });
});

