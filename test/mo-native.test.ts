/**
 * Backup folders in MatrixOne's own layout (BACKUP, mo_br): `check` and `restore` with
 * `--backup_dir filesystem|s3 --backup_path|--backup_filepath <folder>`, framed or raw, with or
 * without /backup_meta, built by hand from literal bytes (test/helpers/mo-folder.ts); and
 * `export`, whose folder is byte for byte the hand-built one and checks and restores the same way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { backupTree } from '../src/backup/backup.js';
import { Repository } from '../src/repo/repository.js';
import { FsStore } from '../src/store/fs.js';
import { ensureBuilt, mobrIn as mobr } from './helpers/cli.js';
import { CKP, HK_DATA, LOG_CONFIG, OBJ, REWRITTEN, TN_CONFIG, WRITTEN, frameRef, writeMoFolder } from './helpers/mo-folder.js';
import { startS3Server, type S3Server } from './helpers/s3server.js';

const ID = '4d21b228-10dd-11ef-9497-26dd28356ef2';
const CONFIGS = { dn: 'service-type = "TN"\ndata-dir = "./mo-data"\n', log: 'service-type = "LOG"\n' };
let work: string;
let n = 0;
const dir = () => join(work, `d${n++}`);
const mo = (args: string[]) => mobr([...args, '--meta_path', join(work, 'mo_br.meta')], work);

const LINES = (backupMeta: boolean) =>
  [
    ...(backupMeta ? ['/backup_meta'] : []), '/mo_meta', 'hakeeper/hk_data', 'tae/tae_list', 'tae/tae_sum',
    `config/${LOG_CONFIG}`, `config/${TN_CONFIG}`, `tae/${OBJ}`, `tae/${REWRITTEN}`, `tae/${CKP}`,
  ].map((l) => `check: ${l}\n`).join('');

async function tree(root: string, pre = ''): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const e of await readdir(join(root, pre), { withFileTypes: true })) {
    const rel = pre ? `${pre}/${e.name}` : e.name;
    if (e.isDirectory()) for (const [k, v] of await tree(root, rel)) out.set(k, v);
    else out.set(rel, await readFile(join(root, rel)));
  }
  return out;
}

beforeAll(async () => {
  ensureBuilt();
  work = await mkdtemp(join(tmpdir(), 'mobr-native-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

describe('check a native backup folder', () => {
  for (const framed of [true, false]) {
    for (const backupMeta of [true, false]) {
      it(`${framed ? 'framed (DISK)' : 'raw (DISK-V2)'}, ${backupMeta ? 'with' : 'without'} /backup_meta: mo_br's lines in mo_br's order`, async () => {
        const f = dir();
        await writeMoFolder(f, { framed, configs: CONFIGS, backupMetaId: backupMeta ? ID : undefined });
        const r = await mo(['check', '--backup_dir', 'filesystem', '--backup_path', f]);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(r.stdout).toBe(LINES(backupMeta));
      }, 30_000);
    }
  }

  it('a flipped byte in a framed object and a wrong sidecar: FAILED lines, exit 1; restore writes nothing (exit 6)', async () => {
    const f = dir();
    await writeMoFolder(f, { framed: true, configs: CONFIGS });
    const obj = join(f, 'tae', OBJ);
    const bytes = await readFile(obj);
    bytes[3000] ^= 0x40;
    await writeFile(obj, bytes);
    await writeFile(join(f, 'mo_meta.sha256'), Buffer.alloc(32));
    const r = await mo(['check', '--backup_dir', 'filesystem', '--backup_path', f]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^check: \/mo_meta FAILED: sha256 does not match mo_meta\.sha256$/m);
    expect(r.stdout).toMatch(new RegExp(`^check: tae/${OBJ} FAILED: .*checksum block 1 does not match its CRC32C$`, 'm'));
    expect(r.stderr).toMatch(/^mo_br: check failed: 2 of \d+ files of the backup folder .* missing or damaged/);

    const dest = dir();
    const bad = await mo(['restore', '--backup_dir', 'filesystem', '--backup_path', f, '--restore_dir', 'filesystem', '--restore_path', dest]);
    expect(bad.code).toBe(6);
    expect(bad.stderr.split('\n').length).toBe(2);
    await expect(stat(join(dest, 'mo-data'))).rejects.toMatchObject({ code: 'ENOENT' });
  }, 30_000);
});

describe('a native folder named with its ID (as the seed passes one)', () => {
  it("check <ID> and restore <ID> with --backup_path: the ID must be the one backup_meta records", async () => {
    const f = dir();
    const files = await writeMoFolder(f, { framed: true, configs: CONFIGS, backupMetaId: ID });
    const c = await mo(['check', ID, '--backup_dir', 'filesystem', '--backup_path', f]);
    expect(c.stderr).toBe('');
    expect(c.stdout).toBe(LINES(true));
    const other = '01108122-10f9-11ef-9359-26dd28356ef2';
    const wrong = await mo(['check', other, '--backup_dir', 'filesystem', '--backup_path', f]);
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toMatch(new RegExp(`^mo_br: the backup folder .* holds backup ${ID} \\(its backup_meta\\), not ${other}\n$`));
    const dest = dir();
    const bad = await mo(['restore', other, '--backup_dir', 'filesystem', '--backup_path', f, '--restore_dir', 'filesystem', '--restore_path', dest]);
    expect(bad.code).toBe(3);
    await expect(stat(join(dest, 'mo-data'))).rejects.toMatchObject({ code: 'ENOENT' });
    const r = await mo(['restore', ID, '--backup_dir', 'filesystem', '--backup_path', f, '--restore_dir', 'filesystem', '--restore_path', dest]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((await readFile(join(dest, 'mo-data', 'shared', OBJ))).equals(frameRef(files.get(`tae/${OBJ}`)!))).toBe(true);
  }, 30_000);
});

describe('restore a native backup folder', () => {
  it('framed, with backup_meta, no configs: DISK defaults, every file framed as LocalFS writes it', async () => {
    const f = dir();
    const files = await writeMoFolder(f, { framed: true, backupMetaId: ID });
    const dest = dir();
    const r = await mo(['restore', '--backup_dir', 'filesystem', '--backup_path', f, '--restore_dir', 'filesystem', '--restore_path', dest]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`    ${OBJ} => mo-data/shared/${OBJ}`);
    for (const p of [OBJ, REWRITTEN, CKP]) expect((await readFile(join(dest, 'mo-data', 'shared', ...p.split('/')))).equals(frameRef(files.get(`tae/${p}`)!))).toBe(true);
    expect((await readFile(join(dest, 'mo-data', 'local', 'hk_data'))).equals(frameRef(HK_DATA))).toBe(true);
  }, 30_000);

  it('raw, without backup_meta, a DISK-V2 tn.toml: raw objects in shared2', async () => {
    const f = dir();
    const dn = '[[fileservice]]\nname = "SHARED"\nbackend = "DISK-V2"\ndata-dir = "./mo-data/shared2"\n';
    const files = await writeMoFolder(f, { framed: false, configs: { dn, log: CONFIGS.log } });
    const dest = dir();
    const r = await mo(['restore', '--backup_dir', 'filesystem', '--backup_path', f, '--restore_dir', 'filesystem', '--restore_path', dest]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('TaePath\n    ./mo-data/shared2\n');
    expect((await readFile(join(dest, 'mo-data', 'shared2', OBJ))).equals(files.get(`tae/${OBJ}`)!)).toBe(true);
    expect((await readFile(join(dest, 'mo-data', 'local', 'hk_data'))).equals(frameRef(HK_DATA))).toBe(true);
  }, 30_000);
});

describe('a native folder on S3', () => {
  let s3: S3Server;
  beforeAll(async () => {
    s3 = await startS3Server();
  });
  afterAll(() => s3?.stop());

  it('check and restore with --backup_dir s3 (S3 targets are raw)', async () => {
    const f = dir();
    const files = await writeMoFolder(f, { framed: false, configs: CONFIGS, backupMetaId: ID });
    const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
    for (const [rel, data] of await tree(f)) await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `backups/b1/${rel}`, Body: data }));
    client.destroy();
    const side = ['--backup_dir', 's3', '--backup_endpoint', s3.endpoint, '--backup_bucket', s3.bucket, '--backup_filepath', 'backups/b1', '--backup_access_key_id', s3.accessKeyId, '--backup_secret_access_key', s3.secretAccessKey];
    const c = await mo(['check', ...side]);
    expect(c.stderr).toBe('');
    expect(c.stdout).toBe(LINES(true));
    const dest = dir();
    const r = await mo(['restore', ...side, '--restore_dir', 'filesystem', '--restore_path', dest]);
    expect(r.code).toBe(0);
    expect((await readFile(join(dest, 'mo-data', 'shared', OBJ))).equals(frameRef(files.get(`tae/${OBJ}`)!))).toBe(true);
    for (const out of [c.stdout, r.stdout, r.stderr]) expect(out.includes(s3.secretAccessKey)).toBe(false);
  }, 60_000);
});

describe('mo_br export', () => {
  it('writes the hand-built folder byte for byte (framed by default, raw with --raw); it checks and restores like any native folder', async () => {
    const src = dir();
    await writeMoFolder(src, { configs: CONFIGS, sidecars: false });
    const repoDir = dir();
    const repo = await Repository.openOrInit(new FsStore(repoDir));
    await backupTree(repo, src, { id: ID, source: { kind: 'matrixone' }, backupTs: '1715745404915410000-1', metaFor: (p) => (WRITTEN(p) ? { sidecar: 'sha256' } : undefined) });
    await repo.close();
    for (const framed of [true, false]) {
      const out = dir();
      const e = await mo(['export', ID, '--backup_dir', 'filesystem', '--backup_path', repoDir, '--path', out, ...(framed ? [] : ['--raw'])]);
      expect(e.stderr).toBe('');
      expect(e.code).toBe(0);
      const want = dir();
      await writeMoFolder(want, { framed, configs: CONFIGS, backupMetaId: ID });
      const [got, exp] = [await tree(out), await tree(want)];
      expect([...got.keys()].sort()).toEqual([...exp.keys()].sort());
      for (const [k, v] of exp) expect(got.get(k)!.equals(v), k).toBe(true);

      const c = await mo(['check', '--backup_dir', 'filesystem', '--backup_path', out]);
      expect(c.stdout).toBe(LINES(true));
      const dest = dir();
      const r = await mo(['restore', '--backup_dir', 'filesystem', '--backup_path', out, '--restore_dir', 'filesystem', '--restore_path', dest]);
      expect(r.code).toBe(0);
      expect((await readFile(join(dest, 'mo-data', 'shared', OBJ))).equals(await readFile(join(want, 'tae', OBJ)).then((b) => (framed ? b : frameRef(b))))).toBe(true);
    }
    const again = await mo(['export', ID, '--backup_dir', 'filesystem', '--backup_path', repoDir, '--path', join(work, 'd0')]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/is not empty; export writes a new folder\n$/);
  }, 90_000);
});
