/**
 * Issue #25 "a restore to S3 stops on the first Ctrl-C within seconds": `./mo_br restore
 * --restore_dir s3` whose uploads hang (a proxy in front of S3 never answers a PUT) gets SIGINT
 * once its first PUT is in flight: it exits 130 with one line within seconds (not after the S3
 * response timeout), and no object landed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ChildProcess } from 'node:child_process';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { backupTree } from '../src/backup/backup.js';
import { Repository } from '../src/repo/repository.js';
import { FsStore } from '../src/store/fs.js';
import { ensureBuilt, mobr } from './helpers/cli.js';
import { writeMoFolder } from './helpers/mo-folder.js';
import { startS3Server, type S3Server } from './helpers/s3server.js';
import { startFaultProxy, type FaultProxy } from './helpers/faultproxy.js';
import { until } from './helpers/until.js';

let s3: S3Server;
let proxy: FaultProxy;
let work: string;
let repoDir: string;

beforeAll(async () => {
  ensureBuilt();
  s3 = await startS3Server();
  proxy = await startFaultProxy(s3.endpoint);
  work = await mkdtemp(join(tmpdir(), 'mobr-rs3-stop-'));
  await writeMoFolder(join(work, 'layout'), { configs: { dn: 'service-type = "TN"\n', log: 'service-type = "LOG"\n' }, sidecars: false });
  repoDir = join(work, 'repo');
  const repo = await Repository.openOrInit(new FsStore(repoDir));
  await backupTree(repo, join(work, 'layout'), { id: 'b1', source: { kind: 'matrixone' }, backupTs: '1715745404915410000-1' });
  await repo.close();
}, 60_000);
afterAll(async () => {
  await proxy?.stop();
  await s3?.stop();
  await rm(work, { recursive: true, force: true });
});

describe('restore to S3 stops on Ctrl-C (issue #25)', () => {
  it('SIGINT while its uploads hang: exit 130, one line, within seconds; no object landed', async () => {
    proxy.inject({ fault: 'hang', method: 'PUT', times: Infinity });
    let child: ChildProcess | undefined;
    const run = mobr([
      'restore', 'b1', '--backup_dir', 'filesystem', '--backup_path', repoDir, '--meta_path', join(work, 'mo_br.meta'),
      '--restore_dir', 's3', '--restore_endpoint', proxy.endpoint, '--restore_bucket', s3.bucket, '--restore_filepath', 'stopped',
      '--restore_access_key_id', s3.accessKeyId, '--restore_secret_access_key', s3.secretAccessKey,
    ], work, { onSpawn: (p) => (child = p), killAfterMs: 100_000 }); // a hang guard, not a timing: a CLI starts slowly at load 40
    await until(() => proxy.log.some((r) => r.method === 'PUT'), 30_000, 'the first upload');
    const t0 = performance.now();
    child!.kill('SIGINT');
    const r = await run;
    const took = performance.now() - t0;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/^mo_br: interrupted \(SIGINT\)[^\n]*\n$/);
    expect(took, 'stopped on the signal, before the S3 response timeout (25 s) could end the hung PUT').toBeLessThan(25_000);
    const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
    try {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'stopped/' }));
      expect(listed.Contents ?? []).toEqual([]);
    } finally {
      client.destroy();
    }
  }, 120_000);
});
