/**
 * What real MatrixOne servers write (spec/matrixone.md, "What real servers write that is easy to
 * miss"), one behaviour per test, each from a backup folder built BY HAND from MatrixOne's source
 * (test/helpers/mo-fixture.ts: literal CSV lines, an independent CRC-32C and LocalFS framing,
 * pinned below by literal vectors) and played by a MySQL-protocol server (test/helpers/replay-server.ts)
 * answering the BACKUP statement with it. Each test ingests through the library (and ./mo_br
 * where it matters) and asserts the stored files come back byte-exact and check passes.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { restoreBackup } from '../src/backup/restore.js';
import { verifyBackup } from '../src/backup/verify.js';
import { backupFromMatrixOne } from '../src/mo/ingest.js';
import { formatBackupTime, parseBackupTime } from '../src/mo/layout.js';
import type { Manifest } from '../src/repo/manifest.js';
import { Repository } from '../src/repo/repository.js';
import type { Location } from '../src/store/location.js';
import { openStore } from '../src/store/open.js';
import { FsStore } from '../src/store/fs.js';
import { ensureBuilt, mobrIn as mobr, ROOT } from './helpers/cli.js';
import { buildLayout, crc32c, localFsFrame, localFsUnframe, objectBytes, OBJ, sha256hex, typicalFiles, type FixtureFile } from './helpers/mo-fixture.js';
import { startReplayServer, type ReplayServer } from './helpers/replay-server.js';
import { startS3Server } from './helpers/s3server.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'mobr-real-'));
  cleanups.push(() => rm(d, { recursive: true, force: true }));
  return d;
}
async function replay(version?: string): Promise<ReplayServer> {
  const s = await startReplayServer(version);
  cleanups.push(() => s.close());
  return s;
}
async function fsRepo(): Promise<{ repo: Repository; target: Location; dir: string }> {
  const dir = await tmp();
  const repo = await Repository.openOrInit(new FsStore(dir));
  cleanups.push(() => repo.close());
  return { repo, target: { backupDir: 'filesystem', path: dir }, dir };
}
const conn = (s: ReplayServer) => ({ host: s.host, port: s.port, user: 'dump', password: '111' });

/** Every file of the manifest restores to exactly `logical` (layout path -> bytes), and check reads it all back. */
async function assertExact(repo: Repository, m: Manifest, logical: Map<string, Buffer>): Promise<void> {
  const v = await verifyBackup(repo, m, { readData: true });
  expect(v.damaged).toEqual([]);
  expect(v.ok).toBe(true);
  const dest = await tmp();
  await restoreBackup(repo, m, dest);
  expect(m.files.map((f) => f.path).sort()).toEqual([...logical.keys()].sort());
  for (const [rel, want] of logical) {
    const got = await readFile(join(dest, ...rel.split('/')));
    expect(got.equals(want), rel).toBe(true);
    expect(Buffer.from(m.files.find((f) => f.path === rel)!.sha256!).toString('hex')).toBe(sha256hex(want));
  }
}

const meta = (m: Manifest, rel: string) => m.files.find((f) => f.path === `tae/${rel}`)?.meta;

describe('the test fixture is MatrixOne\'s format (literal vectors from the source)', () => {
  it('CRC-32C, LocalFS framing, a framed tae_sum and its 36-byte framed sidecar', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(localFsFrame(Buffer.from('hello')).toString('hex')).toBe('4cbb719a68656c6c6f');
    const { layout } = buildLayout({ framing: 'crc' });
    // 2024-05-15 03:56:44 (UTC), size 11468 = 5000+2044+3000+300+1024+100, BACKUPTS, TYPE ''
    expect(layout['tae/tae_sum']!.toString('hex')).toBe('c6437f6b323032342d30352d31352030333a35363a34342c31313436382c313731353734353430343931353431303030302d312c0a');
    expect(layout['tae/tae_sum.sha256']!.toString('hex')).toBe('930a26b6c42e5b646c581011b657f442efdccc71f4404dda66fbba272fce1278a92b9d9f');
    expect(layout['mo_meta.sha256']!.length).toBe(32); // the ETL fileservice writes raw
  });
});

