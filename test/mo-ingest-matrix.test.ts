/**
 * Ingest against the emulator (written from MatrixOne's source, independent of src/) over the
 * matrix backend (DISK, DISK-V2) × server version (before v1.2, v1.2+) × target (filesystem, S3),
 * and v2.1, v3.0.x, v4.1.x (GC window rows with the GC meta's size) and v4.2.0 on a filesystem:
 * a full backup (and, from v1.2 on a filesystem target, an incremental after churn) is stored, `check` passes, and every
 * file comes back byte-exact: the bytes the server staged, unframed by the test's own reader.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { restoreBackup } from '../src/backup/restore.js';
import { verifyBackup } from '../src/backup/verify.js';
import { backupFromMatrixOne } from '../src/mo/ingest.js';
import type { Staging } from '../src/mo/staging.js';
import type { Manifest } from '../src/repo/manifest.js';
import { Repository } from '../src/repo/repository.js';
import type { Location, S3Credentials } from '../src/store/location.js';
import { openStore } from '../src/store/open.js';
import { WorkerPool } from '../src/workers/pool.js';
import { startEmulator, type Backend } from './emulator/index.js';
import { sql, unframeNative } from './helpers/mo-target.js';
import { startS3Server, type S3Server } from './helpers/s3server.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});
// One worker pool and one S3 server for every case (each case its own repository prefix):
// a pool's start from source is ~0.5 CPU-s, and a case proves nothing about either's start-up.
let pool: WorkerPool;
let s3: S3Server | undefined;
beforeAll(() => {
  pool = new WorkerPool(1);
});
afterAll(async () => {
  await pool.close();
  await s3?.stop();
});
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'mobr-matrix-'));
  cleanups.push(() => rm(d, { recursive: true, force: true }));
  return d;
}

async function walk(dir: string, pre = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const rel = pre ? `${pre}/${e.name}` : e.name;
    out.push(...(e.isDirectory() ? await walk(join(dir, e.name), rel) : [rel]));
  }
  return out;
}

/** The logical bytes of every staged file but the sidecars: framed ones (tae/, hakeeper/ with a 36-byte sidecar beside tae_list) unframed. */
async function capture(s: Staging, into: Map<string, Buffer>): Promise<void> {
  const keys = s.localDir ? await walk(s.localDir) : [...(await s.list()).keys()];
  const read = async (rel: string) => (s.localDir ? readFile(join(s.localDir, ...rel.split('/'))) : Buffer.from(await s.get(rel)));
  const framed = (await read('tae/tae_list.sha256')).length === 36;
  for (const rel of keys) {
    if (rel.endsWith('.sha256')) continue;
    const b = await read(rel);
    into.set(rel, framed && (rel.startsWith('tae/') || rel.startsWith('hakeeper/')) ? unframeNative(b) : b);
  }
}

async function assertExact(repo: Repository, m: Manifest, logical: Map<string, Buffer>, pool: WorkerPool): Promise<void> {
  const v = await verifyBackup(repo, m, { readData: true, pool });
  expect(v.damaged).toEqual([]);
  const dest = await tmp();
  await restoreBackup(repo, m, dest, { pool });
  const listed = new Set(m.files.map((f) => f.path));
  for (const [rel, want] of logical) {
    expect(listed.has(rel), rel).toBe(true);
    expect((await readFile(join(dest, ...rel.split('/')))).equals(want), rel).toBe(true);
  }
}

const cases: [Backend, string, 'filesystem' | 's3'][] = [];
for (const backend of ['DISK', 'DISK-V2'] as Backend[]) for (const version of ['1.1.3', '1.2.0']) for (const where of ['filesystem', 's3'] as const) cases.push([backend, version, where]);
// v2.0.1-v4.1.x list GC window objects with the GC meta's size; v4.2.0 with their own
for (const version of ['2.1.0', '3.0.18', '4.1.4']) cases.push(['DISK', version, 'filesystem']);
cases.push(['DISK-V2', '4.2.0', 'filesystem']);
const gcRowsMisSized = (v: string) => ['2.1.0', '3.0.18', '4.1.4'].includes(v);

describe('ingest matrix against the emulator', () => {
  for (const [backend, version, where] of cases) {
    it(`${backend} × v${version} × ${where}`, { timeout: 60_000 }, async () => {
      const emu = await startEmulator({ home: await tmp(), objectSize: { min: 3000, max: 7000 }, backend, serverVersion: version, checksumless: true });
      cleanups.push(() => emu.close());
      let target: Location;
      let credentials: S3Credentials | undefined;
      if (where === 's3') {
        s3 ??= await startS3Server();
        target = { backupDir: 's3', endpoint: s3.endpoint, bucket: s3.bucket, filepath: `repo-${backend}-${version}`, isMinio: true };
        credentials = { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
      } else {
        target = { backupDir: 'filesystem', path: await tmp() };
      }
      const repo = await Repository.openOrInit(openStore(target, { credentials }));
      cleanups.push(() => repo.close());
      const conn = { host: emu.host, port: emu.port, user: 'dump', password: '111' };
      await sql(emu, 'create database db1', 'create table db1.t (a int)', 'insert into db1.t values (1), (2)');
      await emu.simulateDay({ newObjects: 2, mergeCount: 2, gc: true });

      const full = new Map<string, Buffer>();
      const m1 = await backupFromMatrixOne({ conn, repo, target, credentials, id: 'full', type: 'full', pool, afterServerBackup: (s) => capture(s, full) });
      expect(full.size).toBeGreaterThan(5);
      expect(m1.extra!.moListFields).toBe(version === '1.1.3' ? 3 : 5);
      if (where === 's3') expect(m1.extra!.moFraming).toBe('raw');
      expect(m1.backupTs === undefined).toBe(version === '1.1.3');
      await assertExact(repo, m1, full, pool);
      const misSized = m1.files.filter((f) => f.meta?.listedSize !== undefined);
      expect(misSized.length > 0, 'GC window objects listed with the GC meta\'s size').toBe(gcRowsMisSized(version));
      for (const f of misSized) expect(Number(f.meta!.listedSize)).not.toBe(f.size);
      // before v1.2 there is no incremental; on S3 (s3rver is slow) the incremental is left to the filesystem cases
      if (version === '1.1.3' || where === 's3') return;

      await emu.simulateDay({ newObjects: 1, mergeCount: 2 });
      const inc = new Map<string, Buffer>();
      const m2 = await backupFromMatrixOne({ conn, repo, target, credentials, id: 'inc', type: 'incremental', baseId: 'full', pool, afterServerBackup: (s) => capture(s, inc) });
      expect(m2.extra!.moType).toBe('incremental');
      // files the server did not copy come from the full backup
      for (const f of m2.files) if (!inc.has(f.path) && full.has(f.path)) inc.set(f.path, full.get(f.path)!);
      expect(m2.files.map((f) => f.path).sort()).toEqual([...inc.keys()].sort());
      await assertExact(repo, m2, inc, pool);
    });
  }
});
