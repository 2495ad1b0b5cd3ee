/**
 * Restore by pack (src/backup/restore-packs.ts, planPackReads in src/repo/read-plan.ts): each
 * pack is read about once however its chunks interleave between files; a chunk used by several
 * files (or twice in one) is read once and written everywhere; files spread over several tasks
 * are checked whole before they are renamed; damage is never written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { FsStore } from '../src/store/fs.js';
import { Repository } from '../src/repo/repository.js';
import { backupTree } from '../src/backup/backup.js';
import { restoreBackup } from '../src/backup/restore.js';
import { verifyBackup } from '../src/backup/verify.js';
import { planPackReads } from '../src/repo/read-plan.js';
import type { ChunkLocation } from '../src/repo/index-file.js';
import { chunkCount, chunkId, fileTable, type FileEntry } from '../src/repo/manifest.js';
import { WorkerPool } from '../src/workers/pool.js';
import { createMode } from '../src/workers/pack-writes.js';
import { CountingStore } from './helpers/counting-store.js';
import type { RangeOptions } from '../src/store/store.js';
import { RESTORE_READ_AHEAD } from '../src/util/concurrency.js';
import { pseudoRandom, tempDir, writeTree } from './helpers/tree.js';

class RangeCountingStore extends CountingStore<FsStore> {
  ranges: { key: string; offset: number; length: number; into?: ArrayBufferLike; read?: ArrayBufferLike }[] = [];
  override async getRange(k: string, o: number, l: number, opts?: RangeOptions): Promise<Uint8Array> {
    const r = { key: k, offset: o, length: l, into: opts?.into?.buffer, read: undefined as ArrayBufferLike | undefined };
    if (k.startsWith('data/')) this.ranges.push(r);
    const got = await super.getRange(k, o, l, opts);
    r.read = got.buffer;
    return got;
  }
}

describe('planPackReads', () => {
  // files made of chunks 0..n-1 (ids by number) lying in packs at arbitrary places
  const arb = fc
    .record({
      chunks: fc.array(fc.record({ pack: fc.integer({ min: 0, max: 3 }), length: fc.integer({ min: 1, max: 50 }) }), { minLength: 1, maxLength: 30 }),
      files: fc.array(fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 12 }), { minLength: 1, maxLength: 12 }),
      gap: fc.integer({ min: 0, max: 60 }),
      maxRead: fc.integer({ min: 1, max: 400 }),
      maxFiles: fc.integer({ min: 1, max: 5 }),
    })
    .map((x) => {
      const next = [0, 0, 0, 0];
      const locs = x.chunks.map((c, i) => {
        const loc: ChunkLocation = { pack: `p${c.pack}`, offset: next[c.pack], length: c.length, rawLength: c.length * 3 + (i % 2), codec: 0 };
        next[c.pack] += c.length + (i % 3) * 7; // some gaps between chunks
        return loc;
      });
      const id = (n: number) => new Uint8Array(32).fill(n + 1);
      const files: FileEntry[] = x.files.map((cs, k) => {
        const chunks = new Uint8Array(cs.length * 32);
        cs.forEach((c, i) => chunks.set(id(c), i * 32));
        return { path: `f${k}`, kind: 'file', size: 0, mode: 0o644, mtimeMs: 0, chunks };
      });
      return { ...x, locs, files, lookup: (i: Uint8Array) => locs[i[0] - 1] };
    });

  it('every use of every chunk is planned exactly once, in reads that keep to the limits', () => {
    fc.assert(
      fc.property(arb, (x) => {
        const plan = planPackReads(x.files, x.lookup, { gap: x.gap, maxRead: x.maxRead, maxFiles: x.maxFiles });
        const got = new Map<string, string>();
        const tasksOf = new Array(x.files.length).fill(0);
        for (const r of plan.reads.map(plan.read)) {
          for (const t of r.tasks) {
            expect(t.length).toBeGreaterThan(0);
            const filesHere = new Set(t.flatMap((b) => b.uses.map((u) => u.file)));
            expect(filesHere.size <= x.maxFiles || t.length === 1).toBe(true);
            for (const k of filesHere) tasksOf[k]++;
          }
          const blobs = r.tasks.flat();
          expect(blobs[0].loc.offset).toBe(r.offset);
          const last = blobs[blobs.length - 1].loc;
          expect(last.offset + last.length).toBe(r.offset + r.length);
          expect(r.length <= x.maxRead || blobs.length === 1).toBe(true);
          blobs.forEach((b, i) => {
            expect(b.loc.pack).toBe(r.pack);
            if (i > 0) expect(b.loc.offset - (blobs[i - 1].loc.offset + blobs[i - 1].loc.length)).toBeLessThanOrEqual(x.gap);
            for (const u of b.uses) {
              const key = `${u.file}@${u.at}`;
              expect(got.has(key), key).toBe(false);
              got.set(key, String(b.id[0]));
            }
          });
        }
        // what each file should get: every chunk at its offset, unless a chunk is missing
        const want = new Map<string, string>();
        x.files.forEach((f, k) => {
          if (plan.missing.has(k)) return;
          let at = 0;
          for (let i = 0; i < chunkCount(f); i++) {
            const loc = x.lookup(chunkId(f, i))!;
            want.set(`${k}@${at}`, String(chunkId(f, i)[0]));
            at += loc.rawLength;
          }
        });
        expect(got).toEqual(want);
        expect(plan.tasksOf).toEqual(tasksOf);
        x.files.forEach((f, k) => {
          const lacks = Array.from({ length: chunkCount(f) }, (_, i) => chunkId(f, i)).find((id) => !x.lookup(id));
          expect(plan.missing.get(k)).toEqual(lacks);
        });
        // packs come in the order the files first need them
        const firstNeed = [...new Set(x.files.flatMap((f, k) => (plan.missing.has(k) ? [] : Array.from({ length: chunkCount(f) }, (_, i) => x.lookup(chunkId(f, i))!.pack))))];
        expect(plan.reads.map((r) => r.pack).filter((p, i, a) => i === 0 || a[i - 1] !== p)).toEqual(firstNeed);
        // the plan holds its chunks packed: at most 48 bytes of typed arrays a use (issue #22: a million files)
        expect(plan.bytes).toBeLessThanOrEqual(48 * x.files.reduce((n, f) => n + chunkCount(f), 0));
        // a chunk is read once per plan
        const blobsSeen = plan.reads.flatMap((r) => plan.read(r).tasks.flat().map((b) => `${b.loc.pack}:${b.loc.offset}`));
        expect(new Set(blobsSeen).size).toBe(blobsSeen.length);
      }),
      { numRuns: 300 },
    );
  });

  it('a chunk two files share does not take a task past maxFiles (the property found it once in ~4000 runs)', () => {
    const locs: Record<number, ChunkLocation> = { 1: { pack: 'p0', offset: 0, length: 1, rawLength: 3, codec: 0 }, 7: { pack: 'p0', offset: 25, length: 1, rawLength: 3, codec: 0 } };
    const file = (k: number, id: number): FileEntry => ({ path: `f${k}`, kind: 'file', size: 0, mode: 0o644, mtimeMs: 0, chunks: new Uint8Array(32).fill(id) });
    const plan = planPackReads([file(0, 7), file(1, 1), file(2, 7)], (id) => locs[id[0]], { gap: 47, maxRead: 49, maxFiles: 2 });
    expect(plan.reads.map((r) => plan.read(r).tasks.map((t) => t.flatMap((b) => b.uses.map((u) => u.file))))).toEqual([[[1], [0, 2]]]);
    expect(plan.tasksOf).toEqual([1, 1, 1]);
  });

  it('packs come in the order the files that are planned first need them (a file with a missing chunk counts for none)', () => {
    const locs: Record<number, ChunkLocation> = { 1: { pack: 'p0', offset: 0, length: 5, rawLength: 9, codec: 0 }, 2: { pack: 'p1', offset: 0, length: 5, rawLength: 9, codec: 0 } };
    const file = (k: number, ids: number[]): FileEntry => ({ path: `f${k}`, kind: 'file', size: 0, mode: 0o644, mtimeMs: 0, chunks: Uint8Array.from(ids.flatMap((n) => new Array<number>(32).fill(n))) });
    // f0 needs p0 and then a chunk no index has; f1 needs p1, then p0
    const plan = planPackReads([file(0, [1, 3]), file(1, [2, 1])], (id) => locs[id[0]], { gap: 0, maxRead: 100, maxFiles: 4 });
    expect(plan.reads.map((r) => r.pack)).toEqual(['p1', 'p0']);
    expect([...plan.missing.keys()]).toEqual([0]);
    expect(plan.read(plan.reads[1]).tasks).toEqual([[{ id: new Uint8Array(32).fill(1), loc: locs[1], uses: [{ file: 1, at: 9 }] }]]);
  });
});

// each test runs with worker threads and with the tasks in this thread (jobPool's choice for small or busy jobs)
describe.each([
  ['in worker threads', false],
  ['in this thread', true],
])('restore by pack, %s', (_, inline) => {
  let pool: WorkerPool;
  let work: string;
  // files backed up side by side (two lanes) interleave in packs; some share chunks; one repeats a chunk
  const block = pseudoRandom(77, 200 * 1024);
  const repeated = new Uint8Array(block.length * 3);
  for (let i = 0; i < 3; i++) repeated.set(block, i * block.length);
  const files = [
    ...Array.from({ length: 12 }, (_, i) => ({ path: `big/f${i}`, data: pseudoRandom(i + 1, 700 * 1024 + i * 4099, i % 3 === 0), mode: 0o640 })),
    ...Array.from({ length: 300 }, (_, i) => ({ path: `small/s${i}`, data: pseudoRandom(500 + i, 1 + ((i * 37) % 900)), mode: 0o600 })),
    { path: 'copy/f1', data: pseudoRandom(2, 700 * 1024 + 4099), mode: 0o644 },
    { path: 'rep/r', data: repeated, mode: 0o644 },
    { path: 'empty/e', data: new Uint8Array(0), mode: 0o604 },
  ];
  const SMALL = { chunker: { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 }, packSize: 512 * 1024 };

  beforeAll(async () => {
    pool = new WorkerPool(2, { inline });
    work = await tempDir();
    await writeTree(path.join(work, 'src'), files);
    const repo = await Repository.init(new FsStore(path.join(work, 'repo')), SMALL);
    const chunking = new WorkerPool(2);
    await backupTree(repo, path.join(work, 'src'), { id: 'b1', pool: chunking });
    await chunking.close();
  });
  afterAll(async () => {
    // the inline pool did every task here and never started a worker
    expect(pool.workersStarted).toBe(!inline);
    await pool.close();
    await fsp.rm(work, { recursive: true, force: true });
  });

  it('reads each pack in one ranged read, writes every file byte-identical with its mode, and leaves no temporary file', async () => {
    const store = new RangeCountingStore(new FsStore(path.join(work, 'repo')));
    const repo = await Repository.open(store);
    const m = await repo.loadManifest('b1');
    const packs = new Set(m.files.flatMap((f) => Array.from({ length: chunkCount(f) }, (_, i) => repo.location(chunkId(f, i))!.pack)));
    const perFile = m.files.reduce((s, f) => s + new Set(Array.from({ length: chunkCount(f) }, (_, i) => repo.location(chunkId(f, i))!.pack)).size, 0);
    const out = path.join(work, 'out');
    const seen: string[] = [];
    const p = await restoreBackup(repo, m, out, { pool, onFile: (f) => seen.push(f.path) });
    expect(p.files).toBe(files.length);
    expect(p.bytes).toBe(files.reduce((s, f) => s + f.data.length, 0));
    expect(seen.sort()).toEqual(files.map((f) => f.path).sort());
    expect(store.ranges.length).toBe(packs.size);
    expect(new Set(store.ranges.map((r) => r.key)).size).toBe(packs.size);
    // every pack is read into shared memory reused across reads: one slot a read in flight, not fresh pages a read
    const slots = new Set(store.ranges.map((r) => r.read));
    expect(store.ranges.every((r) => r.into instanceof SharedArrayBuffer && r.read === r.into)).toBe(true);
    expect(slots.size).toBeLessThanOrEqual(pool.threads + RESTORE_READ_AHEAD);
    expect(store.ranges.length).toBeGreaterThan(slots.size);
    expect(perFile, 'files interleave in packs (reading file by file would read packs more often)').toBeGreaterThan(packs.size);
    for (const f of files) {
      const at = path.join(out, f.path);
      expect(Buffer.compare(await fsp.readFile(at), f.data), f.path).toBe(0);
      expect((await fsp.stat(at)).mode & 0o777, f.path).toBe(f.mode);
    }
    const all = (await fsp.readdir(out, { recursive: true })).map(String);
    expect(all.filter((n) => n.includes('.mobr-partial-'))).toEqual([]);
    // check by pack: each pack read whole once, every file sound, reported in manifest order
    const order: string[] = [];
    const r = await verifyBackup(repo, m, { readData: true, pool, onFile: (f) => order.push(f.path) });
    expect(r.ok).toBe(true);
    expect(r.packReads).toBe(packs.size);
    expect(r.bytes).toBe(p.bytes);
    expect(order).toEqual(m.files.filter((f) => f.kind === 'file').map((f) => f.path));
  }, 120_000);

  it('a partial restore reads only the packs its files need, across small gaps', async () => {
    const store = new RangeCountingStore(new FsStore(path.join(work, 'repo')));
    const repo = await Repository.open(store);
    const m = await repo.loadManifest('b1');
    const pick = (f: FileEntry) => (f.path.startsWith('big/f1') || f.path === 'small/s7' ? f.path : undefined);
    const chosen = m.files.filter((f) => pick(f) !== undefined);
    const out = path.join(work, 'out-part');
    const p = await restoreBackup(repo, m, out, { pool, mapPath: pick });
    expect(p.files).toBe(chosen.length);
    const packs = new Set(chosen.flatMap((f) => Array.from({ length: chunkCount(f) }, (_, i) => repo.location(chunkId(f, i))!.pack)));
    expect(new Set(store.ranges.map((r) => r.key))).toEqual(new Set([...packs].map((k) => expect.stringContaining(k))));
    const stored = chosen.reduce((s, f) => s + Array.from({ length: chunkCount(f) }, (_, i) => repo.location(chunkId(f, i))!.length).reduce((a, b) => a + b, 0), 0);
    // ranges cover the chosen chunks and at most 1 MiB of gap each
    const read = store.ranges.reduce((s, r) => s + r.length, 0);
    expect(read).toBeGreaterThanOrEqual(stored);
    expect(read).toBeLessThanOrEqual(stored + store.ranges.length * 1024 * 1024);
    for (const f of chosen) expect(Buffer.compare(await fsp.readFile(path.join(out, f.path)), files.find((x) => x.path === f.path)!.data)).toBe(0);
  }, 120_000);

  it("keeps each ranged read within the store's rangeSize (a local folder's few MiB), and restores the same bytes", async () => {
    const store = new (class extends RangeCountingStore {
      override get rangeSize(): number {
        return 300 * 1024; // above the chunker's 256 KiB maximum, below the 512 KiB packs
      }
    })(new FsStore(path.join(work, 'repo')));
    const repo = await Repository.open(store);
    const m = await repo.loadManifest('b1');
    const packs = new Set(m.files.flatMap((f) => Array.from({ length: chunkCount(f) }, (_, i) => repo.location(chunkId(f, i))!.pack)));
    const out = path.join(work, 'out-ranges');
    await restoreBackup(repo, m, out, { pool });
    expect(store.ranges.every((r) => r.length <= 300 * 1024)).toBe(true);
    expect(store.ranges.length).toBeGreaterThan(packs.size);
    for (const f of files) expect(Buffer.compare(await fsp.readFile(path.join(out, f.path)), f.data), f.path).toBe(0);
  }, 120_000);

  it('a damaged chunk shared by two files is written to neither; files spread over several packs that use it fail whole; the rest is restored', async () => {
    const dir = path.join(work, 'repo-bad');
    await fsp.cp(path.join(work, 'repo'), dir, { recursive: true });
    const repo = await Repository.open(new FsStore(dir));
    const m = await repo.loadManifest('b1');
    // a chunk of big/f1, which copy/f1 shares (same bytes); damage it in its pack
    const f1 = m.files.find((f) => f.path === 'big/f1')!;
    const k = Math.floor(chunkCount(f1) / 2);
    const loc = repo.location(chunkId(f1, k))!;
    const packFile = (await fsp.readdir(path.join(dir, 'data'), { recursive: true })).map(String).find((n) => n.endsWith(loc.pack))!;
    const bytes = await fsp.readFile(path.join(dir, 'data', packFile));
    bytes[loc.offset + 10] ^= 1;
    await fsp.chmod(path.join(dir, 'data', packFile), 0o644);
    await fsp.writeFile(path.join(dir, 'data', packFile), bytes);
    // check names both files (spread over packs: hashed in order as their packs come) and nothing else
    const r = await verifyBackup(await Repository.open(new FsStore(dir)), m, { readData: true, pool });
    expect(r.damaged.map((d) => d.path)).toEqual(['big/f1', 'copy/f1']);
    expect(r.damaged[0].problem).toMatch(/^chunk [0-9a-f]{16} in pack [0-9a-f]{16}: .*\(damaged\)$/);
    const out = path.join(work, 'out-bad');
    const e = await restoreBackup(await Repository.open(new FsStore(dir)), m, out, { pool }).then(() => undefined, (x: Error) => x);
    expect(e?.message).toMatch(/^restore: 2 of \d+ entries failed, the others were restored: big\/f1 \(chunk [0-9a-f]{16} in pack [0-9a-f]{16}: .*\(damaged\)\); copy\/f1 \(chunk [0-9a-f]{16} in pack [0-9a-f]{16}: .*\(damaged\)\)$/);
    const all = (await fsp.readdir(out, { recursive: true })).map(String);
    expect(all.filter((n) => n.includes('.mobr-partial-'))).toEqual([]);
    expect(all).not.toContain('big/f1');
    expect(all).not.toContain('copy/f1');
    for (const f of files) {
      if (f.path === 'big/f1' || f.path === 'copy/f1') continue;
      expect(Buffer.compare(await fsp.readFile(path.join(out, f.path)), f.data), f.path).toBe(0);
    }
  }, 120_000);
});

describe('restore by pack: modes', () => {
  it('a whole file is created with its mode only where the umask lets it through as is; else 0o600 and an fchmod after its bytes', () => {
    expect(createMode(0o644, 0o022)).toEqual({ open: 0o644, chmod: false });
    expect(createMode(0o600, 0o077)).toEqual({ open: 0o600, chmod: false });
    expect(createMode(0o666, 0o022)).toEqual({ open: 0o600, chmod: true }); // the umask would cut it
    expect(createMode(0o4755, 0o022)).toEqual({ open: 0o600, chmod: true }); // setuid only after the bytes
    expect(createMode(0o1777, 0)).toEqual({ open: 0o600, chmod: true });
    expect(createMode(0o644, null)).toEqual({ open: 0o600, chmod: true }); // no umask known: always the fchmod
  });

  it('restores modes the umask would cut and setuid, setgid and sticky bits exactly, one-chunk files and files of several chunks', async () => {
    const work = await tempDir();
    try {
      const modes = [0o644, 0o666, 0o777, 0o4755, 0o2750, 0o1644, 0o400];
      const files = modes.flatMap((mode, i) => [
        { path: `one/m${mode.toString(8)}`, data: pseudoRandom(900 + i, 100 + i), mode },
        { path: `many/m${mode.toString(8)}`, data: pseudoRandom(950 + i, 40 * 1024 + i), mode },
      ]);
      await writeTree(path.join(work, 'src'), files);
      const repo = await Repository.init(new FsStore(path.join(work, 'repo')), { chunker: { min: 4 * 1024, avg: 8 * 1024, max: 16 * 1024 } });
      await backupTree(repo, path.join(work, 'src'), { id: 'b1' });
      const m = await repo.loadManifest('b1');
      expect(m.files.find((f) => f.path === 'many/m666')!.chunks!.length / 32, 'several chunks').toBeGreaterThan(1);
      // (the umask is 0o022 here and in CI: 0o666 and 0o777 need the fchmod)
      await restoreBackup(repo, m, path.join(work, 'out'));
      for (const f of files) expect(((await fsp.stat(path.join(work, 'out', f.path))).mode & 0o7777).toString(8), f.path).toBe(f.mode.toString(8));
      // a one-chunk file whose recorded SHA-256 differs (its chunk sound): checked before it is created, so never written
      const t = fileTable(m);
      const k = m.files.findIndex((f) => f.path === 'one/m644');
      t.sha256(k)![0] ^= 1; // a view of the table's buffer
      const e = await restoreBackup(repo, m, path.join(work, 'out2')).then(() => undefined, (x: Error) => x);
      expect(e?.message).toMatch(/^restore: 1 of \d+ entries failed, the others were restored: one\/m644 \(restored bytes do not match the recorded SHA-256\)$/);
      const all = (await fsp.readdir(path.join(work, 'out2'), { recursive: true })).map(String);
      expect(all.filter((n) => n === 'one/m644' || n.includes('.mobr-partial-'))).toEqual([]);
      expect(all).toContain('many/m644');
    } finally {
      await fsp.rm(work, { recursive: true, force: true });
    }
  }, 30_000);
});
