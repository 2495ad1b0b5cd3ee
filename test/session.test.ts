/**
 * Issue #25: one write session (src/repo/session.ts). A backup's session owns its lock: losing the
 * lock (its object removed by another process, here) aborts the uploads in flight at once, not at
 * the check before the manifest; nothing is committed. A session refuses a commit whose chunks are
 * not indexed, and hands out the staging folder of its backup and nothing else of the repository.
 */
import { promises as fsp, readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { backupTree } from '../src/backup/backup.js';
import { Catalog, type BackupRecord } from '../src/cli/meta.js';
import { initKeys, keyFileIds, type KdfParams } from '../src/crypto/keyfile.js';
import { restore } from '../src/index.js';
import { deleteBackups } from '../src/repo/delete.js';
import { addKeyFile, removeKeyFile, replaceKeyFile } from '../src/repo/key-change.js';
import { acquireLock, defaultStaleMs, DEFAULT_STALE_MS, lockNotices } from '../src/repo/lock.js';
import { Repository } from '../src/repo/repository.js';
import { writeSession } from '../src/repo/session.js';
import { syncRepository } from '../src/repo/sync.js';
import { StoreDecorator } from '../src/store/decorator.js';
import { MobrError } from '../src/errors.js';
import { MemStore } from '../src/store/mem.js';
import type { CallOptions, PutOptions } from '../src/store/store.js';
import { WorkerPool } from '../src/workers/pool.js';
import { processIdentity } from '../src/util/process.js';
import { ManualClock } from './helpers/clock.js';
import { pseudoRandom, readTree, tempDir, writeTree, type TreeFile } from './helpers/tree.js';

const OPTS = { chunker: { min: 1024, avg: 4096, max: 16384 }, packSize: 32 * 1024 };
let pool: WorkerPool;
beforeAll(() => void (pool = new WorkerPool(2)));
afterAll(async () => pool.close());
afterEach(() => void defaultStaleMs(DEFAULT_STALE_MS));

/** Pack uploads hang (60 s) unless their signal fires; records how each ended. */
class HangingPacks extends StoreDecorator<MemStore> {
  ended: string[] = [];
  started = 0;
  override put(key: string, data: Uint8Array, o?: PutOptions): Promise<void> {
    if (!key.startsWith('data/')) return this.inner.put(key, data, o);
    this.started++;
    if (o?.signal?.aborted) return Promise.reject(o.signal.reason);
    return new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => {
        this.ended.push('finished');
        resolve(this.inner.put(key, data, o));
      }, 60_000);
      o?.signal?.addEventListener('abort', () => {
        clearTimeout(t);
        this.ended.push(`aborted: ${(o.signal!.reason as { code?: string }).code}`);
        reject(o.signal!.reason);
      }, { once: true });
    });
  }
}

const errOf = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as { code?: string; message?: string });
const codeOf = (p: Promise<unknown>) => p.then(() => 'resolved', (e: { code?: string }) => e.code ?? String(e));

