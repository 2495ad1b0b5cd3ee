/**
 * The repository is the truth: list, check, restore, delete and stats by ID with only the
 * repository's location (no catalog entry), `restore` without an ID naming its choice,
 * `meta rebuild`, and the disaster case: catalog and local repository gone, the OLDEST backup
 * restored by ID from a synced S3 copy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ensureBuilt, mobrIn as mobr } from './helpers/cli.js';
import { startS3Server, type S3Server } from './helpers/s3server.js';
import { fileHashes } from './helpers/tree.js';


const backupId = (stdout: string) => /Backup ID\n {4}([0-9a-f-]{36})\n/.exec(stdout)![1];

describe('catalog-free operation', () => {
  let work: string;
  let s3: S3Server;
  const ids: string[] = [];
  /** The tree of each backup, as it was when backed up. */
  const trees: Map<string, string>[] = [];
  const M = ['--meta_path', 'mo_br.meta'];
  const REPO = ['--backup_dir', 'filesystem', '--backup_path', 'repo'];

  beforeAll(async () => {
    ensureBuilt();
    s3 = await startS3Server({ bucket: 'offsite' });
    work = mkdtempSync(path.join(tmpdir(), 'mobr-cli-free-'));
    const data = path.join(work, 'mo-data');
    mkdirSync(path.join(data, 'shared'), { recursive: true });
    for (let round = 0; round < 3; round++) {
      writeFileSync(path.join(data, `shared/obj-${round}`), randomBytes(150_000));
      writeFileSync(path.join(data, 'shared/ckp'), `checkpoint ${round}\n`);
      const b = await mobr(['backup', '--backup_dir', 'filesystem', '--path', 'repo', '--data_dir', 'mo-data', ...M], work);
      expect(b.stderr).toBe('');
      ids.push(backupId(b.stdout));
      trees.push(fileHashes(data));
    }
  }, 120_000); // three ./mo_br processes; slow only on a loaded machine

  afterAll(async () => {
    await s3?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('list --backup_dir lists every backup of the repository, with no meta file', async () => {
    const r = await mobr(['list', ...REPO, '--meta_path', 'none.meta'], work);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const id of ids) expect(r.stdout).toContain(`| ${id} |`);
    expect(r.stdout.indexOf(ids[0])).toBeLessThan(r.stdout.indexOf(ids[2]));
    expect(r.stdout).toMatch(/BackupDir: filesystem {2}Path:/);
    expect(existsSync(path.join(work, 'none.meta'))).toBe(false);
    const j = JSON.parse((await mobr(['list', ...REPO, '--meta_path', 'none.meta', '--json'], work)).stdout) as { schema: string; backups: { id: string; atTime: string; size: number }[] };
    expect(j.schema).toBe('mobr.list.v1');
    expect(j.backups.map((b) => b.id)).toEqual(ids);
    expect(j.backups[0].atTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('list, check and stats find an ID in the repository the flags name', async () => {
    const l = await mobr(['list', ids[0], ...REPO, '--meta_path', 'none.meta'], work);
    expect(l.stderr).toBe('');
    expect(l.stdout).toContain(`| ${ids[0]} |`);
    expect(l.stdout).toContain('check: shared/obj-0\n');
    const c = await mobr(['check', ids[1], ...REPO, '--meta_path', 'none.meta'], work);
    expect(c.code).toBe(0);
    expect(c.stdout).toContain('\nChecking the backup data...\n\n');
    expect(c.stdout).toContain('check: shared/obj-1\n');
    const s = await mobr(['stats', ids[1], ...REPO, '--meta_path', 'none.meta'], work);
    expect(s.code).toBe(0);
    expect(s.stdout).toContain(ids[1]);
    expect(s.stdout).not.toContain(ids[0]);
  });

  it('an ID found nowhere: one line naming where it looked, and a JSON error under --json', async () => {
    const other = '00000000-0000-1000-8000-000000000000';
    const a = await mobr(['restore', other, '--restore_dir', 'filesystem', '--restore_path', 'x', '--meta_path', 'none.meta'], work);
    expect(a.code).toBe(3);
    expect(a.stderr).toMatch(/^mo_br: no backup with ID 0{8}-0000-1000-8000-0{12} in \S+none\.meta; to find it in its repository, give --backup_dir/);
    expect(a.stderr.split('\n')).toHaveLength(2);
    const b = await mobr(['list', other, ...REPO, '--json'], work);
    expect(b.code).toBe(3);
    expect(JSON.parse(b.stdout)).toEqual({ schema: 'mobr.error.v1', error: { code: 'NOT_FOUND', exit: 3, message: `no backup with ID ${other} in BackupDir: filesystem  Path: ${path.join(work, 'repo')}`, detail: 'ENOENT_BACKUP' } });
    expect(existsSync(path.join(work, 'x'))).toBe(false);
  });

  it('restore without an ID names the backup it chose (the newest)', async () => {
    const r = await mobr(['restore', ...REPO, '--restore_dir', 'filesystem', '--restore_path', 'newest', '--meta_path', 'none.meta'], work);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith(`no backup ID given: restoring the newest backup in BackupDir: filesystem  Path: ${path.join(work, 'repo')}\nBackup ID\n    ${ids[2]}\nFrom:\n`)).toBe(true);
    expect(fileHashes(path.join(work, 'newest/mo-data'))).toEqual(trees[2]);
  });

  it('meta rebuild writes the records of a repository into a new meta file, oldest first', async () => {
    const r = await mobr(['meta', 'rebuild', ...REPO, '--meta_path', 'rebuilt.meta'], work);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('3 backup(s) of BackupDir: filesystem');
    expect(r.stdout).toContain('(3 added, 0 already there, 0 removed)');
    const l = JSON.parse((await mobr(['list', '--json', '--meta_path', 'rebuilt.meta'], work)).stdout) as { backups: { id: string }[] };
    expect(l.backups.map((b) => b.id)).toEqual(ids);
    // The rebuilt catalog is a working one: restore by ID with no location flags.
    const x = await mobr(['restore', ids[1], '--restore_dir', 'filesystem', '--restore_path', 'second', '--meta_path', 'rebuilt.meta'], work);
    expect(x.code).toBe(0);
    expect(fileHashes(path.join(work, 'second/mo-data'))).toEqual(trees[1]);
    // Again: nothing changes.
    const again = await mobr(['meta', 'rebuild', ...REPO, '--meta_path', 'rebuilt.meta'], work);
    expect(again.stdout).toContain('(0 added, 3 already there, 0 removed)');
  });

  it('after sync, with the catalog and the local repository gone, the OLDEST backup restores by ID from the S3 copy', async () => {
    const keys = ['--target_access_key_id', s3.accessKeyId, '--target_secret_access_key', s3.secretAccessKey];
    const sync = await mobr(['sync', ...REPO, '--target_dir', 's3', '--target_endpoint', s3.endpoint, '--target_bucket', s3.bucket, '--target_filepath', '/mo', '--target_is_minio', ...keys, ...M], work);
    expect(sync.stderr).toBe('');
    expect(sync.code).toBe(0);
    rmSync(path.join(work, 'mo_br.meta'));
    rmSync(path.join(work, 'rebuilt.meta'));
    rmSync(path.join(work, 'repo'), { recursive: true });
    const S3 = ['--backup_dir', 's3', '--backup_endpoint', s3.endpoint, '--backup_bucket', s3.bucket, '--backup_filepath', '/mo', '--backup_is_minio', '--backup_access_key_id', s3.accessKeyId, '--backup_secret_access_key', s3.secretAccessKey];
    const r = await mobr(['restore', ids[0], ...S3, '--restore_dir', 'filesystem', '--restore_path', 'dr', ...M], work);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`From:\n    BackupDir: s3\n    Endpoint: ${s3.endpoint}\n    Bucket: offsite\n    FilePath: /mo\n`);
    expect(fileHashes(path.join(work, 'dr/mo-data'))).toEqual(trees[0]);
    expect(trees[0]).not.toEqual(trees[2]);
    expect(existsSync(path.join(work, 'mo_br.meta'))).toBe(false);
    // The new host's catalog, rebuilt from the copy, holds no key.
    const m = await mobr(['meta', 'rebuild', ...S3, ...M], work);
    expect(m.code).toBe(0);
    const meta = readFileSync(path.join(work, 'mo_br.meta'), 'utf8');
    for (const id of ids) expect(meta).toContain(id);
    expect(meta).not.toContain(s3.accessKeyId);
    expect(meta).not.toContain(s3.secretAccessKey);
  });

  it('delete by ID with only the repository location removes the backup from it', async () => {
    const S3 = ['--backup_dir', 's3', '--backup_endpoint', s3.endpoint, '--backup_bucket', s3.bucket, '--backup_filepath', '/mo', '--backup_is_minio', '--backup_access_key_id', s3.accessKeyId, '--backup_secret_access_key', s3.secretAccessKey];
    const d = await mobr(['delete', ids[1], ...S3, '--meta_path', 'none.meta'], work);
    expect(d.stderr).toBe('');
    expect(d.code).toBe(0);
    const l = JSON.parse((await mobr(['list', ...S3, '--meta_path', 'none.meta', '--json'], work)).stdout) as { backups: { id: string }[] };
    expect(l.backups.map((b) => b.id)).toEqual([ids[0], ids[2]]);
    expect(existsSync(path.join(work, 'none.meta'))).toBe(false);
  });
});
