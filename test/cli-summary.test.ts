/**
 * The summary at the end of backup, restore, check and sync: on stderr with --verbose (or a
 * terminal), never under --json or --quiet, and stdout unchanged by it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ensureBuilt, mobrIn as mobr } from './helpers/cli.js';
import { startS3Server, type S3Server } from './helpers/s3server.js';
import { formatBytes, formatHumanDuration } from '../src/cli/units.js';

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
    // one vocabulary: total = logical size, read = bytes read from the source, added = newly stored (as in stats)
    expect(first.stderr).toMatch(new RegExp(`^summary: backup ${id1}\\n  files      4 new, 0 changed, 0 unchanged \\(4\\)\\n  bytes      (\\S+) kB total, \\1 kB read, \\S+ (k)?B added\\n  duration   (\\d+ms|\\d+\\.\\ds)\\n  note       this new repository is not encrypted; to encrypt a new one, give a repository password \\(MO_BR_REPO_PASSWORD, --repo_password_file or --repo_password_command\\)\\n$`));
    // an unchanged re-backup reads nothing, adds nothing
    const same = await mobr([...B, '--verbose'], work);
    expect(same.stderr).toMatch(/^summary: backup \S+\n  files      0 new, 0 changed, 4 unchanged \(4\)\n  bytes      \S+ kB total, 0 B read, 0 B added\n/);
    appendFileSync(path.join(work, 'mo-data/shared/obj-1'), 'more');
    writeFileSync(path.join(work, 'mo-data/shared/obj-9'), 'new object');
    const second = await mobr([...B, '--verbose'], work);
    expect(second.stderr).toMatch(/^summary: backup \S+\n  files      1 new, 1 changed, 3 unchanged \(5\)\n/);
    const stats = JSON.parse((await mobr(['stats', '--backup_dir', 'filesystem', '--backup_path', 'repo', '--json'], work)).stdout);
    const secondId = backupId(second.stdout);
    const added = stats.repositories[0].backups.find((b: { id: string }) => b.id === secondId).addedBytes as number;
    expect(added).toBeGreaterThan(0);
    // read: the changed obj-1 (45 kB) and the new obj-9, not the 3 unchanged files; added: what stats calls added
    expect(second.stderr).toContain(`  bytes      180 kB total, 45 kB read, ${formatBytes(added)} added\n`);
    // stdout is the same with or without the summary; --json and --quiet print none
    expect(second.stdout).toMatch(/^Backup ID\n {4}\S+\n/);
    const json = await mobr([...B, '--verbose', '--json'], work);
    expect(json.stderr).toBe('');
    // --json has the same vocabulary (and keeps its fields): unchanged against the second backup
    expect(JSON.parse(json.stdout)).toMatchObject({ schema: 'mobr.backup.v1', files: 5, entries: 6, totalBytes: 4 * 45_000 + 'more'.length + 'new object'.length, readBytes: 0, addedBytes: 0, newFiles: 0, changedFiles: 0, unchangedFiles: 5 });
    const quiet = await mobr([...B, '--verbose', '--quiet'], work);
    expect(quiet.stderr).toBe('');
    const plain = await mobr(B, work);
    expect(plain.stderr).toBe(''); // not a terminal, no --verbose
  });

  it('durations for people, not Go\'s', () => {
    expect([0, 4e5, 3.2e7, 999.4e6, 999.8e6, 5_861_506_274, 59.96e9, 123e9, 3599.4e9, 3840e9].map(formatHumanDuration))
      .toEqual(['0s', '<1ms', '32ms', '999ms', '1.0s', '5.9s', '1m00s', '2m03s', '59m59s', '1h04m']);
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
    expect(r.stderr).toMatch(/^summary: sync BackupDir: filesystem {2}Path: \S+ -> BackupDir: s3 .*\n  files      6 backups copied, 0 already there; \d+ packs sent, 0 found there\n  bytes      \S+ (k)?B sent\n  duration   \S+\n  s3         (\d+) requests \((\d+ put|, |\d+ get|\d+ list|\d+ head|\d+ delete)+\), 0 retries\n$/);
  });
});
