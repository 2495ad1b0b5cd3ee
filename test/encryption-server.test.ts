/**
 * An encrypted repository behind a MatrixOne server backup (spec/encryption.md §10): the server's
 * plaintext staging folder is gone before the manifest is written; full and incremental backups,
 * restore, export, stats, delete with gc, and sync to a repository sharing the key all work sealed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../src/mo/client.js';
import { backupFromMatrixOne } from '../src/mo/ingest.js';
import { exportBackupLayout } from '../src/mo/export.js';
import { verifySidecar } from '../src/mo/layout.js';
import { Repository } from '../src/repo/repository.js';
import { repoStats } from '../src/repo/stats.js';
import { deleteBackups } from '../src/repo/delete.js';
import { syncRepository } from '../src/repo/sync.js';
import { verifyBackup } from '../src/backup/verify.js';
import { FsStore } from '../src/store/fs.js';
import type { PutOptions } from '../src/store/store.js';
import { WorkerPool } from '../src/workers/pool.js';
import type { MasterKey } from '../src/crypto/master.js';
import { startEmulator, type Emulator } from './emulator/index.js';

const KEY: MasterKey = { id: '5e55e55e55e55e55e55e55e55e55e55e', data: new Uint8Array(32).fill(0x31), ids: new Uint8Array(32).fill(0x32), chunker: new Uint8Array(32).fill(0x33) };

/** A folder store that records, at each manifest write, what the staging folder then held. */
class WatchedStore extends FsStore {
  stagingAtManifest: string[][] = [];
  override async put(key: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    if (key.startsWith('backups/')) {
      const held: string[] = [];
      for await (const e of this.list('staging')) held.push(e.key);
      this.stagingAtManifest.push(held);
    }
    return super.put(key, data, options);
  }
}

let work: string;
let emu: Emulator;
let pool: WorkerPool;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'mobr-enc-server-'));
  emu = await startEmulator({ home: join(work, 'emu'), objectSize: { min: 20_000, max: 40_000 } });
  pool = new WorkerPool(2);
}, 60_000);
afterAll(async () => {
  await emu.close();
  await pool.close();
  await rm(work, { recursive: true, force: true });
});

describe('encrypted repository: MatrixOne server backups', () => {
  it('staging is removed before the manifest; incremental, export, stats, delete + gc and sync work sealed', async () => {
    const c = await connect({ host: emu.host, port: emu.port, user: 'dump', password: '111' });
    await c.query('create database db1');
    await c.query('create table db1.t (id int primary key, v varchar(20))');
    await c.query("insert into db1.t values (1, 'a'), (2, 'b')");
    const store = new WatchedStore(join(work, 'repo'));
    const repo = await Repository.openOrInit(store, {}, { masterKey: KEY });
    const target = { backupDir: 'filesystem' as const, path: join(work, 'repo') };
    const conn = { host: emu.host, port: emu.port, user: 'dump', password: '111' };
    const full = await backupFromMatrixOne({ conn, repo, target, id: 'full1', type: 'full', pool });
    await c.query("insert into db1.t values (3, 'c')");
    const inc = await backupFromMatrixOne({ conn, repo, target, id: 'inc1', type: 'incremental', baseId: 'full1', pool });
    await c.close();
    expect(store.stagingAtManifest).toEqual([[], []]); // the server's plaintext copy is gone before each commit
    expect(await readdir(join(work, 'repo', 'staging')).catch(() => [])).toEqual([]);

    expect((await verifyBackup(repo, inc, { readData: true, pool })).ok).toBe(true);
    const out = join(work, 'export');
    await exportBackupLayout(repo, inc, out, { raw: true });
    verifySidecar(await readFile(join(out, 'mo_meta')), await readFile(join(out, 'mo_meta.sha256')), 'sha256', 'mo_meta');
    const stats = await repoStats(repo);
    expect(stats.backups.map((b) => b.id).sort()).toEqual(['full1', 'inc1']);

    // sync to an empty place: the config, packs, index objects and manifests go as they are
    const copy = new FsStore(join(work, 'copy'));
    const r = await syncRepository(repo, copy, { pool });
    expect(r.copied.sort()).toEqual(['full1', 'inc1']);
    const other = await Repository.open(copy, { masterKey: KEY });
    expect((await verifyBackup(other, await other.loadManifest('inc1'), { readData: true, pool })).ok).toBe(true);
    await Repository.init(new FsStore(join(work, 'plain')));
    await expect(syncRepository(repo, new FsStore(join(work, 'plain')), { pool })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/is not encrypted and the source is encrypted/) });

    // delete the full backup and collect: the incremental still restores every byte
    const del = await deleteBackups(repo, ['full1'], { safety: 'none' });
    expect(del.gc).toMatchObject({ bytesFreed: expect.any(Number) });
    const after = await Repository.open(new FsStore(join(work, 'repo')), { masterKey: KEY });
    expect(await after.listBackupIds()).toEqual(['inc1']);
    expect((await verifyBackup(after, await after.loadManifest('inc1'), { readData: true, pool })).ok).toBe(true);
  }, 120_000);
});
