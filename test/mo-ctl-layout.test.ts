/**
 * mo_ctl's default schedule through ./mo_br against the emulator (issue #20 item 5): each cron
 * full backup gets its own `--path <root>/<yyyymm>/<yyyymmdd_hhmmss>` (mo_ctl bin/auto_backup.sh,
 * BACKUP_DATA_PATH_AUTO_TS=yes); mo_ctl's incremental passes the base's PATH from `mo_br list`;
 * its clean step `rm -rf`s old dated folders. With mobr these share one repository `<root>/.mobr`:
 * the second full backup stores little, list/check work, and a removed folder's backups are
 * deleted by the next backup. mo_br runs in this process (mobrIn): what is tested is where
 * the commands put and find things, not a process of their own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import mysql from 'mysql2/promise';
import { DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { startS3Server, type S3Server } from './helpers/s3server.js';
import { ensureBuilt, mobrIn as mobr, ROOT } from './helpers/cli.js';
import { startEmulator, type Emulator } from './emulator/index.js';

let work: string;
let emu: Emulator;
let s3: S3Server;
beforeAll(async () => {
  ensureBuilt();
  work = mkdtempSync(path.join(tmpdir(), 'mobr-moctl-'));
  emu = await startEmulator({ home: path.join(work, 'mo'), objectSize: { min: 20_000, max: 40_000 } });
  s3 = await startS3Server({ bucket: 'matrix-qa' });
  const c = await mysql.createConnection({ host: emu.host, port: emu.port, user: 'dump', password: '111' });
  await c.query('create database db1');
  await c.query('create table db1.t (a int)');
  await c.query('insert into db1.t values (1), (2)');
  await c.end();
}, 60_000);
afterAll(async () => {
  await emu?.close();
  await s3?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("mo_ctl's dated --path folders", () => {
  it('share one repository above them: dedup, list, incremental on the listed PATH, check; rm -rf of a dated folder deletes its backups at the next run', async () => {
    const root = path.join(work, 'mo-backup');
    const meta = ['--meta_path', path.join(work, 'mo_br.meta')];
    /** What mo_ctl runs (mkdir -p, then mo_br backup … --path <dated>). */
    const moCtlFull = async (ts: string) => {
      const dated = path.join(root, ts.slice(0, 6), ts);
      mkdirSync(dated, { recursive: true });
      const r = await mobr(['backup', ...meta, '--parallelism', '2', '--host', emu.host, '--port', String(emu.port), '--user', 'dump', '--password', '111', '--backup_dir', 'filesystem', '--path', dated, '--json'], ROOT);
      expect(r.code, r.stderr).toBe(0);
      return { dated, ...(JSON.parse(r.stdout) as { id: string; addedBytes: number }), stderr: r.stderr };
    };
    const first = await moCtlFull('20261207_010000');
    const second = await moCtlFull('20261207_020000');
    const repo = path.join(root, '.mobr');
    expect(existsSync(path.join(repo, 'config'))).toBe(true);
    for (const d of [first.dated, second.dated]) {
      expect(readdirSync(d)).toEqual(['mo_br.backup']);
      expect(readFileSync(path.join(d, 'mo_br.backup'), 'utf8')).toContain(repo);
    }
    // the second full backup of an unchanged cluster stores a fraction of the first
    expect(second.addedBytes).toBeLessThan(first.addedBytes / 4);

    // mo_ctl's incremental: the base's PATH column from `mo_br list`, then --base_id
    const list = await mobr(['list', ...meta], ROOT);
    expect(list.stdout).toContain(first.id);
    // exactly as mo_ctl reads it (bin/auto_backup.sh at e3dacf9; test/mo-ctl-list.test.ts)
    const pipeline = `./mo_br list --meta_path "$META" | grep -A 4 "$ID" | tail -n 1 | awk -F "|" '{print $4}' | awk '{print $1}' | sed 's/ //g'`;
    const basePath = execFileSync('sh', ['-c', pipeline], { cwd: ROOT, env: { ...process.env, META: meta[1], ID: second.id }, encoding: 'utf8' }).trim();
    expect(basePath).toBe(repo);
    const inc = await mobr(['backup', ...meta, '--host', emu.host, '--port', String(emu.port), '--user', 'dump', '--password', '111', '--backup_dir', 'filesystem', '--path', basePath, '--backup_type', 'incremental', '--base_id', second.id], ROOT);
    expect(inc.code, inc.stderr).toBe(0);
    const incId = /Backup ID\n {4}(\S+)/.exec(inc.stdout)![1]!;
    expect((await mobr(['check', first.id, ...meta], ROOT)).code).toBe(0);

    // mo_ctl's clean: rm -rf the old dated folder; the next backup deletes its backup
    rmSync(first.dated, { recursive: true, force: true });
    const third = await moCtlFull('20261208_010000');
    expect(third.stderr).toContain(`removed 1 backup(s) whose folder is gone: ${first.id}`);
    const after = await mobr(['list', ...meta], ROOT);
    expect(after.stdout).not.toContain(first.id);
    for (const id of [second.id, incId, third.id]) expect(after.stdout).toContain(id);
    const inRepo = await mobr(['list', '--backup_dir', 'filesystem', '--backup_path', repo, '--json'], ROOT);
    expect(JSON.parse(inRepo.stdout).backups.map((b: { id: string }) => b.id).sort()).toEqual([second.id, incId, third.id].sort());

    // the incremental went with its base's folder, as mo_br keeps it there
    rmSync(second.dated, { recursive: true, force: true });
    const fourth = await moCtlFull('20261209_010000');
    expect(fourth.stderr).toContain(`removed 2 backup(s) whose folder is gone:`);
    const restoreTo = path.join(work, 'restored');
    const r = await mobr(['restore', third.id, ...meta, '--restore_dir', 'filesystem', '--restore_path', restoreTo], ROOT);
    expect(r.code, r.stderr).toBe(0);
  }, 120_000);
});

