/**
 * End to end through the MatrixOne emulator at the library level: mo_br's two worked examples
 * (full, and full + incremental: back up, change the data, stop, remove mo-data, restore, restart,
 * see the backed-up state), failures that must leave the repository untouched, a tampered staging
 * file caught by the server's checksum, and a repository (and staging) in S3.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type MoClient } from '../src/mo/client.js';
import { backupFromMatrixOne } from '../src/mo/ingest.js';
import { restoreMatrixOne } from '../src/mo/restore.js';
import { exportBackupLayout } from '../src/mo/export.js';
import { parseTaeList, verifySidecar } from '../src/mo/layout.js';
import { Repository } from '../src/repo/repository.js';
import { FsStore } from '../src/store/fs.js';
import type { Location } from '../src/store/location.js';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/store.js';
import { startEmulator, type Emulator } from './emulator/index.js';
import { startS3Server } from './helpers/s3server.js';
import { workersStartedBy } from './helpers/workers.js';


const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'mobr-moe2e-'));
  cleanups.push(() => rm(d, { recursive: true, force: true }));
  return d;
}

async function start(home: string): Promise<Emulator> {
  const emu = await startEmulator({ home, objectSize: { min: 20_000, max: 40_000 } });
  cleanups.push(() => emu.close());
  return emu;
}

async function client(emu: Emulator): Promise<MoClient> {
  const c = await connect({ host: emu.host, port: emu.port, user: 'dump', password: '111' });
  cleanups.push(() => c.close());
  return c;
}

const conn = (emu: Emulator, password = '111') => ({ host: emu.host, port: emu.port, user: 'dump', password });
const userDbs = async (c: MoClient) => (await c.query('show databases')).map((r) => r.Database as string).filter((d) => /^db\d$/.test(d));

async function keys(store: Store): Promise<string[]> {
  const out: string[] = [];
  for await (const e of store.list('')) out.push(e.key);
  return out.sort();
}

async function fsRepo(): Promise<{ repo: Repository; target: Location; dir: string }> {
  const dir = await tmp();
  const repo = await Repository.openOrInit(new FsStore(dir));
  cleanups.push(() => repo.close());
  return { repo, target: { backupDir: 'filesystem', path: dir }, dir };
}

/** Stops the emulator, removes mo-data, restores `m`, restarts on the restored home. */
async function restoreAndRestart(emu: Emulator, repo: Repository, m: Awaited<ReturnType<typeof backupFromMatrixOne>>): Promise<{ emu: Emulator; lines: string[] }> {
  await emu.close();
  await rm(join(emu.home, 'mo-data'), { recursive: true, force: true });
  const lines: string[] = [];
  const r = await restoreMatrixOne(repo, m, emu.home, {
    onLayout: (l) => lines.push(`TaePath ${l.taePath}`),
    onFile: (_f, s) => s.tae && lines.push(`${s.from} => ${s.to}`),
  });
  expect(r.taeFiles).toBe(m.files.filter((f) => f.path.startsWith('tae/') && f.path !== 'tae/tae_list' && f.path !== 'tae/tae_sum').length);
  return { emu: await start(emu.home), lines };
}

