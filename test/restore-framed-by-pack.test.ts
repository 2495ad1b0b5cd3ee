/**
 * Files written in MatrixOne's LocalFS framing (a DISK cluster's every TAE object) are restored by
 * pack when they are one chunk (issue #22): the worker frames the checked plain chunk and writes
 * it whole, so a server backup of small objects reads each pack about once instead of once a
 * file. A file of several chunks is still framed as a stream. The bytes on disk are the same
 * either way (frame() of the plain bytes), and size and SHA-256 are checked on the plain bytes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { FsStore } from '../src/store/fs.js';
import { Repository } from '../src/repo/repository.js';
import { backupTree } from '../src/backup/backup.js';
import { restoreBackup, type Encoding } from '../src/backup/restore.js';
import { chunkCount, chunkId } from '../src/repo/manifest.js';
import { frame, frameStream } from '../src/mo/framing.js';
import { WorkerPool } from '../src/workers/pool.js';
import { CountingStore } from './helpers/counting-store.js';
import type { RangeOptions } from '../src/store/store.js';
import { pseudoRandom, tempDir, writeTree } from './helpers/tree.js';

class RangeCountingStore extends CountingStore<FsStore> {
  ranges = 0;
  override getRange(k: string, o: number, l: number, opts?: RangeOptions): Promise<Uint8Array> {
    if (k.startsWith('data/')) this.ranges++;
    return super.getRange(k, o, l, opts);
  }
}

const LOCALFS: Encoding = Object.assign((plain: AsyncIterable<Uint8Array>) => frameStream(plain), { whole: 'localfs' as const });
const SMALL = { chunker: { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 }, packSize: 512 * 1024 };

const files = [
  // one-chunk objects (under the chunker's minimum), some past a 2044-byte frame block
  ...Array.from({ length: 40 }, (_, i) => ({ path: `shared/obj${i}`, data: pseudoRandom(i + 1, 10 + ((i * 997) % 9000)), mode: 0o644 })),
  { path: 'shared/empty', data: new Uint8Array(0), mode: 0o644 },
  { path: 'shared/exact', data: pseudoRandom(77, 2044), mode: 0o644 },
  // several chunks: framed as a stream
  { path: 'shared/big', data: pseudoRandom(99, 700 * 1024), mode: 0o640 },
  // not framed
  { path: 'etc/plain.toml', data: pseudoRandom(5, 300), mode: 0o600 },
];

describe.each([
  ['in this thread', true],
  ['in worker threads', false],
])('framed files restored by pack, %s', (_name, inline) => {
  let work: string;
  let pool: WorkerPool;
  beforeAll(async () => {
    pool = new WorkerPool(2, { inline });
    work = await tempDir();
    await writeTree(path.join(work, 'src'), files);
    const repo = await Repository.init(new FsStore(path.join(work, 'repo')), SMALL);
    await backupTree(repo, path.join(work, 'src'), { id: 'b1', pool: new WorkerPool(1, { inline: true }) });
    await repo.close();
  });
  afterAll(async () => {
    await pool.close();
    await fsp.rm(work, { recursive: true, force: true });
  });

  it('frames one-chunk files in the pack writer (no read a file) and streams the others; every file is frame(plain)', async () => {
    const store = new RangeCountingStore(new FsStore(path.join(work, 'repo')));
    const repo = await Repository.open(store);
    const m = await repo.loadManifest('b1');
    const oneChunk = m.files.filter((f) => f.kind === 'file' && f.path.startsWith('shared/') && chunkCount(f) === 1).length;
    const big = m.files.find((f) => f.path === 'shared/big')!;
    expect(oneChunk, 'the backup has one-chunk framed files').toBe(41);
    expect(chunkCount(big), 'and one of several chunks').toBeGreaterThan(2);
    const out = path.join(work, `out-${inline}`);
    const p = await restoreBackup(repo, m, out, { pool, encode: (f) => (f.path.startsWith('shared/') ? LOCALFS : undefined) });
    expect(p.files).toBe(files.length);
    expect(p.bytes, 'progress counts plain bytes').toBe(files.reduce((s, f) => s + f.data.length, 0));
    for (const f of files) {
      const want = f.path.startsWith('shared/') ? frame(f.data) : Buffer.from(f.data);
      const at = path.join(out, f.path);
      expect(Buffer.compare(await fsp.readFile(at), want), f.path).toBe(0);
      expect((await fsp.stat(at)).mode & 0o777, f.path).toBe(f.mode);
    }
    expect(await fsp.readdir(path.join(out, 'shared')), 'no temporary file is left').toHaveLength(files.length - 1);
    // streamed one by one, each one-chunk file would be a ranged read of its own
    const packs = new Set(m.files.flatMap((f) => Array.from({ length: chunkCount(f) }, (_, i) => repo.location(chunkId(f, i))!.pack))).size;
    expect(store.ranges, 'ranged reads: about one a pack, and one a chunk of the streamed file').toBeLessThanOrEqual(2 * packs + chunkCount(big));
    expect(store.ranges).toBeLessThan(oneChunk);
    await repo.close();
  });
});