describe("mo_ctl's dated --filepath prefixes on S3 (BACKUP_PHYSICAL_TYPE=s3, the operator's cronjobs)", () => {
  it('share one repository beside the root: dedup, the incremental on the listed FilePath, nothing below the root that mc rm could take; a removed prefix deletes its backups', async () => {
    const meta = ['--meta_path', path.join(work, 'mo_br-s3.meta')];
    const target = ['--backup_dir', 's3', '--endpoint', s3.endpoint, '--access_key_id', s3.accessKeyId, '--secret_access_key', s3.secretAccessKey, '--bucket', s3.bucket, '--is_minio'];
    const login = ['--host', emu.host, '--port', String(emu.port), '--user', 'dump', '--password', '111'];
    const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
    const keys = async (prefix: string) => ((await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }))).Contents ?? []).map((o) => o.Key!);
    /** What mo_ctl runs: --filepath ${BACKUP_DATA_PATH}/<yyyymm>/<ts> (BACKUP_DATA_PATH=/mo-backup, as its cronjob yaml). */
    const moCtlFull = async (ts: string) => {
      const dated = `/mo-backup/${ts.slice(0, 6)}/${ts}`;
      const r = await mobr(['backup', ...meta, ...login, ...target, '--filepath', dated, '--json'], ROOT);
      expect(r.code, r.stderr).toBe(0);
      return { dated, ...(JSON.parse(r.stdout) as { id: string; addedBytes: number }), stderr: r.stderr };
    };
    const first = await moCtlFull('20261207_010000');
    const second = await moCtlFull('20261207_020000');
    expect(second.addedBytes).toBeLessThan(first.addedBytes / 4);
    expect(await keys('.mobr/mo-backup/config')).toEqual(['.mobr/mo-backup/config']);
    // below the root only the notes: mo_ctl's clean (mc ls the root, then each month) removes whatever is not a date
    expect((await keys('mo-backup/')).sort()).toEqual(['mo-backup/202612/20261207_010000/mo_br.backup', 'mo-backup/202612/20261207_020000/mo_br.backup']);

    // mo_ctl's incremental: the FilePath from `mo_br list` (bin/auto_backup.sh at e3dacf9), then --filepath and --base_id
    const pipeline = `./mo_br list --meta_path "$META" | grep -A 4 "$ID" | tail -n 1 | awk -F "|" '{print $4}' | awk '{print $1}' | sed 's/ //g'`;
    const basePath = execFileSync('sh', ['-c', pipeline], { cwd: ROOT, env: { ...process.env, META: meta[1], ID: second.id }, encoding: 'utf8' }).trim();
    expect(basePath).toBe('.mobr/mo-backup');
    const inc = await mobr(['backup', ...meta, ...login, ...target, '--filepath', basePath, '--backup_type', 'incremental', '--base_id', second.id], ROOT);
    expect(inc.code, inc.stderr).toBe(0);
    const incId = /Backup ID\n {4}(\S+)/.exec(inc.stdout)![1]!;

    // mo_ctl's clean: mc rm --recursive --force of the old dated prefix; the next backup deletes its backup
    const gone = await keys('mo-backup/202612/20261207_010000/');
    await client.send(new DeleteObjectsCommand({ Bucket: s3.bucket, Delete: { Objects: gone.map((Key) => ({ Key })) } }));
    const third = await moCtlFull('20261208_010000');
    expect(third.stderr).toContain(`removed 1 backup(s) whose folder is gone: ${first.id}`);
    expect(readFileSync(meta[1]!, 'utf8')).not.toContain(first.id);
    expect(await keys('.mobr/mo-backup.anchors/')).not.toContain(`.mobr/mo-backup.anchors/${first.id}`);
    const check = await mobr(['check', incId, ...meta, '--backup_access_key_id', s3.accessKeyId, '--backup_secret_access_key', s3.secretAccessKey], ROOT);
    expect(check.code, check.stderr).toBe(0);
    client.destroy();
  }, 120_000);
});
