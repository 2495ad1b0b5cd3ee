/**
 * `sync --reencrypt` in the library (src/backup/reencrypt.ts, spec/sync.md §8): plain -> encrypted,
 * encrypted -> encrypted under another master key, encrypted -> plain. The copy restores byte for
 * byte, names its chunks by its own keyed ids (none of the source's), holds no plaintext, and a
 * second run writes nothing; a damaged source chunk stops it before that backup's manifest.
 */
import { promises as fsp } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupTree } from '../src/backup/backup.js';
import { FastCDC } from '../src/chunk/fastcdc.js';
import { defaultScanner } from '../src/chunk/scanner.js';
import { newMasterKey } from '../src/crypto/master.js';
import { toHex } from '../src/hash/hex.js';
import { chunkCount, chunkId, type Manifest } from '../src/repo/manifest.js';
import { reencryptRepository } from '../src/backup/reencrypt.js';
import { Repository } from '../src/repo/repository.js';
import { MemStore } from '../src/store/mem.js';
import { WorkerPool } from '../src/workers/pool.js';
import { CountingStore } from './helpers/counting-store.js';
import { pseudoRandom, tempDir, writeTree, type TreeFile } from './helpers/tree.js';

const OPTS = { chunker: { min: 1024, avg: 4096, max: 16384 }, packSize: 32 * 1024, compression: 'none' as const };
const MARK = 'PLAINTEXT-MARKER-0123456789';
let pool: WorkerPool;
const trees = new Map<string, TreeFile[]>();

/** A repository (plain, or encrypted with a new master key) holding backups b0 and b1. */
async function source(encrypted: boolean): Promise<Repository> {
  const repo = await Repository.init(new MemStore(), OPTS, encrypted ? { masterKey: newMasterKey() } : {});
  const dir = await tempDir();
  const marked = new TextEncoder().encode(MARK.repeat(400));
  let files: TreeFile[] = [
    { path: 'db/a', data: pseudoRandom(1, 60_000), mode: 0o644 },
    { path: 'db/marked', data: marked, mode: 0o600 },
    { path: 'db/empty', data: new Uint8Array(0), mode: 0o644 },
  ];
  for (const id of ['b0', 'b1']) {
    await fsp.rm(dir, { recursive: true, force: true });
    await writeTree(dir, files);
    await backupTree(repo, dir, { id, pool });
    trees.set(id, files);
    files = [...files, { path: 'db/b', data: pseudoRandom(2, 30_000), mode: 0o644 }];
  }
  await fsp.rm(dir, { recursive: true, force: true });
  return repo;
}

/** A file's bytes read back from repo through its chunk ids. */
async function readBack(repo: Repository, m: Manifest, path: string): Promise<Buffer> {
  const f = m.files.find((x) => x.path === path)!;
  const parts: Uint8Array[] = [];
  for (let i = 0; i < chunkCount(f); i++) parts.push(await repo.readChunk(chunkId(f, i)));
  return Buffer.concat(parts);
}

/** Every backup of the copy, opened afresh, restores each file byte for byte. */
async function expectCopy(dst: Repository): Promise<Repository> {
  const fresh = await Repository.open(dst.store, { masterKey: dst.crypt?.master });
  expect(await fresh.listBackupIds()).toEqual(['b0', 'b1']);
  for (const id of ['b0', 'b1']) {
    const m = await fresh.loadManifest(id);
    for (const f of trees.get(id)!) expect(Buffer.compare(await readBack(fresh, m, f.path), Buffer.from(f.data)), `${id} ${f.path}`).toBe(0);
  }
  return fresh;
}

/** Every object's bytes in a MemStore. */
async function objects(repo: Repository): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const e of repo.store.list('')) out.set(e.key, await repo.store.get(e.key));
  return out;
}

beforeAll(() => {
  pool = new WorkerPool(2);
});
afterAll(async () => {
  await pool?.close();
});