describe('rows without a checksum and framed sidecars (DISK target)', () => {
  it('mobr hashes checksum-less rows itself, says so in the manifest, and restores every file byte-exact', async () => {
    const s = await replay();
    const { repo, target } = await fsRepo();
    const { layout, logical } = buildLayout({ framing: 'crc' });
    s.next(layout);
    const m = await backupFromMatrixOne({ conn: conn(s), repo, target, id: 'b1', type: 'full' });
    expect(s.statements[0]!.sql).toMatch(/^BACKUP '' FILESYSTEM '.*staging\/b1' PARALLELISM '1'$/);
    for (const p of [OBJ.rewritten, OBJ.ckpMeta, OBJ.ckpData]) expect(meta(m, p)).toMatchObject({ checksum: '', needCopy: 'true', sha256From: 'mobr' });
    for (const p of [OBJ.a, OBJ.b, OBJ.gcMeta]) expect(meta(m, p)).toMatchObject({ sha256From: 'tae_list' });
    expect(meta(m, 'tae_list')).toMatchObject({ sidecar: 'sha256', sha256From: 'sidecar' });
    expect(m.extra).toMatchObject({ moFraming: 'crc', moListFields: 5, hashedFiles: 3, moType: '' });
    expect(m.backupTs).toBe('1715745404915410000-1');
    await assertExact(repo, m, logical);
  });

  it('a flipped byte in a checksum-less framed file is caught by its LocalFS CRC: CORRUPT naming it, no backup', async () => {
    const s = await replay();
    const { repo, target } = await fsRepo();
    const { layout } = buildLayout({ framing: 'crc' });
    layout[`tae/${OBJ.rewritten}`]![3000] ^= 1; // inside the second block
    s.next(layout);
    const e = await backupFromMatrixOne({ conn: conn(s), repo, target, id: 'b1', type: 'full' }).catch((x) => x);
    expect(e.code).toBe('CORRUPT');
    expect(e.message).toBe(`tae/${OBJ.rewritten} (LocalFS-framed): checksum block 1 does not match its CRC32C`);
    expect(await repo.listBackupIds()).toEqual([]);
  });

  it('a framed sidecar with a bad CRC, or a sidecar of neither 32 nor 36 bytes: one CORRUPT line naming it', async () => {
    const s = await replay();
    const { repo, target } = await fsRepo();
    const bad = buildLayout({ framing: 'crc' }).layout;
    bad['tae/tae_sum.sha256']![0] ^= 1;
    s.next(bad);
    const e = await backupFromMatrixOne({ conn: conn(s), repo, target, id: 'b1', type: 'full' }).catch((x) => x);
    expect(e.code).toBe('CORRUPT');
    expect(e.message).toBe('tae/tae_sum.sha256: checksum block 0 does not match its CRC32C');
    const odd = buildLayout({ framing: 'crc' }).layout;
    odd['tae/tae_list.sha256'] = Buffer.alloc(33);
    s.next(odd);
    const e2 = await backupFromMatrixOne({ conn: conn(s), repo, target, id: 'b2', type: 'full' }).catch((x) => x);
    expect(e2.message).toBe('tae/tae_list.sha256: 33 bytes, expected 32 (raw) or 36 (LocalFS-framed)');
    expect(await repo.listBackupIds()).toEqual([]);
  });

  it('raw DISK-V2 output (v4.2+ on a DISK-V2 cluster) is read as is', async () => {
    const s = await replay('8.0.30-MatrixOne-v4.2.0');
    const { repo, target } = await fsRepo();
    const { layout, logical } = buildLayout({ framing: 'raw' });
    expect(layout['tae/tae_list.sha256']!.length).toBe(32);
    s.next(layout);
    const m = await backupFromMatrixOne({ conn: conn(s), repo, target, id: 'raw', type: 'full' });
    expect(m.extra).toMatchObject({ moFraming: 'raw', hashedFiles: 3 });
    await assertExact(repo, m, logical);
  });

  it('a path listed twice (an object a GC meta names is copied again) is one file', async () => {
    const s = await replay();
    const { repo, target } = await fsRepo();
    const files = typicalFiles();
    const dup: FixtureFile = { ...files[0]!, ts: '1715745404915410000-1' };
    const { layout, logical } = buildLayout({ framing: 'crc', files: [...files, dup] });
    s.next(layout);
    const m = await backupFromMatrixOne({ conn: conn(s), repo, target, id: 'dup', type: 'full' });
    expect(m.files.filter((f) => f.path === `tae/${OBJ.a}`)).toHaveLength(1);
    await assertExact(repo, m, logical);
  });

  it('v2.0.1-v4.1.x: an object listed twice, once with its GC meta\'s size, same SHA-256, is one file at its own size', async () => {
    const s = await replay('8.0.30-MatrixOne-v4.1.4');
    const { repo, target } = await fsRepo();
    const files = typicalFiles();
    const dup: FixtureFile = { ...files[0]!, ts: '1715745404915410000-1', listedSize: 777 };
    const { layout, logical } = buildLayout({ framing: 'crc', files: [...files, dup] });
    s.next(layout);
    const m = await backupFromMatrixOne({ conn: conn(s), repo, target, id: 'dupgc', type: 'full' });
    const one = m.files.filter((f) => f.path === `tae/${OBJ.a}`);
    expect(one).toHaveLength(1);
    expect(one[0]!.size).toBe(files[0]!.data.length);
    await assertExact(repo, m, logical);
  });

  it('a row without a checksum whose size is not the file\'s is refused (nothing vouches for the bytes)', async () => {
    const s = await replay('8.0.30-MatrixOne-v4.1.4');
    const { repo, target } = await fsRepo();
    const files = typicalFiles();
    const i = files.findIndex((f) => f.checksum === '' && f.staged !== false);
    files[i] = { ...files[i]!, listedSize: files[i]!.data.length + 1 };
    s.next(buildLayout({ framing: 'crc', files }).layout);
    await expect(backupFromMatrixOne({ conn: conn(s), repo, target, id: 'nosum', type: 'full' })).rejects.toMatchObject({ code: 'CORRUPT', message: expect.stringMatching(/bytes staged, tae\/tae_list says \d+ \(\d+ LocalFS-framed\)$/) });
  });
});

