/**
 * Issue #25: one write session (src/repo/session.ts). A backup's session owns its lock: losing the
 * lock (its object removed by another process, here) aborts the uploads in flight at once, not at
 * the check before the manifest; nothing is committed. A session refuses a commit whose chunks are
 * not indexed, and hands out the staging folder of its backup and nothing else of the repository.
 */
import { promises as fsp } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { backupTree } from '../src/backup/backup.js';
import { defaultStaleMs, DEFAULT_STALE_MS } from '../src/repo/lock.js';
import { Repository } from '../src/repo/repository.js';
import { writeSession } from '../src/repo/session.js';
import { StoreDecorator } from '../src/store/decorator.js';
import { MemStore } from '../src/store/mem.js';
import type { PutOptions } from '../src/store/store.js';
import { WorkerPool } from '../src/workers/pool.js';
import { pseudoRandom, tempDir, writeTree } from './helpers/tree.js';

const OPTS = { chunker: { min: 1024, avg: 4096, max: 16384 }, packSize: 32 * 1024 };
let pool: WorkerPool;
beforeAll(() => void (pool = new WorkerPool(2)));
afterAll(async () => pool.close());
afterEach(() => void defaultStaleMs(DEFAULT_STALE_MS));

/** Pack uploads hang (5 s) unless their signal fires; records how each ended. */
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
      }, 5000);
      o?.signal?.addEventListener('abort', () => {
        clearTimeout(t);
        this.ended.push(`aborted: ${(o.signal!.reason as { code?: string }).code}`);
        reject(o.signal!.reason);
      }, { once: true });
    });
  }
}

const codeOf = (p: Promise<unknown>) => p.then(() => 'resolved', (e: { code?: string }) => e.code ?? String(e));

describe('write session (issue #25)', () => {
  it('a lost lock aborts the pack uploads in flight: LOCKED within a second, nothing committed', async () => {
    defaultStaleMs(1200); // refreshed every 200 ms
    const mem = new MemStore();
    const store = new HangingPacks(mem);
    const repo = await Repository.init(store, OPTS);
    const dir = await tempDir('mobr-session-');
    await writeTree(dir, [{ path: 'f', data: pseudoRandom(7, 200_000), mode: 0o644 }]);
    const run = codeOf(backupTree(repo, dir, { id: 'b1', pool }));
    while (store.started === 0) await new Promise((r) => setTimeout(r, 10)); // an upload is in flight
    const t0 = performance.now();
    for (const k of [...mem.objects.keys()]) if (k.startsWith('locks/')) mem.objects.delete(k); // another process removed our lock
    expect(await run).toBe('LOCKED');
    expect(performance.now() - t0).toBeLessThan(2500); // an upload left alone ends after 5 s
    expect(store.ended[0]).toBe('aborted: LOCKED');
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
