/**
 * End to end through ./mo_br: cold backup -> list -> check -> restore byte-identical,
 * incremental, delete, damage found by list/check, and an S3 repository (keys never stored).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, rmSync, truncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ensureBuilt, mobr } from './helpers/cli.js';
import { startS3Server, type S3Server } from './helpers/s3server.js';
import { fileHashes } from './helpers/tree.js';


/** A small mo-data: shared TAE objects, a config, the HA keeper data. */
function makeMoData(dir: string): void {
  mkdirSync(path.join(dir, 'shared/ckp'), { recursive: true });
  mkdirSync(path.join(dir, 'etc'), { recursive: true });
  mkdirSync(path.join(dir, 'logservice-data/hk'), { recursive: true });
  for (let i = 0; i < 5; i++) writeFileSync(path.join(dir, `shared/018f7a41-1881-7999-bbd6-858c3d4acc1${i}_00000`), randomBytes(200_000 + i * 50_000));
  writeFileSync(path.join(dir, 'shared/ckp/meta_0-1.ckp'), randomBytes(10_000));
  writeFileSync(path.join(dir, 'etc/tn.toml'), '[tn]\nuuid = "dd4dccb4"\n');
  writeFileSync(path.join(dir, 'logservice-data/hk/hk_data'), randomBytes(3_000));
  writeFileSync(path.join(dir, 'empty'), '');
}

const backupId = (stdout: string) => /^Backup ID\n {4}([0-9a-f-]{36})\n$/.exec(stdout)![1];

describe('cold backup, list, check, restore, incremental, delete', () => {
  let work: string;
  const M = ['--meta_path', 'mo_br.meta'];
  beforeAll(() => {
    ensureBuilt();
    work = mkdtempSync(path.join(tmpdir(), 'mobr-cli-e2e-'));
    makeMoData(path.join(work, 'mo-data'));
  });

  it('round trip', async () => {
    const b1 = await mobr(['backup', '--backup_dir', 'filesystem', '--path', 'repo', '--data_dir', 'mo-data', ...M], work);
    expect(b1.stderr).toBe('');
    expect(b1.code).toBe(0);
    const full = backupId(b1.stdout);

    const list = await mobr(['list', ...M], work);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(`| ${full} |`);
    expect(list.stdout).toMatch(/BackupDir: filesystem {2}Path:/);
    expect(list.stdout).toMatch(/\| +full +\|/);

    const listId = await mobr(['list', full, ...M], work);
    expect(listId.code).toBe(0);
    expect(listId.stdout).toContain('\nChecking the backup data(currently,no checksum)...\n\n');
    expect(listId.stdout).toContain('check: shared/018f7a41-1881-7999-bbd6-858c3d4acc10_00000\n');
    expect(listId.stdout).toContain('check: etc/tn.toml\n');

    const check = await mobr(['check', full, ...M], work);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('\nChecking the backup data...\n\n');

    const restore = await mobr(['restore', full, '--restore_dir', 'filesystem', '--restore_path', 'mo1', ...M], work);
    expect(restore.stderr).toBe('');
    expect(restore.code).toBe(0);
    expect(restore.stdout).toContain(`From:\n    BackupDir: filesystem\n    Path: ${path.join(work, 'repo')}\n\nTo\n    BackupDir: filesystem\n    Path: ${path.join(work, 'mo1')}\n\nTaePath\n    ./mo-data/shared\n`);
    expect(restore.stdout).toMatch(/restore file num: 9, total file num: 9, cost : \S+\n$/);
    expect(fileHashes(path.join(work, 'mo1/mo-data'))).toEqual(fileHashes(path.join(work, 'mo-data')));

    // Incremental: one object merged away, one new, the checkpoint rewritten.
    rmSync(path.join(work, 'mo-data/shared/018f7a41-1881-7999-bbd6-858c3d4acc10_00000'));
    writeFileSync(path.join(work, 'mo-data/shared/018f7a41-1881-7999-bbd6-858c3d4acc19_00000'), randomBytes(120_000));
    appendFileSync(path.join(work, 'mo-data/shared/ckp/meta_0-1.ckp'), randomBytes(500));
    const b2 = await mobr(['backup', '--backup_dir', 'filesystem', '--path', 'repo', '--data_dir', 'mo-data', '--backup_type', 'incremental', '--base_id', full, ...M], work);
    expect(b2.code, b2.stderr).toBe(0);
    const inc = backupId(b2.stdout);
    const json = JSON.parse((await mobr(['list', '--json', ...M], work)).stdout) as { backups: { id: string; backupType: string; baseId?: string }[] };
    expect(json.backups.map((b) => [b.id, b.backupType, b.baseId])).toEqual([[full, 'full', undefined], [inc, 'incremental', full]]);

    const r2 = await mobr(['restore', inc, '--restore_dir', 'filesystem', '--restore_path', 'mo2', ...M], work);
    expect(r2.code, r2.stderr).toBe(0);
    expect(fileHashes(path.join(work, 'mo2/mo-data'))).toEqual(fileHashes(path.join(work, 'mo-data')));

    // Without an ID: the newest backup at --backup_path.
    const r3 = await mobr(['restore', '--backup_dir', 'filesystem', '--backup_path', 'repo', '--restore_dir', 'filesystem', '--restore_path', 'mo3', ...M], work);
    expect(r3.code, r3.stderr).toBe(0);
    expect(fileHashes(path.join(work, 'mo3/mo-data'))).toEqual(fileHashes(path.join(work, 'mo-data')));

    const checkAll = await mobr(['check', '--backup_dir', 'filesystem', '--backup_path', 'repo', ...M], work);
    expect(checkAll.code, checkAll.stderr).toBe(0);
    expect(checkAll.stdout.split('\n').filter((l) => l.startsWith('check: ')).length).toBe(9 + 9);

    // Delete the full backup: the incremental still restores on its own.
    const del = await mobr(['delete', full, ...M], work);
    expect(del.code, del.stderr).toBe(0);
    expect((await mobr(['list', ...M], work)).stdout).not.toContain(full);
    const r4 = await mobr(['restore', inc, '--restore_dir', 'filesystem', '--restore_path', 'mo4', ...M], work);
    expect(r4.code, r4.stderr).toBe(0);
    expect(fileHashes(path.join(work, 'mo4/mo-data'))).toEqual(fileHashes(path.join(work, 'mo-data')));

    // --not_delete_data keeps the data: the repository still holds the backup.
    const keep = await mobr(['delete', inc, '--not_delete_data', ...M], work);
    expect(keep.code, keep.stderr).toBe(0);
    const left = await mobr(['check', '--backup_dir', 'filesystem', '--backup_path', 'repo', '--json', ...M], work);
    expect(JSON.parse(left.stdout).checks.map((c: { id: string }) => c.id)).toEqual([inc]);
  });

  it('damage: check names the damaged file and exits 1; list ID names missing data', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mobr-cli-dmg-'));
    mkdirSync(path.join(dir, 'mo-data'));
    writeFileSync(path.join(dir, 'mo-data/a'), randomBytes(50_000));
    const b = await mobr(['backup', '--backup_dir', 'filesystem', '--path', 'repo', '--data_dir', 'mo-data', ...M], dir);
    const id = backupId(b.stdout);
    const packs: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else packs.push(p);
      }
    };
    walk(path.join(dir, 'repo/data'));
    expect(packs.length).toBeGreaterThan(0);
    // Flip a byte in the middle of the pack (chunk data).
    const pack = packs[0];
    const bytes = readFileSync(pack);
    bytes[Math.floor(bytes.length / 3)] ^= 0xff;
    writeFileSync(pack, bytes);
    const check = await mobr(['check', id, ...M], dir);
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(/check: a FAILED: /);
    expect(check.stderr).toMatch(/^mo_br: check failed: 1 of 1 files of backup \S+ missing or damaged: a \(.*\)\n$/);

    rmSync(pack);
    const list = await mobr(['list', id, ...M], dir);
    expect(list.code).toBe(1);
    expect(list.stdout).toMatch(/check: a FAILED: /);
    expect(list.stderr).toMatch(/^mo_br: check failed: [^\n]*: a \([^\n]*\)\n$/);
    const skip = await mobr(['list', id, '--not_check_data', ...M], dir);
    expect(skip.code).toBe(0);
    expect(skip.stdout).not.toContain('Checking');
    expect(statSync(path.join(dir, 'mo_br.meta')).size).toBeGreaterThan(0);
    truncateSync(path.join(dir, 'mo_br.meta'), 10);
    const corrupt = await mobr(['list', ...M], dir);
    expect(corrupt.code).toBe(6);
  });
});