describe('backup of a running MatrixOne, restore into mo-data (mo_br examples)', () => {
  it('example 1: full backup, drop db1 and create db3, restore: db1 and db2 are back, db3 is gone', async () => {
    const emu = await start(await tmp());
    const c = await client(emu);
    await c.query('create database db1');
    await c.query('create database db2');
    const { repo, target, dir } = await fsRepo();
    // a small server backup reads its staged files in this thread: it starts no worker
    const { started, value: m } = await workersStartedBy(() => backupFromMatrixOne({ conn: conn(emu), repo, target, id: 'full1', type: 'full' }));
    expect(started, 'worker threads started').toBe(0);
    expect(m.backupTs).toMatch(/^\d+-\d+$/);
    expect(m.source).toMatchObject({ kind: 'matrixone' });
    const paths = m.files.map((f) => f.path);
    for (const p of ['mo_meta', 'tae/tae_list', 'tae/tae_sum', 'hakeeper/hk_data']) expect(paths).toContain(p);
    expect(paths.some((p) => p.startsWith('config/tn.toml_'))).toBe(true);
    expect(paths.some((p) => p.startsWith('tae/ckp/meta_'))).toBe(true);
    expect(paths.some((p) => /\.(sha256|md5)$/.test(p))).toBe(false);
    expect(m.files.find((f) => f.path === 'mo_meta')!.meta).toMatchObject({ sidecar: 'sha256' });
    await expect(stat(join(dir, 'staging', 'full1'))).rejects.toMatchObject({ code: 'ENOENT' });

    await c.query('drop database db1');
    await c.query('create database db3');
    expect(await userDbs(c)).toEqual(['db2', 'db3']);
    await c.close();
    const { emu: emu2, lines } = await restoreAndRestart(emu, repo, m);
    expect(lines[0]).toBe('TaePath ./mo-data/shared');
    expect(lines.slice(1).every((l) => / => mo-data\/shared\//.test(l))).toBe(true);
    expect(await userDbs(await client(emu2))).toEqual(['db1', 'db2']);
    expect(await stat(join(emu.home, 'mo-data', 'local', 'hk_data'))).toBeTruthy();

    // the backup folder as MatrixOne wrote it, sidecars re-emitted, checks out
    const out = await tmp();
    await exportBackupLayout(repo, m, out, { raw: true }); // the emulator's cluster is DISK-V2
    for (const f of ['mo_meta', 'tae/tae_list', 'tae/tae_sum', 'hakeeper/hk_data']) {
      verifySidecar(await readFile(join(out, f)), await readFile(join(out, `${f}.sha256`)), 'sha256', f);
    }
    expect(parseTaeList(await readFile(join(out, 'tae/tae_list'))).length).toBeGreaterThan(0);
  });

  it('example 2: full + incremental after inserts; restore of the incremental has every row; a later full reuses unchanged objects', async () => {
    const emu = await start(await tmp());
    const c = await client(emu);
    await c.query('create database db1');
    await c.query('create database db2');
    await c.query('create table db1.t (id int primary key, v varchar(20))');
    await c.query("insert into db1.t values (1, 'a'), (2, 'b')");
    const { repo, target } = await fsRepo();
    const full = await backupFromMatrixOne({ conn: conn(emu), repo, target, id: 'full2', type: 'full' });
    for (let i = 3; i < 8; i++) await c.query(`insert into db1.t values (${i}, 'x${i}')`);
    const inc = await backupFromMatrixOne({ conn: conn(emu), repo, target, id: 'inc2', type: 'incremental', baseId: 'full2' });
    expect(inc.type).toBe('incremental');
    expect(inc.baseId).toBe('full2');
    expect(BigInt(inc.backupTs!.split('-')[0]!)).toBeGreaterThan(BigInt(full.backupTs!.split('-')[0]!));
    expect(inc.extra?.carriedFiles).toBeGreaterThan(0); // objects MatrixOne did not copy again
    // self-contained: every object of the full backup the server still lists is in the incremental
    // (objects the server wrote only into the full backup, its rewrites, are not)
    const listed = new Set(emu.tree.entries.map((e) => `tae/${e.name}`));
    const kept = full.files.filter((x) => listed.has(x.path));
    expect(kept.length).toBeGreaterThan(0);
    for (const f of kept) expect(inc.files.map((x) => x.path)).toContain(f.path);
    expect(inc.files.length).toBeGreaterThan(full.files.length);

    // a full backup now re-reads only what changed (checkpoint/GC metas and written files)
    const again = await backupFromMatrixOne({ conn: conn(emu), repo, target, id: 'full3', type: 'full' });
    const objects = again.files.filter((x) => /^tae\/[^/]+_\d{5}$/.test(x.path)).length;
    expect(again.extra?.reusedFiles).toBeGreaterThanOrEqual(objects);
    expect(again.extra?.readBytes as number).toBeLessThan((again.extra?.stagedBytes as number) / 2);

    const want = await c.query('select count(*) from db1.t');
    expect(want).toEqual([{ 'count(*)': 7 }]);
    await c.query('drop database db1');
    await c.query('create database db3');
    await c.close();
    const { emu: emu2 } = await restoreAndRestart(emu, repo, inc);
    const c2 = await client(emu2);
    expect(await userDbs(c2)).toEqual(['db1', 'db2']);
    expect(await c2.query('select count(*) from db1.t')).toEqual(want);
  });
});

describe('server backup failures leave the repository as it was', () => {
  it('wrong password and an unreachable server: one-line errors, nothing written', async () => {
    const emu = await start(await tmp());
    const { repo, target } = await fsRepo();
    const before = await keys(repo.store);
    const e = await backupFromMatrixOne({ conn: conn(emu, 'wrong-pw'), repo, target, id: 'x1', type: 'full' }).catch((x) => x);
    expect(e.code).toBe('AUTH_FAILED');
    expect(e.message).not.toMatch(/\n|wrong-pw/);
    const port = emu.port;
    await emu.close();
    const e2 = await backupFromMatrixOne({ conn: { host: '127.0.0.1', port, user: 'dump', password: '111' }, repo, target, id: 'x2', type: 'full' }).catch((x) => x);
    expect(e2.code).toBe('UNREACHABLE');
    expect(e2.message).not.toMatch(/\n/);
    expect(await keys(repo.store)).toEqual(before);
  });

  it('a staged file that does not match the server checksum: CORRUPT naming it, no manifest, staging removed', async () => {
    const emu = await start(await tmp());
    const c = await client(emu);
    await c.query('create database db1');
    const { repo, target, dir } = await fsRepo();
    let victim = '';
    const e = await backupFromMatrixOne({
      conn: conn(emu), repo, target, id: 'bad1', type: 'full',
      afterServerBackup: async (s) => {
        const list = parseTaeList(await s.get('tae/tae_list'));
        victim = `tae/${list.find((r) => r.needCopy && /_\d{5}$/.test(r.path))!.path}`;
        const p = join(s.localDir!, victim);
        const b = await readFile(p);
        b[b.length - 1] ^= 0xff;
        await writeFile(p, b);
      },
    }).catch((x) => x);
    expect(e.code).toBe('CORRUPT');
    expect(e.message).toContain(victim);
    expect(e.message).not.toMatch(/\n/);
    expect(await repo.listBackupIds()).toEqual([]);
    expect(await readdir(dir)).not.toContain('staging');

    // a damaged sidecar-checked file too
    const e2 = await backupFromMatrixOne({
      conn: conn(emu), repo, target, id: 'bad2', type: 'full',
      afterServerBackup: async (s) => writeFile(join(s.localDir!, 'mo_meta'), 'version,0823,\n'),
    }).catch((x) => x);
    expect(e2.code).toBe('CORRUPT');
    expect(e2.message).toMatch(/^mo_meta: sha256 /);
    expect(await repo.listBackupIds()).toEqual([]);

    // an incremental whose base (and every other backup) lacks a file MatrixOne skipped: clear error, nothing kept
    await backupFromMatrixOne({ conn: conn(emu), repo, target, id: 'ok1', type: 'full' });
    const base = await repo.loadManifest('ok1');
    const obj = base.files.find((f) => /^tae\/[^/]+_\d{5}$/.test(f.path))!;
    await repo.saveManifest({ ...base, id: 'thin', files: base.files.filter((f) => f !== obj) });
    await repo.deleteManifest('ok1');
    const e3 = await backupFromMatrixOne({ conn: conn(emu), repo, target, id: 'inc-bad', type: 'incremental', baseId: 'thin' }).catch((x) => x);
    expect(e3.code).toBe('NOT_FOUND');
    expect(e3.message).toContain(obj.path);
    expect(e3.message).toMatch(/take a full backup into a fresh target$/);
    expect((await repo.listBackupIds()).sort()).toEqual(['thin']);
    expect(await readdir(dir)).not.toContain('staging');

    // a leftover staging folder under the same id is neither mixed in nor removed
    await mkdir(join(dir, 'staging', 'left'), { recursive: true });
    await writeFile(join(dir, 'staging', 'left', 'mo_meta'), 'x');
    const e4 = await backupFromMatrixOne({ conn: conn(emu), repo, target, id: 'left', type: 'full' }).catch((x) => x);
    expect(e4.code).toBe('REPO_EXISTS');
    expect((await keys(repo.store)).filter((k) => k.startsWith('locks/'))).toEqual([]); // shared locks released
    expect(await readFile(join(dir, 'staging', 'left', 'mo_meta'), 'utf8')).toBe('x');
  });
});

describe('repository in S3', () => {
  it('the server stages into the same bucket; backup, restore and staging cleanup work there', async () => {
    const s3 = await startS3Server();
    cleanups.push(() => s3.stop());
    const spec: Location = { backupDir: 's3', endpoint: s3.endpoint, bucket: s3.bucket, filepath: 'mo/repo', isMinio: true };
    const credentials = { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
    const repo = await Repository.openOrInit(openStore(spec, { credentials }));
    cleanups.push(() => repo.close());
    const emu = await start(await tmp());
    const c = await client(emu);
    await c.query('create database db1');
    await c.query('create database db2');
    const m = await backupFromMatrixOne({ conn: conn(emu), repo, target: spec, credentials, id: 's3full', type: 'full' });
    expect((await keys(repo.store)).filter((k) => k.startsWith('staging/'))).toEqual([]);
    await c.query('drop database db1');
    await c.query('create database db3');
    await c.close();
    const { emu: emu2 } = await restoreAndRestart(emu, repo, m);
    expect(await userDbs(await client(emu2))).toEqual(['db1', 'db2']);
  });
});
