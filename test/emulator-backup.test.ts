/**
 * What the emulator's BACKUP writes, checked against MatrixOne's source facts (spec section
 * "What real servers write that is easy to miss") with readers independent of src/ and of the
 * emulator's writers (test/helpers/mo-target.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { startEmulator, type Emulator, type EmulatorOptions } from './emulator/index.js';
import { parseList, sha256hex, sql, target, unframeNative } from './helpers/mo-target.js';
import { startS3Server } from './helpers/s3server.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'mobr-emub-'));
  cleanups.push(() => rm(d, { recursive: true, force: true }));
  return d;
}
const REAL: Partial<EmulatorOptions> = { backend: 'DISK', layout: 'shipped', checksumless: true };
async function start(o: Partial<EmulatorOptions> = {}): Promise<Emulator> {
  const emu = await startEmulator({ home: await tmp(), objectSize: { min: 3000, max: 6000 }, ...REAL, ...o });
  cleanups.push(() => emu.close());
  return emu;
}
const fsBackup = (dir: string, extra = '') => `backup '' filesystem '${dir}' parallelism '2'${extra}`;
const objectRow = (p: string) => /^[0-9a-f-]{36}_\d{5}$/.test(p);

describe('a DISK cluster (the default of every release up to v4.1)', () => {
  it('keeps mo-data/shared framed; a FILESYSTEM backup frames tae/ and hakeeper/ (sidecars: 36 bytes), mo_meta and config/ raw', async () => {
    const emu = await start();
    expect(await readFile(join(emu.home, 'etc/launch/tn.toml'), 'utf8')).not.toContain('[[fileservice]]');
    await sql(emu, 'create database db1', 'create table db1.t (a int)', 'insert into db1.t values (1),(2)');
    for (const f of await readdir(join(emu.home, 'mo-data/shared'))) {
      if (f.includes('_')) expect(() => unframeNative(Buffer.from([]))).not.toThrow(), unframeNative(await readFile(join(emu.home, 'mo-data/shared', f)));
    }
    const dir = join(await tmp(), 'b1');
    await sql(emu, fsBackup(dir));
    const t = target(dir, true);
    for (const f of ['tae/tae_list', 'tae/tae_sum', 'hakeeper/hk_data']) {
      const side = await t.raw(`${f}.sha256`);
      expect(side.length).toBe(36);
      expect(unframeNative(side).toString('hex')).toBe(sha256hex(await t.tae(f)));
    }
    const meta = (await t.raw('mo_meta')).toString();
    expect(meta).toMatch(/^version,0823,\nbuildinfo,[^\n]*Version: v1\.2\.0[^\n]*,\n(launchconfig,(launch|log|dn|cn),[^\n]+\n){4}$/);
    expect((await t.raw('mo_meta.sha256')).toString('hex')).toBe(sha256hex(await t.raw('mo_meta')));
    for (const m of meta.matchAll(/launchconfig,\w+,(\S+)/g)) {
      expect((await t.raw(`config/${m[1]}`)).toString()).toMatch(/service-type|services/);
      expect((await t.raw(`config/${m[1]}.sha256`)).length).toBe(32);
    }
    // every copied file is framed and its checksum (when given) is the content's SHA-256
    const list = await t.list();
    for (const r of list.filter((x) => x.needCopy)) {
      const data = await t.tae(`tae/${r.path}`);
      expect(data.length).toBe(r.size);
      if (r.checksum) expect(r.checksum).toBe(sha256hex(data));
    }
    const [time, size, backupTs, type] = await t.sum();
    expect(Number(size)).toBe(list.reduce((s, r) => s + r.size, 0));
    expect(type).toBe('');
    expect(Math.abs(Date.parse(`${time!.replace(' ', 'T')}Z`) - Date.now())).toBeLessThan(60_000); // UTC
    // needCopy=true rows without checksum: merged checkpoint meta <start>_<end>, rewritten _01000 objects, new checkpoint data
    const blank = list.filter((r) => r.needCopy && r.checksum === '');
    expect(blank.some((r) => r.path.startsWith(`ckp/meta_${backupTs}_`))).toBe(true);
    expect(blank.filter((r) => /_01\d{3}$/.test(r.path)).length).toBeGreaterThan(0);
    expect(blank.filter((r) => /_00000$/.test(r.path)).length).toBe(1);
    // BACKUPTS is the special checkpoint's start: the newest checkpoint's end, logical + 1
    const ends = (await readdir(join(emu.home, 'mo-data/shared/ckp'))).map((n) => /_(\d+)-(\d+)\.ckp$/.exec(n)!).filter((m) => `${m[1]}-${Number(m[2]) + 1}` === backupTs);
    expect(ends.length).toBe(1);
    // the same target twice: refused, as LocalFS refuses to overwrite
    await expect(sql(emu, fsBackup(dir))).rejects.toMatchObject({ errno: 20406 });
  });

  it('incremental: created or dropped at/after the base -> copied; older -> needCopy=false, empty checksum, not copied; soft-deleted objects listed', async () => {
    const emu = await start();
    await emu.simulateDay({ newObjects: 4 });
    const root = await tmp();
    await sql(emu, fsBackup(join(root, 'full')));
    const base = (await target(join(root, 'full'), true).sum())[2]!;
    await emu.simulateDay({ newObjects: 2, mergeCount: 2 });
    await sql(emu, fsBackup(join(root, 'inc'), ` type 'incremental' timestamp '${base}'`));
    const t = target(join(root, 'inc'), true);
    expect((await t.sum())[3]).toBe('incremental');
    const rows = (await t.list()).filter((r) => objectRow(r.path) && r.ts !== '0-0' && !/_01\d{3}$/.test(r.path));
    const copied = new Set(await readdir(join(root, 'inc', 'tae')));
    const byName = new Map(emu.tree.entries.map((e) => [e.name, e]));
    const [bp, bl] = base.split('-').map(BigInt) as [bigint, bigint];
    const after = (ts?: { physical: bigint; logical: number }) => !!ts && (ts.physical > bp || (ts.physical === bp && BigInt(ts.logical) >= bl));
    // the first checkpoint that lists an object decides (tae.go: files[name] first wins; the
    // special checkpoint first, then oldest to newest): an object dropped after the base but
    // listed live by an older checkpoint keeps needCopy=false (the base holds it)
    const bts = (await t.sum())[2]!;
    const [sp, sl] = bts.split('-').map(BigInt) as [bigint, bigint];
    const inSpecial = (ts?: { physical: bigint; logical: number }) => !!ts && (ts.physical > sp || (ts.physical === sp && BigInt(ts.logical) >= sl));
    let kept = 0;
    let soft = 0;
    for (const r of rows) {
      expect([r.path, copied.has(r.path)]).toEqual([r.path, r.needCopy]);
      const e = byName.get(r.path);
      if (!e) continue; // a file written by an earlier backup's special window only
      if (after(e.createTS) || inSpecial(e.dropTS)) expect([r.path, r.needCopy]).toEqual([r.path, true]);
      if (!after(e.createTS) && !e.dropTS) {
        expect([r.path, r.needCopy, r.checksum]).toEqual([r.path, false, '']);
        kept++;
      }
      if (e.dropTS) soft++;
    }
    expect(kept).toBeGreaterThan(0);
    expect(soft).toBeGreaterThan(0);
  });
});

describe('a DISK-V2 cluster (HEAD shipped configs)', () => {
  it('keeps data raw in mo-data/shared2; the backup target is raw; the log service LOCAL stays DISK at mo-data/local', async () => {
    const emu = await start({ backend: 'DISK-V2' });
    expect(emu.tree.shared).toBe(join(emu.home, 'mo-data/shared2'));
    await sql(emu, 'create database db1');
    const dir = join(await tmp(), 'b');
    await sql(emu, fsBackup(dir));
    const t = target(dir, false);
    expect((await t.raw('tae/tae_list.sha256')).length).toBe(32);
    expect((await t.list()).length).toBeGreaterThan(3);
    expect((await stat(join(emu.home, 'mo-data/local'))).isDirectory()).toBe(true);
    expect((await t.list()).some((r) => r.needCopy && r.checksum === '')).toBe(true);
  });

  it('knob checksumless=false: every copied row carries its checksum (a server that does not exist; for tests of older mobr)', async () => {
    const emu = await start({ backend: 'DISK-V2', checksumless: false });
    await sql(emu, 'create database db1');
    const dir = join(await tmp(), 'b');
    await sql(emu, fsBackup(dir));
    const rows = (await target(dir, false).list()).filter((r) => r.needCopy);
    expect(rows.some((r) => /_01\d{3}$/.test(r.path))).toBe(true);
    for (const r of rows) expect(r.checksum).toBe(sha256hex(await target(dir, false).tae(`tae/${r.path}`)));
  });
});

describe('server versions', () => {
  it('v3.0.6+: objects named by the newest file_index_<ts>.idx at the target root are needCopy=false in a full backup; v1.2.0 ignores it', async () => {
    for (const [version, want] of [['3.0.6', false], ['1.2.0', true]] as const) {
      const emu = await start({ serverVersion: version, backend: 'DISK-V2' });
      await sql(emu, 'create database db1');
      const dir = await tmp();
      const sys = emu.tree.entries.find((e) => !e.appendable)!.name;
      await writeFile(join(dir, 'file_index_1-1.idx'), `${sys},1\n`);
      await writeFile(join(dir, 'file_index_0-5.idx'), 'nothing,1\n');
      await sql(emu, fsBackup(join(dir, 'x').replace(/\/x$/, '')));
      const row = (await target(dir, false).list()).find((r) => r.path === sys)!;
      expect(row.needCopy).toBe(want);
    }
  });

  it('v3.0.0+: objects named in tae/file_list at the target are not copied (and listed needCopy=true); v1.2.0 copies them', async () => {
    for (const [version, copied] of [['3.0.0', false], ['1.2.0', true]] as const) {
      const emu = await start({ serverVersion: version, backend: 'DISK-V2' });
      const dir = await tmp();
      const sys = emu.tree.entries.find((e) => !e.appendable)!.name;
      await mkdir(join(dir, 'tae'), { recursive: true });
      await writeFile(join(dir, 'tae/file_list'), `${sys}\nother`);
      await sql(emu, fsBackup(dir));
      expect((await target(dir, false).list()).find((r) => r.path === sys)!.needCopy).toBe(true);
      expect((await readdir(join(dir, 'tae'))).includes(sys)).toBe(copied);
    }
  });

  it('before v1.2: 3-field tae_list, 2-field tae_sum', async () => {
    const emu = await start({ serverVersion: '1.1.2' });
    await sql(emu, 'create database db1');
    const dir = join(await tmp(), 'b');
    await sql(emu, fsBackup(dir));
    const t = target(dir, true);
    expect((await t.tae('tae/tae_list')).toString().split('\n').filter(Boolean).every((l) => l.split(',').length === 3)).toBe(true);
    expect(await t.sum()).toHaveLength(2);
  });
});

describe('an S3 target', () => {
  it('gets raw objects under filepath/, even from a DISK cluster', async () => {
    const s3 = await startS3Server();
    cleanups.push(() => s3.stop());
    const emu = await start();
    await sql(emu, 'create database db1');
    await sql(emu, `backup '' s3option {'endpoint'='${s3.endpoint}', 'access_key_id'='${s3.accessKeyId}', 'secret_access_key'='${s3.secretAccessKey}', 'bucket'='${s3.bucket}', 'filepath'='p/b1', 'is_minio'='true'}`);
    const c = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
    cleanups.push(async () => c.destroy());
    const get = async (k: string) => Buffer.from(await (await c.send(new GetObjectCommand({ Bucket: s3.bucket, Key: `p/b1/${k}` }))).Body!.transformToByteArray());
    expect((await get('tae/tae_list.sha256')).length).toBe(32);
    const list = parseList((await get('tae/tae_list')).toString());
    const obj = list.find((r) => r.needCopy && r.checksum)!;
    expect(sha256hex(await get(`tae/${obj.path}`))).toBe(obj.checksum);
    const keys = (await c.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'p/b1/' }))).Contents!.map((x) => x.Key!);
    expect(keys).toContain('p/b1/mo_meta');
    expect(keys).toContain('p/b1/hakeeper/hk_data');
  });
});
