/**
 * Encrypted repositories (spec/encryption.md): the whole data path round-trips under a master key,
 * and a repository opened without it, or with another, is refused in one line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { FsStore } from '../src/store/fs.js';
import { Repository } from '../src/repo/repository.js';
import { backupTree } from '../src/backup/backup.js';
import { restoreBackup } from '../src/backup/restore.js';
import { verifyBackup } from '../src/backup/verify.js';
import { WorkerPool } from '../src/workers/pool.js';
import { deleteBackups } from '../src/repo/delete.js';
import type { MasterKey } from '../src/crypto/master.js';
import { pseudoRandom, readTree, tempDir } from './helpers/tree.js';

export const KEY: MasterKey = { id: '00112233445566778899aabbccddeeff', data: new Uint8Array(32).fill(1), ids: new Uint8Array(32).fill(2), chunker: new Uint8Array(32).fill(3) };
const SMALL = { chunker: { min: 1024, avg: 4096, max: 16384 }, packSize: 64 * 1024 };

let pool: WorkerPool;
beforeAll(() => {
  pool = new WorkerPool(2);
});
afterAll(async () => {
  await pool.close();
});

async function sampleTree(dir: string): Promise<void> {
  await fsp.mkdir(path.join(dir, 'tae'), { recursive: true });
  await fsp.writeFile(path.join(dir, 'tae', 'big.bin'), pseudoRandom(7, 200_000));
  await fsp.writeFile(path.join(dir, 'tae', 'text.txt'), Buffer.from('hello encrypted world\n'.repeat(3000)));
  await fsp.writeFile(path.join(dir, 'small'), Buffer.from('tiny'));
}

describe('encrypted repository: round trip', () => {
  it('backs up, restores byte-exact and checks under the key; refuses without it', async () => {
    const work = await tempDir();
    const src = path.join(work, 'src');
    await sampleTree(src);
    const repo = await Repository.init(new FsStore(path.join(work, 'repo')), SMALL, { masterKey: KEY });
    expect(repo.config.encryption).toBe('aes-256-gcm');
    await backupTree(repo, src, { id: 'b1', pool });
    const repo2 = await Repository.open(new FsStore(path.join(work, 'repo')), { masterKey: async () => KEY });
    const m = await repo2.loadManifest('b1');
    const out = path.join(work, 'out');
    await restoreBackup(repo2, m, out, { pool });
    const [a, b] = [await readTree(src), await readTree(out)];
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [k, v] of a) expect(b.get(k)!.data.equals(v.data), k).toBe(true);
    const r = await verifyBackup(repo2, m, { readData: true, pool });
    expect(r.ok).toBe(true);
    await expect(Repository.open(new FsStore(path.join(work, 'repo')))).rejects.toMatchObject({ code: 'AUTH_FAILED', message: expect.stringMatching(/encrypted repository: give its password/) });
    await expect(Repository.open(new FsStore(path.join(work, 'repo')), { masterKey: { ...KEY, id: 'ffeeddccbbaa99887766554433221100' } })).rejects.toMatchObject({ code: 'AUTH_FAILED' });
  });

  it('gc on an encrypted repository deletes and repacks sealed packs; what is left checks and restores', async () => {
    const work = await tempDir();
    const src = path.join(work, 'src');
    await fsp.mkdir(src);
    await fsp.writeFile(path.join(src, 'gone.bin'), pseudoRandom(21, 150_000));
    await fsp.writeFile(path.join(src, 'kept.bin'), pseudoRandom(22, 150_000));
    const repo = await Repository.init(new FsStore(path.join(work, 'repo')), SMALL, { masterKey: KEY });
    await backupTree(repo, src, { id: 'b1', pool });
    await fsp.rm(path.join(src, 'gone.bin'));
    await backupTree(repo, src, { id: 'b2', pool });
    const del = await deleteBackups(repo, ['b1'], { safety: 'none', repackThreshold: 0.99 });
    const r = del.gc as { packsDeleted: number; packsRepacked: number; bytesFreed: number };
    expect(r.packsDeleted + r.packsRepacked).toBeGreaterThan(0);
    expect(r.bytesFreed).toBeGreaterThan(100_000);
    const again = await Repository.open(new FsStore(path.join(work, 'repo')), { masterKey: KEY });
    const m = await again.loadManifest('b2');
    expect((await verifyBackup(again, m, { readData: true, pool })).ok).toBe(true);
    const out = path.join(work, 'out');
    await restoreBackup(again, m, out, { pool });
    expect((await fsp.readFile(path.join(out, 'kept.bin'))).equals(Buffer.from(pseudoRandom(22, 150_000)))).toBe(true);
  });
});