describe('sync --reencrypt', () => {
  it('plain -> encrypted: restores, no plaintext at the target, keyed ids; a second run writes nothing', async () => {
    const src = await source(false);
    const store = new CountingStore(new MemStore());
    const dst = await Repository.init(store, OPTS, { masterKey: newMasterKey() });
    const r = await reencryptRepository(src, dst);
    expect(r.copied).toEqual(['b0', 'b1']);
    expect(r.packsBuilt).toBeGreaterThan(0);
    expect(r.indexObjects).toBe(2); // one per backup: its packs indexed before its manifest
    const fresh = await expectCopy(dst);
    const text = async (repo: Repository) => [...(await objects(repo)).values()].map((b) => Buffer.from(b).toString('latin1')).join('\n');
    expect(await text(src)).toContain('PLAINTEXT-MARKER'); // the control: the plain source shows it
    expect(await text(fresh)).not.toContain('PLAINTEXT-MARKER');
    const srcIds = new Set<string>();
    for (const f of (await src.loadManifest('b1')).files) for (let i = 0; i < chunkCount(f); i++) srcIds.add(toHex(chunkId(f, i)));
    for (const f of (await fresh.loadManifest('b1')).files) for (let i = 0; i < chunkCount(f); i++) expect(srcIds.has(toHex(chunkId(f, i)))).toBe(false);
    // cut by the target's secret gear table, not the source's: sizes as the target's own chunker makes them
    const a = trees.get('b1')!.find((f) => f.path === 'db/a')!.data;
    const sizes = (repo: Repository, m: Manifest) => {
      const f = m.files.find((x) => x.path === 'db/a')!;
      return Array.from({ length: chunkCount(f) }, (_, i) => repo.location(chunkId(f, i))!.rawLength);
    };
    const want = (gear?: Int32Array) => {
      const c = new FastCDC(OPTS.chunker, defaultScanner(gear));
      return [...c.push(new Uint8Array(a)), ...c.finish()].map((x) => x.length);
    };
    expect(sizes(fresh, await fresh.loadManifest('b1'))).toEqual(want(fresh.crypt!.gear));
    expect(sizes(src, await src.loadManifest('b1'))).toEqual(want());
    expect(want(fresh.crypt!.gear)).not.toEqual(want());
    const puts = store.puts;
    const again = await reencryptRepository(src, fresh);
    expect([again.copied, again.present, again.packsBuilt]).toEqual([[], ['b0', 'b1'], 0]);
    expect(store.puts - puts).toBeLessThanOrEqual(2); // its lock objects only
  });

  it('encrypted -> encrypted under another master key, and encrypted -> plain', async () => {
    const src = await source(true);
    const other = await Repository.init(new MemStore(), OPTS, { masterKey: newMasterKey() });
    expect(other.crypt!.keySet).not.toBe(src.crypt!.keySet);
    expect((await reencryptRepository(src, other)).copied).toEqual(['b0', 'b1']);
    await expectCopy(other);
    const plain = await Repository.init(new MemStore(), OPTS);
    expect((await reencryptRepository(other, plain, { ids: ['b1'] })).copied).toEqual(['b1']);
    const m = await (await Repository.open(plain.store)).loadManifest('b1');
    expect(Buffer.compare(await readBack(plain, m, 'db/marked'), Buffer.from(MARK.repeat(400)))).toBe(0);
  });

  it('interrupted: INTERRUPTED, no manifest; the packs it stored are indexed, so the rerun does not store them again', async () => {
    const src = await source(false);
    const key = newMasterKey(); // one key for both: the same gear table, so the same chunks
    const clean = await reencryptRepository(src, await Repository.init(new MemStore(), OPTS, { masterKey: key }));
    const dst = await Repository.init(new MemStore(), OPTS, { masterKey: key });
    const stop = new AbortController();
    const first = reencryptRepository(src, dst, { signal: stop.signal, onProgress: (p) => p.bytesRead > 50_000 && stop.abort() });
    await expect(first).rejects.toMatchObject({ code: 'INTERRUPTED' });
    expect(await dst.listBackupIds()).toEqual([]);
    const stored = new Set<string>();
    for await (const e of dst.store.list('data')) stored.add(e.key);
    expect(stored.size).toBeGreaterThan(0);
    const reopened = await Repository.open(dst.store, { masterKey: dst.crypt!.master });
    expect([...reopened.index.packSizes].length).toBe(stored.size); // every stored pack is indexed
    const indexed = reopened.index.size;
    expect(indexed).toBeGreaterThan(0);
    const rerun = await reencryptRepository(src, reopened);
    expect(rerun.copied).toEqual(['b0', 'b1']);
    expect(rerun.chunksSent).toBe(clean.chunksSent - indexed); // none stored twice
    await expectCopy(dst);
  });

  it('a damaged source chunk stops it: CORRUPT_PACK, and no manifest of that backup at the target', async () => {
    const src = await source(false);
    const store = src.store as MemStore;
    for await (const e of store.list('data')) {
      const bytes = new Uint8Array(await store.get(e.key));
      bytes[0] ^= 0xff; // the first blob of every pack
      await store.put(e.key, bytes);
    }
    const dst = await Repository.init(new MemStore(), OPTS, { masterKey: newMasterKey() });
    await expect(reencryptRepository(src, dst)).rejects.toMatchObject({ code: 'CORRUPT_PACK' });
    expect(await dst.listBackupIds()).toEqual([]);
  });
});
