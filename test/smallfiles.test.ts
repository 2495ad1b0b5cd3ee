/**
 * Many small files: backup, restore and check take them many to a worker task; check reads each
 * pack once; each file's chunks lie together in packs; damage is still told per file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FsStore } from '../src/store/fs.js';
import { Repository } from '../src/repo/repository.js';
import { backupTree } from '../src/backup/backup.js';
import { restoreBackup } from '../src/backup/restore.js';
import { verifyBackup } from '../src/backup/verify.js';
import { planRuns } from '../src/backup/reader.js';
import { batchFiles } from '../src/backup/batch.js';
import { chunkCount, chunkId } from '../src/repo/manifest.js';
import { WorkerPool } from '../src/workers/pool.js';
import { CountingStore } from './helpers/counting-store.js';
import { pseudoRandom, tempDir, writeTree } from './helpers/tree.js';

/** Counts whole-object and ranged reads of packs. */
class ReadCountingStore extends CountingStore<FsStore> {
  packGets: string[] = [];
  packRanges = 0;
  override get(k: string): Promise<Uint8Array> {
    if (k.startsWith('data/')) this.packGets.push(k);
    return super.get(k);
  }
  override getRange(k: string, o: number, l: number): Promise<Uint8Array> {
    if (k.startsWith('data/')) this.packRanges++;
    return super.getRange(k, o, l);
  }
}

let pool: WorkerPool;
let work: string;
const N = 1500;
// tiny files (some identical, some empty) in folders, a few mid-sized ones, two big ones
const files = [
  ...Array.from({ length: N }, (_, i) => ({ path: `d${i % 7}/f${i}`, data: i % 50 === 0 ? new Uint8Array(0) : i % 10 === 0 ? new TextEncoder().encode('same\n') : pseudoRandom(i, 1 + (i % 700)), mode: 0o640 })),
  ...Array.from({ length: 5 }, (_, i) => ({ path: `mid/m${i}`, data: pseudoRandom(9000 + i, 40_000 + i * 999, i % 2 === 0), mode: 0o600 })),
  { path: 'big/a', data: pseudoRandom(1, 3 * 1024 * 1024 + 17), mode: 0o644 },
  { path: 'big/b', data: pseudoRandom(2, 3 * 1024 * 1024 + 99), mode: 0o644 },
];
const SMALL = { chunker: { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 }, packSize: 512 * 1024 };

beforeAll(async () => {
  pool = new WorkerPool(2);
  work = await tempDir();
  await writeTree(path.join(work, 'src'), files);
});
afterAll(async () => {
  await pool.close();
  await fsp.rm(work, { recursive: true, force: true });
});

