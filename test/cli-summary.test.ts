/**
 * The summary at the end of backup, restore, check and sync: on stderr with --verbose (or a
 * terminal), never under --json or --quiet, and stdout unchanged by it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ensureBuilt, mobr } from './helpers/cli.js';
import { startS3Server, type S3Server } from './helpers/s3server.js';

const backupId = (stdout: string) => /Backup ID\n {4}([0-9a-f-]{36})\n/.exec(stdout)![1];

let work: string;
let s3: S3Server;
beforeAll(async () => {
  ensureBuilt();
  s3 = await startS3Server({ bucket: 'sum' });
  work = mkdtempSync(path.join(tmpdir(), 'mobr-summary-'));
  mkdirSync(path.join(work, 'mo-data/shared'), { recursive: true });
  for (let i = 0; i < 4; i++) writeFileSync(path.join(work, `mo-data/shared/obj-${i}`), `object ${i} `.repeat(5000));
});
afterAll(async () => {
  await s3?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('summary', () => {
  it('backup: new, changed and unchanged files against the previous backup of the same folder; bytes; duration', async () => {
    const B = ['backup', '--backup_dir', 'filesystem', '--path', 'repo', '--data_dir', 'mo-data', '--meta_path', 'm.meta'];
    const first = await mobr([...B, '--verbose'], work);
    expect(first.code).toBe(0);
    const id1 = backupId(first.stdout);
    expect(first.stderr).toMatch(new RegExp(`^summary: backup ${id1}\\n  files      4 new, 0 changed, 0 unchanged \\(4\\)\\n  bytes      \\S+ kB read, \\S+ kB added, \\S+ (k)?B stored\\n  duration   \\S+\\n$`));
    appendFileSync(path.join(work, 'mo-data/shared/obj-1'), 'more');
    writeFileSync(path.join(work, 'mo-data/shared/obj-9'), 'new object');
    const second = await mobr([...B, '--verbose'], work);
    expect(second.stderr).toMatch(/^summary: backup \S+\n  files      1 new, 1 changed, 3 unchanged \(5\)\n/);
    // stdout is the same with or without the summary; --json and --quiet print none
    expect(second.stdout).toMatch(/^Backup ID\n {4}\S+\n/);
    const json = await mobr([...B, '--verbose', '--json'], work);
    expect(json.stderr).toBe('');
    expect(JSON.parse(json.stdout).schema).toBe('mobr.backup.v1');
    const quiet = await mobr([...B, '--verbose', '--quiet'], work);
    expect(quiet.stderr).toBe('');
    const plain = await mobr(B, work);
    expect(plain.stderr).toBe(''); // not a terminal, no --verbose
  });

  it('check and restore', async () => {
    const id = JSON.parse((await mobr(['list', '--meta_path', 'm.meta', '--json'], work)).stdout).backups[0].id as string;
    const c = await mobr(['check', id, '--meta_path', 'm.meta', '--verbose'], work);
    expect(c.code).toBe(0);
    expect(c.stderr).toMatch(new RegExp(`^summary: check ${id}\\n  files      4 checked, 0 missing or damaged\\n  duration   \\S+\\n$`));
    const r = await mobr(['restore', id, '--meta_path', 'm.meta', '--restore_dir', 'filesystem', '--restore_path', 'out', '--verbose'], work);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`^summary: restore ${id}\\n  files      4 restored \\(\\d+ tae\\)\\n  bytes      \\S+ kB written\\n  duration   \\S+\\n$`));
  });

  it('sync to S3 counts the requests and retries', async () => {
    const r = await mobr(['sync', '--backup_dir', 'filesystem', '--backup_path', 'repo', '--target_dir', 's3', '--target_endpoint', s3.endpoint, '--target_bucket', s3.bucket, '--target_filepath', 'x', '--target_access_key_id', s3.accessKeyId, '--target_secret_access_key', s3.secretAccessKey, '--verbose'], work);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^summary: sync BackupDir: filesystem {2}Path: \S+ -> BackupDir: s3 .*\n  files      5 backups copied, 0 already there; \d+ packs sent, 0 found there\n  bytes      \S+ (k)?B sent\n  duration   \S+\n  s3         (\d+) requests \((\d+ put|, |\d+ get|\d+ list|\d+ head|\d+ delete)+\), 0 retries\n$/);
  });
});