describe('write session (issue #25)', () => {
  it('a lost lock aborts the pack uploads in flight: LOCKED at its next refresh, the upload aborted (not left to finish), nothing committed', async () => {
    defaultStaleMs(4000); // refreshed every 667 ms; lost on its own only if no refresh began for 3 s
    const mem = new MemStore();
    const store = new HangingPacks(mem);
    const repo = await Repository.init(store, OPTS);
    const dir = await tempDir('mobr-session-');
    await writeTree(dir, [{ path: 'f', data: pseudoRandom(7, 200_000), mode: 0o644 }]);
    let ended = false;
    const run = codeOf(backupTree(repo, dir, { id: 'b1', pool })).finally(() => void (ended = true));
    while (store.started === 0 && !ended) await new Promise((r) => setTimeout(r, 10)); // an upload is in flight
    expect(ended, 'the backup ended before its first upload').toBe(false);
    for (const k of [...mem.objects.keys()]) if (k.startsWith('locks/')) mem.objects.delete(k); // another process removed our lock
    expect(await run).toBe('LOCKED');
    expect(store.ended.length, 'an upload ended').toBeGreaterThan(0);
    expect([...new Set(store.ended)], 'each upload was aborted, none left to run its 60 s').toEqual(['aborted: LOCKED']);
    expect(await repo.listBackupIds()).toEqual([]);
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('commit refuses a manifest naming chunks the index lacks; staging(id) reaches only staging/<id>', async () => {
    const repo = await Repository.init(new MemStore(), OPTS);
    const files = [{ path: 'x', kind: 'file' as const, size: 1, mode: 0o644, mtimeMs: 0, sha256: new Uint8Array(32), chunks: new Uint8Array(32).fill(9) }];
    const m = { version: 1 as const, id: 'b2', type: 'full' as const, startedAt: 0, completedAt: 0, source: {}, files, logicalSize: 1, addedBytes: 0 };
    await writeSession(repo, { purpose: 'test' }, async (s) => {
      expect(await codeOf(s.commit(m))).toBe('NOT_FOUND');
      const staging = s.staging('b2');
      await staging.put('staging/b2/tae/x', new Uint8Array([1]));
      expect(await codeOf(staging.get('backups/b1'))).toBe('UNSAFE_PATH');
      expect(await codeOf(staging.put('data/ab/cd', new Uint8Array(1)))).toBe('UNSAFE_PATH');
      expect(await codeOf(staging.get('staging/b22/x'))).toBe('UNSAFE_PATH');
    });
    expect(await repo.listBackupIds()).toEqual([]);
  });
});

/** Another process removed every lock object (`unlock --remove_all`), or a stalled holder's was judged stale. */
const dropLocks = (mem: MemStore) => {
  for (const k of [...mem.objects.keys()]) if (k.startsWith('locks/')) mem.objects.delete(k);
};
const keysOf = (mem: MemStore) => [...mem.objects.keys()].filter((k) => k.startsWith('data/')).sort();

async function backupFiles(repo: Repository, id: string, files: TreeFile[]): Promise<void> {
  const dir = await tempDir('mobr-session-paths-');
  await writeTree(dir, files);
  try {
    await backupTree(repo, dir, { id, pool });
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}
const tree = (seed: number, n = 4, size = 60_000): TreeFile[] => Array.from({ length: n }, (_, i) => ({ path: `d${i % 2}/f${seed}-${i}`, data: pseudoRandom(seed * 100 + i, size), mode: 0o644 }));

/** Runs `hook` (once) at a chosen call of the store: the moment another process acts. */
class Trap extends StoreDecorator<MemStore> {
  hook?: (key: string) => Promise<unknown> | unknown;
  when: (op: 'get' | 'put' | 'list', key: string) => boolean = () => false;
  private async fire(op: 'get' | 'put' | 'list', key: string): Promise<void> {
    if (!this.hook || !this.when(op, key)) return;
    const h = this.hook;
    this.hook = undefined;
    await h(key);
  }
  override async get(key: string, o?: CallOptions): Promise<Uint8Array> {
    await this.fire('get', key);
    return this.inner.get(key, o);
  }
  override async getRange(key: string, offset: number, length: number, o?: CallOptions): Promise<Uint8Array> {
    await this.fire('get', key);
    return this.inner.getRange(key, offset, length, o);
  }
  override async put(key: string, data: Uint8Array, o?: PutOptions): Promise<void> {
    await this.inner.put(key, data, o);
    await this.fire('put', key);
  }
  override async *list(prefix: string) {
    await this.fire('list', prefix);
    yield* this.inner.list(prefix);
  }
}

describe('every session path is fenced (issue #25)', () => {
  it('gc stalled at `planned` past staleMs writes no repacked pack (they would be orphans)', async () => {
    const clock = new ManualClock();
    const mem = new MemStore(clock);
    const repo = await Repository.init(mem, OPTS);
    const big = pseudoRandom(3, 200_000);
    await backupFiles(repo, 'a', [{ path: 'f', data: big, mode: 0o644 }]);
    await backupFiles(repo, 'b', [{ path: 'f', data: big.subarray(0, 100_000), mode: 0o644 }]); // a pack of a's is half live: repacked
    let atPlanned: string[] = [];
    const err = await errOf(deleteBackups(repo, ['a'], { gc: true, safetyWindowMs: 0, repackThreshold: 0.99, clock, onStep: (step) => {
      if (step !== 'planned') return;
      atPlanned = keysOf(mem);
      clock.advance(31 * 60_000); // a frozen gc wakes past its lock's staleness
    } }));
    expect(err).toMatchObject({ code: 'LOCKED', message: expect.stringMatching(/^gc lost the repository lock .*not refreshed for 31 min.*nothing was deleted$/) });
    expect(atPlanned.length).toBeGreaterThan(0);
    expect(keysOf(mem), 'packs written by a gc that had lost its lock').toEqual(atPlanned);
  });

  it('a manifest deleted without a lock while gc marks (a deferred delete elsewhere) does not make gc refuse', async () => {
    const mem = new MemStore();
    const trap = new Trap(mem);
    const repo = await Repository.init(trap, OPTS);
    await backupFiles(repo, 'a', tree(40, 2, 20_000));
    await backupFiles(repo, 'b', tree(41, 2, 20_000));
    await backupFiles(repo, 'c', tree(42, 2, 20_000));
    trap.when = (op, key) => op === 'get' && key === 'backups/b'; // gc listed b, then reads it: gone meanwhile
    trap.hook = () => mem.delete('backups/b');
    const d = await deleteBackups(repo, ['a'], { gc: true, safetyWindowMs: 0 });
    expect(d.gc).toMatchObject({ backups: 1 }); // c: a excluded, b gone
    expect(await repo.listBackupIds()).toEqual(['c']);
  });

  it('sync stops at the next pack once its destination lock is overdue, not after sending every pack', async () => {
    const clock = new ManualClock();
    const src = await Repository.init(new MemStore(clock), OPTS);
    await backupFiles(src, 's1', [{ path: 'big', data: pseudoRandom(5, 600_000), mode: 0o644 }]); // ~19 packs of 32 KiB
    const total = keysOf(src.store as MemStore).length;
    const dst = new MemStore(clock);
    let stalled = false;
    const err = await errOf(syncRepository(src, dst, { pool, lock: { clock }, onProgress: (p) => {
      if (p.packsDone !== 1 || stalled) return;
      stalled = true;
      clock.advance(31 * 60_000); // a sync frozen past its lock's staleness: a gc may have walked past it
    } }));
    expect(err).toMatchObject({ code: 'LOCKED', message: expect.stringContaining('sync (destination) lost the repository lock') });
    expect(total).toBeGreaterThan(12);
    // the packs already in flight (3 at a time) end; none starts after the loss
    expect(keysOf(dst).length, `packs sent after the lock was lost (of ${total})`).toBeLessThanOrEqual(4);
    expect([...dst.objects.keys()].filter((k) => k.startsWith('backups/'))).toEqual([]);
  });

  const CHEAP: KdfParams = { name: 'scrypt', n: 16, r: 1, p: 1 };
  const pw = (s: string) => new TextEncoder().encode(s);

  it('key add waits for an exclusive lock (gc, key passwd): LOCKED, nothing added', async () => {
    const mem = new MemStore();
    const master = await initKeys(mem, pw('one'), { kdf: CHEAP });
    const gcLock = await acquireLock(mem, 'exclusive', { purpose: 'gc' });
    expect(await codeOf(addKeyFile(mem, master, pw('two'), { kdf: CHEAP, lock: { waitMs: 150 } }))).toBe('LOCKED');
    expect(await keyFileIds(mem)).toHaveLength(1);
    await gcLock.release();
    await addKeyFile(mem, master, pw('two'), { kdf: CHEAP });
    expect(await keyFileIds(mem)).toHaveLength(2);
  });

  it('key remove whose exclusive lock is lost before the deletion removes nothing', async () => {
    const mem = new MemStore();
    const trap = new Trap(mem);
    const master = await initKeys(mem, pw('one'), { kdf: CHEAP });
    const [current] = await keyFileIds(mem);
    const other = await addKeyFile(mem, master, pw('two'), { kdf: CHEAP });
    trap.when = (op, key) => op === 'list' && key === 'keys'; // removeKey lists the keys, then deletes
    trap.hook = () => dropLocks(mem);
    expect(await errOf(removeKeyFile(trap, other, current))).toMatchObject({ code: 'LOCKED', message: expect.stringContaining('key remove lost the repository lock') });
    expect((await keyFileIds(mem)).sort()).toEqual([current, other].sort());
  });

  it('key passwd whose lock is lost after adding the new key keeps the old one and says both open the repository', async () => {
    const mem = new MemStore();
    const trap = new Trap(mem);
    await initKeys(mem, pw('old'), { kdf: CHEAP });
    const [current] = await keyFileIds(mem);
    const master = (await import('../src/crypto/keyfile.js')).unlockKey(mem, pw('old'));
    trap.when = (op, key) => op === 'put' && key.startsWith('keys/');
    trap.hook = () => dropLocks(mem);
    const err = await errOf(replaceKeyFile(trap, (await master).master, pw('new'), current, { kdf: CHEAP }));
    expect(err).toMatchObject({ code: 'LOCKED', message: expect.stringMatching(/key passwd lost the repository lock.*\(the new password\) was added, key \w{8} \(the old one\) was not removed/) });
    expect(await keyFileIds(mem)).toContain(current);
    expect(await keyFileIds(mem)).toHaveLength(2);
  });

  it('a restore holds a shared lock: a delete meanwhile frees nothing it reads, and the restore is whole', async () => {
    const mem = new MemStore();
    const trap = new Trap(mem);
    const repo = await Repository.init(trap, OPTS);
    const a = tree(20, 6);
    await backupFiles(repo, 'a', a);
    await backupFiles(repo, 'b', tree(21, 2));
    let deleted: Awaited<ReturnType<typeof deleteBackups>> | undefined;
    trap.when = (op, key) => op === 'get' && key.startsWith('data/'); // the restore's first pack read
    trap.hook = async () => void (deleted = await deleteBackups(await Repository.open(mem), ['a'], { gc: true, safetyWindowMs: 0 }));
    const dir = await tempDir('mobr-session-restore-');
    try {
      await restore(repo, 'a', dir, { pool });
      expect(deleted?.gc, 'gc ran beside the restore').toBe('deferred');
      const got = await readTree(dir);
      for (const f of a) expect(Buffer.compare(got.get(f.path)!.data, Buffer.from(f.data)), f.path).toBe(0);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});

/** A repository this process may read but not write (read-only keys or mount). */
class ReadOnly extends StoreDecorator<MemStore> {
  override put(key: string): Promise<void> {
    return Promise.reject(new MobrError('ACCESS_DENIED', `cannot write ${key}: permission denied`));
  }
}

describe('a restore after a gc its repository object did not see', () => {
  it('reloads the index once a pack it knows is gone, and reads the repacked copy', async () => {
    const mem = new MemStore();
    const repo = await Repository.init(mem, OPTS);
    const big = pseudoRandom(3, 200_000);
    const b = [{ path: 'f', data: big.subarray(0, 100_000), mode: 0o644 }];
    await backupFiles(repo, 'a', [{ path: 'f', data: big, mode: 0o644 }]);
    await backupFiles(repo, 'b', b);
    const reader = await Repository.open(mem);
    await reader.loadManifest('b');
    expect(reader.indexesAll((await reader.loadManifest('b')).files[0])).toBe(true); // its index is loaded now
    const d = await deleteBackups(await Repository.open(mem), ['a'], { gc: true, safetyWindowMs: 0 });
    expect(d.gc).toMatchObject({ packsRepacked: 1 });
    const dir = await tempDir('mobr-session-reload-');
    try {
      await restore(reader, 'b', dir, { pool });
      expect(Buffer.compare((await readTree(dir)).get('f')!.data, Buffer.from(b[0].data))).toBe(0);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});

/** Records the prefix of every LIST. */
class Lists extends StoreDecorator<MemStore> {
  prefixes: string[] = [];
  override list(prefix: string, o?: CallOptions) {
    this.prefixes.push(prefix);
    return this.inner.list(prefix, o);
  }
}

describe('a restore checks its index with one LIST of index/, none of data/', () => {
  it('LISTs: locks/ and index/ once each; a pack gone by hand fails the restore with one line naming it', async () => {
    const mem = new MemStore();
    const a = tree(32, 4, 40_000);
    await backupFiles(await Repository.init(mem, OPTS), 'a', a);
    const store = new Lists(mem);
    const repo = await Repository.open(store);
    store.prefixes = [];
    const dir = await tempDir('mobr-session-lists-');
    try {
      await restore(repo, 'a', dir, { pool });
      expect(store.prefixes.sort()).toEqual(['index', 'locks']);
      const pack = [...mem.objects.keys()].find((k) => k.startsWith('data/'))!;
      mem.objects.delete(pack); // lost (not by a gc: its index object is still there)
      const again = await tempDir('mobr-session-lists-');
      const e = await errOf(restore(await Repository.open(mem), 'a', again, { pool }));
      await fsp.rm(again, { recursive: true, force: true });
      expect(e?.code).toBe('NOT_FOUND');
      expect(e?.message).toContain(pack.split('/').at(-1)!.slice(0, 16));
      expect(e?.message).not.toContain('\n');
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a restore from a repository it cannot write', () => {
  it('reads without a lock and says so in one warning', async () => {
    const mem = new MemStore();
    const a = tree(30, 2, 20_000);
    await backupFiles(await Repository.init(mem, OPTS), 'a', a);
    const notices: string[] = [];
    lockNotices((m) => notices.push(m));
    const dir = await tempDir('mobr-session-ro-');
    try {
      await restore(await Repository.open(new ReadOnly(mem)), 'a', dir, { pool });
      const got = await readTree(dir);
      for (const f of a) expect(Buffer.compare(got.get(f.path)!.data, Buffer.from(f.data)), f.path).toBe(0);
      expect(notices).toEqual([expect.stringMatching(/^restore a: reading memory without a lock \(.*permission denied\); a gc running meanwhile may delete what it reads/)]);
    } finally {
      lockNotices(() => undefined);
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a restore beside an exclusive lock', () => {
  it('past staleMs (a gc gone for good, or paused): reads beside it at once, told in one line; a live one it waits for', async () => {
    const clock = new ManualClock();
    const mem = new MemStore(clock);
    const a = tree(31, 2, 20_000);
    await backupFiles(await Repository.init(mem, OPTS), 'a', a);
    const body = { v: 1, kind: 'exclusive', host: 'lost-host', pid: 77, purpose: 'gc', createdAt: clock.now() };
    await mem.put(`locks/${'f'.repeat(32)}`, new TextEncoder().encode(JSON.stringify(body)));
    const notices: string[] = [];
    lockNotices((m) => notices.push(m));
    const dir = await tempDir('mobr-session-beside-');
    try {
      const live = restore(await Repository.open(mem), 'a', dir, { pool });
      const raced = await Promise.race([live.then(() => 'restored'), new Promise((r) => setTimeout(r, 600, 'waiting'))]);
      expect(raced, 'a restore walked past a live exclusive lock').toBe('waiting');
      clock.advance(31 * 60_000); // the gc's lock is now past staleMs (30 min) on the store's clock
      const done = await Promise.race([live.then(() => 'restored'), new Promise((r) => setTimeout(r, 60_000, 'still waiting').unref())]);
      expect(done, 'a restore behind a stale exclusive lock').toBe('restored');
      const got = await readTree(dir);
      for (const f of a) expect(Buffer.compare(got.get(f.path)!.data, Buffer.from(f.data)), f.path).toBe(0);
      expect(notices).toEqual([expect.stringMatching(/is locked by gc \(exclusive, host lost-host pid 77\), not refreshed for 31 min: .*; reading beside it$/)]);
    } finally {
      lockNotices(() => undefined);
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});

/** Records the lock objects there (their purposes) when a manifest is deleted. */
class LocksAtDelete extends StoreDecorator<MemStore> {
  seen: string[][] = [];
  override async delete(key: string, o?: CallOptions): Promise<void> {
    if (key.startsWith('backups/')) this.seen.push([...this.inner.objects.entries()].filter(([k]) => k.startsWith('locks/')).map(([, v]) => String(JSON.parse(new TextDecoder().decode(v.data)).purpose)).sort());
    return this.inner.delete(key, o);
  }
}

describe('a delete whose gc defers removes the manifest in a shared session (spec/gc.md §3)', () => {
  it('beside a backup: under its own shared lock, released after', async () => {
    const mem = new MemStore();
    const store = new LocksAtDelete(mem);
    const repo = await Repository.init(store, OPTS);
    await backupFiles(repo, 'a', tree(50, 2, 20_000));
    const backup = await acquireLock(mem, 'shared', { purpose: 'backup x' });
    try {
      const d = await deleteBackups(repo, ['a'], { gc: true, safetyWindowMs: 0 });
      expect(d.gc).toBe('deferred');
    } finally {
      await backup.release();
    }
    expect(store.seen).toEqual([['backup x', 'delete a']]);
    expect([...mem.objects.keys()].filter((k) => k.startsWith('locks/'))).toEqual([]);
    expect(await repo.listBackupIds()).toEqual([]);
  });

  it('beside a live gc it waits; beside one past staleMs it goes on at once, told in one line', async () => {
    const clock = new ManualClock();
    const mem = new MemStore(clock);
    const repo = await Repository.init(mem, OPTS);
    await backupFiles(repo, 'a', tree(51, 2, 20_000));
    const body = { v: 1, kind: 'exclusive', host: 'lost-host', pid: 77, purpose: 'gc', createdAt: clock.now() };
    await mem.put(`locks/${'e'.repeat(32)}`, new TextEncoder().encode(JSON.stringify(body)));
    const notices: string[] = [];
    lockNotices((m) => notices.push(m));
    try {
      const del = deleteBackups(repo, ['a'], { gc: true, safetyWindowMs: 0 });
      const raced = await Promise.race([del.then(() => 'deleted'), new Promise((r) => setTimeout(r, 600, 'waiting'))]);
      expect(raced, 'a manifest removal walked past a live exclusive lock').toBe('waiting');
      expect(await repo.listBackupIds()).toEqual(['a']);
      clock.advance(31 * 60_000); // the gc's lock is now past staleMs (30 min) on the store's clock
      const done = await Promise.race([del, new Promise((r) => setTimeout(r, 8000, 'still waiting'))]);
      expect(done).toMatchObject({ ids: ['a'], gc: 'deferred' });
      expect(await repo.listBackupIds()).toEqual([]);
      expect(notices).toEqual([expect.stringMatching(/is locked by gc \(exclusive, host lost-host pid 77\), not refreshed for 31 min: .*; deleting the manifest\(s\) beside it \(that frees nothing\)$/)]);
    } finally {
      lockNotices(() => undefined);
    }
  });
});

describe('the catalog lock (src/cli/lock.ts) fences its holder', () => {
  const rec = (i: number): BackupRecord => ({ id: `0000000${i}-126f-11ef-9902-26dd28356ef3`, size: i, location: { backupDir: 'filesystem', path: `/b/${i}` }, atTime: 1_715_745_404_915, durationNs: 1, completeTime: 1_715_745_413_563, backupTs: '1715745404915410000-1', backupType: 'full' });

  it('a writer whose lock was broken as stale meanwhile writes nothing (another process holds it now)', async () => {
    const dir = await tempDir('mobr-catalog-lock-');
    const file = path.join(dir, 'mo_br.meta');
    const lock = `${file}.lock`;
    const c = new Catalog(file);
    await c.add(rec(1));
    const before = readFileSync(file, 'utf8');
    const err = await errOf(c.update((rs) => {
      // as another process does with a lock older than 2 min: moved aside, its own written
      renameSync(lock, `${lock}.stale`);
      writeFileSync(lock, JSON.stringify({ ...processIdentity(), nonce: 'other', at: Date.now() }));
      return [...rs, rec(2)];
    }));
    expect(err).toMatchObject({ code: 'LOCKED', message: expect.stringMatching(/was broken as stale while this process held it .*nothing was written/) });
    expect(readFileSync(file, 'utf8'), 'the catalog was written by a holder that had lost its lock').toBe(before);
    expect(JSON.parse(readFileSync(lock, 'utf8')).nonce, "the other process's lock stays").toBe('other');
    await fsp.rm(dir, { recursive: true, force: true });
  });
});