describe('S3 repository: keys from flags, never in the meta file', () => {
  let s3: S3Server;
  let work: string;
  beforeAll(async () => {
    ensureBuilt();
    s3 = await startS3Server({ bucket: 'bucket1' });
    work = mkdtempSync(path.join(tmpdir(), 'mobr-cli-s3-'));
    makeMoData(path.join(work, 'mo-data'));
  });
  afterAll(async () => {
    await s3?.stop();
  });

  it('backup, list ID, check, restore with keys; wrong keys fail in one line', async () => {
    const M = ['--meta_path', 'mo_br.meta'];
    const keys = ['--access_key_id', s3.accessKeyId, '--secret_access_key', s3.secretAccessKey];
    const b = await mobr(['backup', '--backup_dir', 's3', '--endpoint', s3.endpoint, '--bucket', s3.bucket, '--filepath', '/backup1', '--is_minio', ...keys, '--data_dir', 'mo-data', ...M], work);
    expect(b.stderr).toBe('');
    expect(b.code).toBe(0);
    const id = backupId(b.stdout);
    const meta = readFileSync(path.join(work, 'mo_br.meta'), 'utf8');
    expect(meta).not.toContain(s3.secretAccessKey);
    expect(meta).not.toContain(s3.accessKeyId);
    expect(meta).toContain(',s3:bucket=bucket1&filepath=%2Fbackup1&endpoint=');

    const list = await mobr(['list', id, ...keys, ...M], work);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain('BackupDir: s3');

    const check = await mobr(['check', id, '--backup_access_key_id', s3.accessKeyId, '--backup_secret_access_key', s3.secretAccessKey, ...M], work);
    expect(check.code, check.stderr).toBe(0);

    const restore = await mobr(['restore', id, '--backup_access_key_id', s3.accessKeyId, '--backup_secret_access_key', s3.secretAccessKey, '--restore_dir', 'filesystem', '--restore_path', 'mo1', ...M], work);
    expect(restore.code, restore.stderr).toBe(0);
    expect(fileHashes(path.join(work, 'mo1/mo-data'))).toEqual(fileHashes(path.join(work, 'mo-data')));

    const before = readFileSync(path.join(work, 'mo_br.meta'));
    const wrong = await mobr(['list', id, '--access_key_id', 'WRONGKEY', '--secret_access_key', 'WRONGSECRET', ...M], work);
    expect(wrong.code).toBe(4);
    expect(wrong.stderr).toMatch(/^mo_br: [^\n]+\n$/);
    expect(wrong.stderr).not.toContain('WRONGSECRET');
    expect(readFileSync(path.join(work, 'mo_br.meta'))).toEqual(before);
  });
});