describe('S3 targets', () => {
  it('the server writes raw objects into the repository bucket; checksum-less rows are hashed; restore is byte-exact', { timeout: 30_000 }, async () => {
    const s3 = await startS3Server();
    cleanups.push(() => s3.stop());
    const target: Location = { backupDir: 's3', endpoint: s3.endpoint, bucket: s3.bucket, filepath: 'mo/repo', isMinio: true };
    const credentials = { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
    const repo = await Repository.openOrInit(openStore(target, { credentials }));
    cleanups.push(() => repo.close());
    const s = await replay();
    const { layout, logical } = buildLayout({ framing: 'raw' }); // pkg/backup/fs.go setupS3 -> GetForBackup s3-opts: S3FS, never framed
    s.next(layout);
    const m = await backupFromMatrixOne({ conn: conn(s), repo, target, credentials, id: 's3b', type: 'full', parallelism: 2 });
    const req = s.statements[0]!;
    expect(req.target).toMatchObject({ kind: 's3', options: { bucket: s3.bucket, filepath: 'mo/repo/staging/s3b', is_minio: 'true', parallelism: '2' } });
    expect(m.extra).toMatchObject({ moFraming: 'raw', hashedFiles: 3 });
    await assertExact(repo, m, logical);
    const left: string[] = [];
    for await (const e of repo.store.list('staging')) left.push(e.key);
    expect(left).toEqual([]);
  });
});

describe('needCopy=false and files already at the target', () => {
  const skipped = (f: FixtureFile): FixtureFile => ({ ...f, checksum: '', needCopy: false, staged: false });

  it('a full backup with needCopy=false rows carries them from an earlier backup holding the same path and size', async () => {
    const s = await replay();
    const { repo, target } = await fsRepo();
    const first = buildLayout({ framing: 'crc' });
    s.next(first.layout);
    await backupFromMatrixOne({ conn: conn(s), repo, target, id: 'f1', type: 'full' });
    // v3.0.6+: objects listed in the target's newest file_index_<ts>.idx are not copied again
    const files = typicalFiles().map((f) => (f.path === OBJ.a || f.path === OBJ.b ? skipped(f) : f));
    // and one listed needCopy=true with no checksum that the server found already at the target (tae/file_list)
    files[5] = { ...files[5]!, checksum: '', staged: false };
    const second = buildLayout({ framing: 'crc', files, backupTs: '1715745504915410000-1', backupTime: '2024-05-15 03:58:24' });
    s.next(second.layout);
    const m = await backupFromMatrixOne({ conn: conn(s), repo, target, id: 'f2', type: 'full' });
    expect(m.extra).toMatchObject({ carriedFiles: 3 });
    expect(meta(m, OBJ.a)).toMatchObject({ needCopy: 'false', checksum: sha256hex(objectBytes(1, 5000)), sha256From: 'tae_list' });
    const logical = new Map(second.logical);
    for (const p of [OBJ.a, OBJ.b, OBJ.gcMeta]) logical.set(`tae/${p}`, first.logical.get(`tae/${p}`)!); // carried from f1
    await assertExact(repo, m, logical);
  });

  it('a needCopy=false file that is at the target anyway and in no earlier backup is read and hashed by mobr', async () => {
    const s = await replay();
    const { repo, target } = await fsRepo();
    const files = typicalFiles().map((f) => (f.path === OBJ.b ? { ...f, checksum: '' as const, needCopy: false } : f));
    const { layout, logical } = buildLayout({ framing: 'crc', files });
    s.next(layout);
    const m = await backupFromMatrixOne({ conn: conn(s), repo, target, id: 'f1', type: 'full' });
    expect(meta(m, OBJ.b)).toMatchObject({ needCopy: 'false', checksum: '', sha256From: 'mobr' });
    expect(m.extra).toMatchObject({ carriedFiles: 0, hashedFiles: 4 });
    await assertExact(repo, m, logical);
  });

  it('no earlier backup holds a skipped file: one line naming it, nothing stored', async () => {
    const s = await replay();
    const { repo, target } = await fsRepo();
    const files = typicalFiles().map((f) => (f.path === OBJ.b ? skipped(f) : f));
    s.next(buildLayout({ framing: 'crc', files }).layout);
    const e = await backupFromMatrixOne({ conn: conn(s), repo, target, id: 'f1', type: 'full' }).catch((x) => x);
    expect(e.code).toBe('NOT_FOUND');
    expect(e.message).toBe(
      `backup f1: MatrixOne did not copy tae/${OBJ.b} (needCopy=false: the backup target already held it (tae/file_list or a file_index_<ts>.idx)) and no backup in this repository holds it with 2044 bytes; take a full backup into a fresh target`,
    );
    expect(await repo.listBackupIds()).toEqual([]);
  });
});

describe('incremental rule and BACKUPTS', () => {
  it('TIMESTAMP is the base\'s BACKUPTS; dropped and soft-deleted objects are listed; a rewritten _01000 object with new bytes is read, not reused', async () => {
    const s = await replay();
    const { repo, target } = await fsRepo();
    const full = buildLayout({ framing: 'crc' });
    s.next(full.layout);
    const base = await backupFromMatrixOne({ conn: conn(s), repo, target, id: 'full', type: 'full' });
    expect(base.backupTs).toBe('1715745404915410000-1'); // tae_sum's third field, not the statement's reply
    const t = typicalFiles();
    const files: FixtureFile[] = [
      { ...t[0]!, checksum: '', needCopy: false, staged: false }, // created before the base, unchanged
      { ...t[1]!, ts: '1715745400000000000-0' }, // dropped after the base: copied again (still soft-deleted, not collected)
      { ...t[2]!, data: objectBytes(33, 3000), ts: '1715745604915410000-1' }, // rewritten again: same name and size, new bytes
      { path: OBJ.ckpMeta.replace('1715745404915410000-1', '1715745604915410000-1'), data: objectBytes(34, 310), checksum: '', needCopy: true, ts: '1715745604915410000-1' },
      { path: '018f7a60-0000-7000-8000-000000000002_00002', data: objectBytes(35, 4100), checksum: 'sha', needCopy: true, ts: '1715745600000000000-0' },
    ];
    const inc = buildLayout({ framing: 'crc', files, backupTs: '1715745604915410000-1', type: 'incremental', backupTime: '2024-05-15 04:00:04' });
    s.next(inc.layout);
    const m = await backupFromMatrixOne({ conn: conn(s), repo, target, id: 'inc', type: 'incremental', baseId: 'full' });
    expect(s.statements[1]).toMatchObject({ type: 'incremental', timestamp: '1715745404915410000-1' });
    expect(s.statements[1]!.sql).toMatch(/PARALLELISM '1' TYPE 'incremental' TIMESTAMP '1715745404915410000-1'$/);
    expect(m.backupTs).toBe('1715745604915410000-1');
    expect(m.extra).toMatchObject({ moType: 'incremental', carriedFiles: 1, reusedFiles: 1 });
    const logical = new Map(inc.logical);
    logical.set(`tae/${OBJ.a}`, objectBytes(1, 5000));
    await assertExact(repo, m, logical);
  });
});

describe('tae_sum time is UTC', () => {
  it('is written and read as UTC whatever the local zone', async () => {
    const tz = process.env.TZ;
    process.env.TZ = 'Asia/Shanghai';
    try {
      expect(formatBackupTime(new Date(Date.UTC(2024, 4, 15, 3, 56, 44)))).toBe('2024-05-15 03:56:44');
      expect(parseBackupTime('2024-05-15 03:56:44')).toBe(Date.UTC(2024, 4, 15, 3, 56, 44));
      expect(parseBackupTime('2024-02-30 00:00:00')).toBeUndefined();
      const s = await replay();
      const { repo, target } = await fsRepo();
      s.next(buildLayout({ framing: 'crc' }).layout);
      const m = await backupFromMatrixOne({ conn: conn(s), repo, target, id: 'utc', type: 'full' });
      expect(m.extra).toMatchObject({ moBackupTime: '2024-05-15 03:56:44', moBackupTimeMs: Date.UTC(2024, 4, 15, 3, 56, 44) });
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
  });
});

describe('servers before v1.2', () => {
  it('v1.1.1: no PARALLELISM, 3-field tae_list, 2-field tae_sum, no BACKUPTS; restored byte-exact', async () => {
    const s = await replay('8.0.30-MatrixOne-v1.1.1');
    const { repo, target } = await fsRepo();
    const { layout, logical } = buildLayout({ framing: 'crc', fields: 3, files: typicalFiles().map((f) => ({ ...f, checksum: 'sha' })) });
    expect(layout['tae/tae_sum']!.subarray(4).toString()).toBe('2024-05-15 03:56:44,11468\n');
    s.next(layout);
    const m = await backupFromMatrixOne({ conn: conn(s), repo, target, id: 'v111', type: 'full', parallelism: 4 });
    expect(s.statements[0]!.sql).toMatch(/^BACKUP '' FILESYSTEM '[^']*'$/);
    expect(m.backupTs).toBeUndefined();
    expect(m.extra).toMatchObject({ moListFields: 3, hashedFiles: 0 });
    expect(m.extra!.moType).toBeUndefined();
    expect(meta(m, OBJ.a)).toEqual({ checksum: sha256hex(objectBytes(1, 5000)), needCopy: 'true', sha256From: 'tae_list' });
    await assertExact(repo, m, logical);
  });

  it('v1.0.0-rc1 wrote no sidecars: framing is read from tae_list\'s first block; every file still restores byte-exact', async () => {
    const s = await replay('8.0.30-MatrixOne-v1.0.0-rc1');
    const { repo, target } = await fsRepo();
    const { layout, logical } = buildLayout({ framing: 'crc', fields: 3, sidecars: false, files: typicalFiles().map((f) => ({ ...f, checksum: 'sha' })) });
    expect(Object.keys(layout).filter((k) => k.endsWith('.sha256'))).toEqual([]);
    s.next(layout);
    const m = await backupFromMatrixOne({ conn: conn(s), repo, target, id: 'rc1', type: 'full' });
    expect(s.statements[0]!.sql).toMatch(/^BACKUP '' FILESYSTEM '[^']*'$/);
    expect(m.extra).toMatchObject({ moFraming: 'crc', moListFields: 3 });
    expect(meta(m, 'tae_list')).toEqual({ sha256From: 'mobr' });
    await assertExact(repo, m, logical);
  });

  it('v1.1.3: PARALLELISM is mandatory; an incremental is refused before the server writes anything', async () => {
    const s = await replay('8.0.30-MatrixOne-v1.1.3');
    const { repo, target } = await fsRepo();
    s.next(buildLayout({ framing: 'crc', fields: 3, files: typicalFiles().map((f) => ({ ...f, checksum: 'sha' })) }).layout);
    await backupFromMatrixOne({ conn: conn(s), repo, target, id: 'v113', type: 'full', parallelism: 3 });
    expect(s.statements[0]!.sql).toMatch(/ PARALLELISM '3'$/);
    const e = await backupFromMatrixOne({ conn: conn(s), repo, target, id: 'inc', type: 'incremental', baseId: 'v113' }).catch((x) => x);
    expect(e.code).toBe('BAD_INPUT');
    expect(e.message).toMatch(/has no BACKUPTS \(a cold backup, or one of a MatrixOne before v1\.2\); take a full backup$/);
    // a base with a BACKUPTS (taken before a downgrade): the server's release has no TYPE/TIMESTAMP
    const newer = await replay();
    newer.next(buildLayout({ framing: 'crc' }).layout);
    await backupFromMatrixOne({ conn: conn(newer), repo, target, id: 'v12', type: 'full' });
    const e2 = await backupFromMatrixOne({ conn: conn(s), repo, target, id: 'inc', type: 'incremental', baseId: 'v12' }).catch((x) => x);
    expect(e2.code).toBe('BAD_INPUT');
    expect(e2.message).toBe(`MatrixOne at 127.0.0.1:${s.port} is 8.0.30-MatrixOne-v1.1.3, which has no incremental backup (TYPE/TIMESTAMP came with v1.2.0); take a full backup`);
    expect(s.statements).toHaveLength(1);
  });
});

describe('through ./mo_br', () => {
  beforeAll(() => ensureBuilt());

  it('backup of a DISK cluster with checksum-less rows, list, check, restore: objects come back byte-exact', { timeout: 30_000 }, async () => {
    const s = await replay();
    const work = await tmp();
    const repo = join(work, 'backups');
    const metaPath = ['--meta_path', join(work, 'mo_br.meta')];
    const { layout, logical } = buildLayout({ framing: 'crc' });
    s.next(layout);
    const b = await mobr(['backup', '--host', s.host, '--port', String(s.port), '--user', 'dump', '--password', '111', '--backup_dir', 'filesystem', '--path', repo, ...metaPath], ROOT);
    expect(b.stderr).toBe('');
    expect(b.code).toBe(0);
    const id = /Backup ID\n {4}(\S+)/.exec(b.stdout)![1]!;
    const list = await mobr(['list', ...metaPath], ROOT);
    expect(list.stdout).toMatch(new RegExp(`${id} .*\\| 1715745404915410000-1 +\\| +full +\\|`));
    const check = await mobr(['check', id, ...metaPath], ROOT);
    expect(check.code).toBe(0);
    expect(check.stdout).not.toMatch(/FAILED/);
    expect(check.stdout).toContain(`check: tae/${OBJ.rewritten}`);
    const dest = join(work, 'restored');
    const r = await mobr(['restore', id, '--restore_dir', 'filesystem', '--restore_path', dest, ...metaPath], ROOT);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const p of [OBJ.a, OBJ.b, OBJ.rewritten, OBJ.ckpMeta, OBJ.ckpData]) {
      const onDisk = await readFile(join(dest, 'mo-data', 'shared', ...p.split('/')));
      const want = logical.get(`tae/${p}`)!;
      // raw or LocalFS-framed, whichever the restored cluster reads: the content must be exact
      expect(onDisk.equals(want) || localFsUnframe(onDisk)?.equals(want), p).toBe(true);
    }
  });

  it('a needCopy=false row no backup holds: one line on stderr, exit 3, nothing recorded', { timeout: 30_000 }, async () => {
    const s = await replay();
    const work = await tmp();
    const files = typicalFiles().map((f) => (f.path === OBJ.a ? { ...f, checksum: '' as const, needCopy: false, staged: false } : f));
    s.next(buildLayout({ framing: 'crc', files }).layout);
    const meta = join(work, 'mo_br.meta');
    const b = await mobr(['backup', '--host', s.host, '--port', String(s.port), '--user', 'dump', '--password', '111', '--backup_dir', 'filesystem', '--path', join(work, 'repo'), '--meta_path', meta], ROOT);
    expect(b.code, b.stderr).toBe(3);
    expect(b.stderr).toMatch(new RegExp(`^mo_br: backup \\S+: MatrixOne did not copy tae/${OBJ.a} \\(needCopy=false: .*\\) and no backup in this repository holds it with 5000 bytes; take a full backup into a fresh target\\n$`));
    const list = await mobr(['list', '--meta_path', meta], ROOT);
    expect(list.stdout).not.toMatch(/\| full/);
  });
});
