/**
 * --limit_upload / --limit_download (KiB/s, issue #24): the token bucket on a clock the test moves,
 * then sync to S3 and a check of the S3 copy through ./mo_br, which cannot finish faster than the
 * limit allows (a lower bound only: a loaded machine makes them slower, never faster).
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimitedStore, TokenBucket } from '../src/store/rate-limit.js';
import { MemStore } from '../src/store/mem.js';
import { ensureBuilt, mobr } from './helpers/cli.js';
import { startS3Server, type S3Server } from './helpers/s3server.js';
import { pseudoRandom, tempDir, writeTree } from './helpers/tree.js';

describe('token bucket', () => {
  it('lets one second of bytes through at once, then the rate', async () => {
    let t = 0;
    let slept = 0;
    const bucket = new TokenBucket(100 * 1024, () => t, async (ms) => {
      slept += ms;
      t += ms;
    });
    for (let i = 0; i < 10; i++) await bucket.take(100 * 1024);
    expect(slept).toBeCloseTo(9000, 6);
    t += 5000; // idle: credit refills to one second only
    slept = 0;
    for (let i = 0; i < 3; i++) await bucket.take(100 * 1024);
    expect(slept).toBeCloseTo(2000, 6);
  });

  it('the store decorator counts puts and reads, not listings', async () => {
    const inner = new MemStore();
    const s = new RateLimitedStore(inner, { uploadKiBs: 1, downloadKiBs: 1 });
    const t0 = Date.now();
    await s.put('a', new Uint8Array(1024)); // within the first second's credit
    await s.put('b', new Uint8Array(512)); // half a second over
    expect(Date.now() - t0).toBeGreaterThanOrEqual(450);
    expect(await s.has('a')).toBe(true);
    expect((await s.get('a')).length).toBe(1024);
  });
});

describe('through ./mo_br', () => {
  let root: string;
  let s3: S3Server;
  const KiB = 1024;
  const SIZE = 800 * KiB;

  beforeAll(async () => {
    ensureBuilt();
    root = await tempDir('mobr-nightly-limits-');
    s3 = await startS3Server({ bucket: 'lim' });
    await writeTree(path.join(root, 'data'), [{ path: 'r.bin', data: pseudoRandom(5, SIZE), mode: 0o644 }]);
    const b = await mobr(['--meta_path', 'mo_br.meta', 'backup', '--data_dir', 'data', '--backup_dir', 'filesystem', '--path', 'repo'], root);
    expect(b.code).toBe(0);
  });
  afterAll(async () => {
    await s3?.stop();
    await fsp.rm(root, { recursive: true, force: true });
  });

  it('sync --limit_upload 200 sends 800 KiB in no less than 3 s; check --limit_download 200 reads it back no faster', async () => {
    const keys = ['--target_access_key_id', s3.accessKeyId, '--target_secret_access_key', s3.secretAccessKey];
    const sync = await mobr(['--meta_path', 'mo_br.meta', '--limit_upload', '200', 'sync', '--backup_dir', 'filesystem', '--backup_path', 'repo', '--target_dir', 's3', '--target_endpoint', s3.endpoint, '--target_bucket', s3.bucket, '--target_filepath', 'x', ...keys], root);
    expect(sync.stderr).toBe('');
    expect(sync.code).toBe(0);
    expect(sync.ms).toBeGreaterThanOrEqual(((SIZE / KiB - 200) / 200) * 1000); // all but the first second's credit at 200 KiB/s
    const check = await mobr(['--meta_path', 'mo_br.meta', '--limit_download', '200', 'check', '--backup_dir', 's3', '--backup_endpoint', s3.endpoint, '--backup_bucket', s3.bucket, '--backup_filepath', 'x', '--backup_access_key_id', s3.accessKeyId, '--backup_secret_access_key', s3.secretAccessKey], root);
    expect(check.code).toBe(0);
    expect(check.ms).toBeGreaterThanOrEqual(((SIZE / KiB - 200) / 200) * 1000);
    const bad = await mobr(['--limit_upload', 'fast', 'list'], root);
    expect([bad.code, bad.stderr]).toEqual([2, 'mo_br: bad --limit_upload "fast": want a whole number from 1 to 1073741824\n']);
  });
});
