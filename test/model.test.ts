/**
 * Model-based test: random sequences of backup / delete / gc / sync / crash (a Store that fails
 * every write after N of them, then the repository is reopened) on MemStore and FsStore, against
 * a model of which backups exist in the source and the destination. After every step, every
 * backup the model holds restores byte-identical from both repositories.
 */
import { promises as fsp } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MobrError } from '../src/errors.js';
import { backupTree } from '../src/backup/backup.js';
import { restoreBackup } from '../src/backup/restore.js';
import { gc } from '../src/repo/gc.js';
import { Repository } from '../src/repo/repository.js';
import { syncRepository } from '../src/repo/sync.js';
import { FsStore } from '../src/store/fs.js';
import { MemStore } from '../src/store/mem.js';
import type { PutOptions, Store } from '../src/store/store.js';
import { WorkerPool } from '../src/workers/pool.js';
import { pseudoRandom, readTree, tempDir, writeTree, type TreeFile } from './helpers/tree.js';

const OPTS = { chunker: { min: 1024, avg: 4096, max: 16384 }, packSize: 32 * 1024 };
let pool: WorkerPool;
beforeAll(() => void (pool = new WorkerPool(2)));
afterAll(async () => pool.close());

/** Every write after the first `n` fails, as if the process died there (nothing partial). */
class CrashingStore implements Store {
  private writes = 0;
  constructor(readonly inner: Store, private readonly n: number) {}
  get location() {
    return `crashing ${this.inner.location}`;
  }
  private tick() {
    if (this.writes++ >= this.n) throw new MobrError('IO', 'simulated crash');
  }
  get(k: string) { return this.inner.get(k); }
  getRange(k: string, o: number, l: number) { return this.inner.getRange(k, o, l); }
  async put(k: string, d: Uint8Array, o?: PutOptions) { this.tick(); return this.inner.put(k, d, o); }
  has(k: string) { return this.inner.has(k); }
  stat(k: string) { return this.inner.stat(k); }
  list(p: string) { return this.inner.list(p); }
  async delete(k: string) { this.tick(); return this.inner.delete(k); }
}

type Op =
  | { t: 'backup'; seeds: number[]; sizes: number[]; crash?: number }
  | { t: 'delete'; pick: number }
  | { t: 'gc'; threshold: number; side: 'src' | 'dst'; crash?: number }
  | { t: 'sync'; crash?: number };

const crash = fc.option(fc.nat(40), { nil: undefined, freq: 3 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('backup' as const), seeds: fc.array(fc.nat(12), { minLength: 1, maxLength: 4 }), sizes: fc.array(fc.integer({ min: 0, max: 50_000 }), { minLength: 4, maxLength: 4 }), crash }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('delete' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('gc' as const), threshold: fc.constantFrom(0, 0.5, 0.95), side: fc.constantFrom('src' as const, 'dst' as const), crash }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('sync' as const), crash }) },
);

async function clearLocks(s: Store): Promise<void> {
  const keys: string[] = [];
  for await (const e of s.list('locks')) keys.push(e.key);
  for (const k of keys) await s.delete(k); // a crashed process's lock expires
}

async function expectRestores(store: Store, model: Map<string, TreeFile[]>): Promise<void> {
  const repo = await Repository.open(store);
  expect(await repo.listBackupIds()).toEqual([...model.keys()].sort());
  for (const [id, files] of model) {
    const dir = await tempDir('mobr-model-');
    try {
      await restoreBackup(repo, await repo.loadManifest(id), dir, { pool });
      const got = await readTree(dir);
      expect(got.size).toBe(files.length);
      for (const f of files) expect(Buffer.compare(got.get(f.path)!.data, Buffer.from(f.data)), `${id} ${f.path}`).toBe(0);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  }
}

async function run(ops: Op[], src: Store, dst: Store): Promise<void> {
  await Repository.init(src, OPTS);
  const srcModel = new Map<string, TreeFile[]>();
  const dstModel = new Map<string, TreeFile[]>();
  let n = 0;
  for (const op of ops) {
    const wrap = (s: Store) => (op.t !== 'delete' && op.crash !== undefined ? new CrashingStore(s, op.crash) : s);
    let failed = false;
    try {
      if (op.t === 'backup') {
        const id = `b${n++}`;
        const files = op.seeds.map((seed, i) => ({ path: `d/f${i}`, data: pseudoRandom(seed + 1, op.sizes[i] ?? 100), mode: 0o644 }));
        const dir = await tempDir('mobr-model-src-');
        await writeTree(dir, files);
        try {
          const repo = await Repository.open(wrap(src));
          await backupTree(repo, dir, { id, pool }).then(() => srcModel.set(id, files), async (e) => {
            failed = true;
            if (await src.has(`backups/${id}`)) srcModel.set(id, files); // crashed after its manifest
            throw e;
          });
        } finally {
          await fsp.rm(dir, { recursive: true, force: true });
        }
      } else if (op.t === 'delete') {
        const ids = [...srcModel.keys()];
        if (ids.length === 0) continue;
        const id = ids[op.pick % ids.length];
        await (await Repository.open(src)).deleteManifest(id);
        srcModel.delete(id);
      } else if (op.t === 'gc') {
        if (op.side === 'dst' && !(await dst.has('config'))) continue;
        await gc(await Repository.open(wrap(op.side === 'src' ? src : dst)), { safetyWindowMs: 0, repackThreshold: op.threshold });
      } else {
        const before = new Set(dstModel.keys());
        let completed = false;
        try {
          await syncRepository(await Repository.open(src), wrap(dst), { pool });
          completed = true;
        } finally {
          // a completed sync holds every source backup (the model says which, not the destination);
          // a crashed one holds some of them, each of which must restore
          for (const [id, files] of srcModel) {
            if (completed) expect(await dst.has(`backups/${id}`), `sync completed without backup ${id}`).toBe(true);
            if (!before.has(id) && (await dst.has(`backups/${id}`))) dstModel.set(id, files);
          }
        }
      }
    } catch (e) {
      failed = true;
      if (!(e instanceof MobrError && /simulated crash/.test(e.message))) throw e;
    }
    if (failed || ('crash' in op && op.crash !== undefined)) {
      await clearLocks(src);
      await clearLocks(dst);
    }
    await expectRestores(src, srcModel);
    if (await dst.has('config')) await expectRestores(dst, dstModel);
  }
}

describe('model: backup / delete / gc / sync / crash', () => {
  it('MemStore: every backup the model holds restores after every step', async () => {
    await fc.assert(fc.asyncProperty(fc.array(opArb, { minLength: 3, maxLength: 10 }), async (ops) => run(ops, new MemStore(), new MemStore())), { numRuns: 60 });
  }, 120_000);

  it('FsStore: the same', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 3, maxLength: 8 }), async (ops) => {
        const a = await tempDir('mobr-model-a-');
        const b = await tempDir('mobr-model-b-');
        try {
          await run(ops, new FsStore(a), new FsStore(b));
        } finally {
          await fsp.rm(a, { recursive: true, force: true });
          await fsp.rm(b, { recursive: true, force: true });
        }
      }),
      { numRuns: 15 },
    );
  }, 120_000);
});