describe('many small files', () => {
  it('groups small files into units and keeps big ones alone, in order', () => {
    const sizes = [10, 10, 9 * 1024 * 1024, 10, ...Array.from({ length: 600 }, () => 5)];
    const units = batchFiles(sizes.map((s, i) => ({ i, s })), (x) => x.s);
    expect(units.flat().map((x) => x.i)).toEqual(sizes.map((_, i) => i));
    expect(units[1]).toEqual([{ i: 2, s: 9 * 1024 * 1024 }]);
    expect(units.every((u) => u.length <= 512)).toBe(true);
    expect(units.length).toBe(4); // [0,1] [2] [3 + 511 of the fives] [the other 89]
  });

  it('back up, check (each pack read once, whole) and restore byte-identical', async () => {
    const store = new ReadCountingStore(new FsStore(path.join(work, 'repo')));
    const repo = await Repository.init(store, SMALL);
    const m = await backupTree(repo, path.join(work, 'src'), { id: 'b1', pool });
    expect(m.files.filter((f) => f.kind === 'file').length).toBe(files.length);

    // each file's chunks lie back to back in its packs: one ranged read per pack it touches
    for (const f of m.files) {
      if (f.kind !== 'file' || chunkCount(f) === 0) continue;
      const packs = new Set(Array.from({ length: chunkCount(f) }, (_, i) => repo.location(chunkId(f, i))!.pack));
      expect(planRuns(repo, f).length, f.path).toBe(packs.size);
    }

    const packsUsed = new Set(m.files.flatMap((f) => (f.kind === 'file' ? Array.from({ length: chunkCount(f) }, (_, i) => repo.location(chunkId(f, i))!.pack) : [])));
    store.packGets = [];
    store.packRanges = 0;
    const seen: string[] = [];
    const r = await verifyBackup(repo, m, { readData: true, pool, onFile: (f) => seen.push(f.path) });
    expect(r.ok).toBe(true);
    expect(r.bytes).toBe(files.reduce((s, f) => s + f.data.length, 0));
    expect(seen).toEqual(m.files.filter((f) => f.kind === 'file').map((f) => f.path)); // manifest order
    expect(store.packRanges).toBe(0);
    expect(new Set(store.packGets).size).toBe(packsUsed.size);
    expect(store.packGets.length).toBe(packsUsed.size); // no pack read twice
    expect(r.packReads).toBe(packsUsed.size);

    const out = path.join(work, 'out');
    const p = await restoreBackup(repo, m, out, { pool });
    expect(p.files).toBe(files.length);
    for (const f of files) {
      const got = await fsp.readFile(path.join(out, f.path));
      expect(Buffer.compare(got, f.data), f.path).toBe(0);
      expect((await fsp.stat(path.join(out, f.path))).mode & 0o777).toBe(f.mode);
    }
    // no temporary file left anywhere
    const all = await fsp.readdir(out, { recursive: true });
    expect(all.filter((n) => String(n).includes('.mobr-partial-'))).toEqual([]);
  }, 120_000);

  it('a damaged chunk among many small files is blamed on its file alone; restore names it, restores the rest and leaves no partial file', async () => {
    const repoDir = path.join(work, 'repo');
    const repo = await Repository.open(new FsStore(repoDir));
    const m = await repo.loadManifest('b1');
    const victim = m.files.find((f) => f.path === 'd0/f1001')!;
    const loc = repo.location(chunkId(victim, 0))!;
    const target = (await findFile(repoDir, loc.pack))!;
    const bytes = await fsp.readFile(target);
    bytes[loc.offset + Math.floor(loc.length / 2)] ^= 0x40;
    await fsp.chmod(target, 0o644).catch(() => undefined);
    await fsp.writeFile(target, bytes);
    const r = await verifyBackup(await Repository.open(new FsStore(repoDir)), m, { readData: true, pool });
    // files sharing that chunk (identical content) are damaged too; nothing else is
    const sameChunk = m.files.filter((f) => f.kind === 'file' && chunkCount(f) > 0 && Array.from({ length: chunkCount(f) }, (_, i) => Buffer.from(chunkId(f, i)).equals(Buffer.from(chunkId(victim, 0)))).some(Boolean));
    expect(r.damaged.map((d) => d.path).sort()).toEqual(sameChunk.map((f) => f.path).sort());
    expect(r.damaged[0].problem).toMatch(/damaged/);
    const out = path.join(work, 'out-bad');
    const e = await restoreBackup(await Repository.open(new FsStore(repoDir)), m, out, { pool }).then(() => undefined, (x: Error) => x);
    // the restore goes on past the damaged file and names it at the end
    expect(e?.message).toMatch(/^restore: 1 of \d+ entries failed, the others were restored: d0\/f1001 \(chunk [0-9a-f]{16} in pack [0-9a-f]{16}: .*\(damaged\)\)$/);
    const all = await fsp.readdir(out, { recursive: true });
    expect(all.filter((n) => String(n).includes('.mobr-partial-'))).toEqual([]);
    const restored = (await fsp.readdir(out, { recursive: true, withFileTypes: true })).filter((d) => d.isFile());
    expect(restored.length).toBe(files.length - 1);
    expect(Buffer.compare(await fsp.readFile(path.join(out, 'd1/f1')), files[1].data)).toBe(0);
    expect(all).not.toContain('d0/f1001');
  }, 120_000);
});

async function findFile(root: string, name: string): Promise<string | undefined> {
  for (const rel of await fsp.readdir(root, { recursive: true })) if (path.basename(String(rel)) === name) return path.join(root, String(rel));
  return undefined;
}

describe('startup', () => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const moBr = path.join(here, '..', 'mo_br');
  // a loader hook that prints every package an import resolves to
  const hook = `data:text/javascript,${encodeURIComponent(`
    import { register } from 'node:module';
    register('data:text/javascript,' + encodeURIComponent("export async function resolve(s, c, n) { const r = await n(s, c); const m = /node_modules\\\\/((@[^/]+\\\\/)?[^/]+)/.exec(r.url); if (m) process.stderr.write('PKG ' + m[1] + '\\\\n'); return r; }"));
  `)}`;
  const packages = (args: string[]) => {
    const r = spawnSync(process.execPath, ['--import', hook, moBr, ...args], { encoding: 'utf8', timeout: 60_000 });
    return { status: r.status, stdout: r.stdout, pkgs: new Set([...r.stderr.matchAll(/^PKG (.+)$/gm)].map((x) => x[1])) };
  };

  it('--version loads no command module; list on a folder never loads the AWS SDK', async () => {
    const v = packages(['--version']);
    expect(v.status).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(v.pkgs.has('commander')).toBe(true); // the hook works
    for (const p of ['@aws-sdk/client-s3', 'mysql2', 'piscina', '@bokuweb/zstd-wasm']) expect(v.pkgs.has(p), p).toBe(false);
    const l = packages(['list', '--backup_dir', 'filesystem', '--backup_path', path.join(work, 'repo')]);
    expect(l.status).toBe(0);
    expect(l.stdout).toContain('b1');
    expect(l.pkgs.has('@msgpack/msgpack')).toBe(true);
    expect([...l.pkgs].filter((p) => p.startsWith('@aws-sdk'))).toEqual([]);
    expect(l.pkgs.has('hash-wasm')).toBe(false); // the native BLAKE3 loads; the fallback does not
  }, 60_000);
});
