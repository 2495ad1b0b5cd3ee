/**
 * `./mo_br restore --restore_dir s3` against a real S3-protocol server: a server backup lands
 * where an operator-made cluster with shared storage `<bucket>/<filepath>` reads it
 * (`<filepath>/data/<object>` for SHARED, `<filepath>/hk_data` for the log service's BACKUP
 * fileservice), plain bytes, byte-exact; keys never appear in output or errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { backupTree } from '../src/backup/backup.js';
import { Repository } from '../src/repo/repository.js';
import { FsStore } from '../src/store/fs.js';
import { ensureBuilt, mobr } from './helpers/cli.js';
import { CKP, HK_DATA, OBJ, REWRITTEN, writeMoFolder } from './helpers/mo-folder.js';
import { startS3Server, type S3Server } from './helpers/s3server.js';

let s3: S3Server;
let work: string;
let repoDir: string;
let files: Map<string, Buffer>;
let client: S3Client;

beforeAll(async () => {
  ensureBuilt();
  s3 = await startS3Server();
  work = await mkdtemp(join(tmpdir(), 'mobr-rs3-'));
  files = await writeMoFolder(join(work, 'layout'), { configs: { dn: 'service-type = "TN"\n', log: 'service-type = "LOG"\n' }, sidecars: false });
  repoDir = join(work, 'repo');
  const repo = await Repository.openOrInit(new FsStore(repoDir));
  await backupTree(repo, join(work, 'layout'), { id: 'b1', source: { kind: 'matrixone' }, backupTs: '1715745404915410000-1' });
  await repo.close();
  client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
}, 60_000);
afterAll(async () => {
  client?.destroy();
  await s3?.stop();
  await rm(work, { recursive: true, force: true });
});

async function keys(prefix: string): Promise<string[]> {
  const r = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }));
  return (r.Contents ?? []).map((o) => o.Key!).sort();
}
async function object(key: string): Promise<Buffer> {
  const r = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

const restore = (filepath: string, extra: string[] = [], keyId = s3.accessKeyId) =>
  mobr([
    'restore', '--backup_dir', 'filesystem', '--backup_path', repoDir, '--meta_path', join(work, 'mo_br.meta'),
    '--restore_dir', 's3', '--restore_endpoint', s3.endpoint, '--restore_bucket', s3.bucket, '--restore_filepath', filepath,
    '--restore_access_key_id', keyId, '--restore_secret_access_key', s3.secretAccessKey, ...extra,
  ], work);

describe('restore into s3', () => {
  it('every --restore_* flag: objects under <filepath>/data, hk_data at <filepath>/hk_data, byte-exact; a second restore there is refused', async () => {
    const r = await restore('mycluster', ['--restore_region', 'us-east-1', '--restore_compression', 'none', '--restore_role_arn', 'arn:aws:iam::123456789012:role/restore', '--restore_is_minio']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(s3.assumed.map((a) => a.roleArn)).toContain('arn:aws:iam::123456789012:role/restore');
    expect(await keys('mycluster/')).toEqual([`mycluster/data/${CKP}`, `mycluster/data/${OBJ}`, `mycluster/data/${REWRITTEN}`, 'mycluster/hk_data'].sort());
    expect((await object(`mycluster/data/${OBJ}`)).equals(files.get(`tae/${OBJ}`)!)).toBe(true);
    expect((await object(`mycluster/data/${CKP}`)).equals(files.get(`tae/${CKP}`)!)).toBe(true);
    expect((await object('mycluster/hk_data')).equals(HK_DATA)).toBe(true);
    expect(r.stdout).toContain(`To\n    BackupDir: s3\n    Endpoint: ${s3.endpoint}\n    Bucket: ${s3.bucket}\n    FilePath: mycluster\n    Region: us-east-1\n`);
    expect(r.stdout).toContain('TaePath\n    mycluster/data\n');
    expect(r.stdout).toContain(`    ${OBJ} => mycluster/data/${OBJ}`);
    for (const out of [r.stdout, r.stderr]) expect(out.includes(s3.secretAccessKey) || out.includes(s3.accessKeyId)).toBe(false);

    const again = await restore('mycluster');
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/^mo_br: .*already holds cluster data \(data\/.*\); restore into an empty --restore_filepath\n$/);
  }, 60_000);

  it('the JSON document names the target without keys; unknown keys fail in one line that shows neither key (s3rver checks the key id, not signatures)', async () => {
    const r = await restore('/json-cluster/', ['--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(Object.keys(doc)[0]).toBe('schema');
    expect(doc).toMatchObject({ schema: 'mobr.restore.v1', to: { backupDir: 's3', bucket: s3.bucket, filepath: '/json-cluster/' }, taePath: 'json-cluster/data', taeFiles: 3 });
    expect(r.stdout.includes(s3.secretAccessKey)).toBe(false);
    expect(await keys('json-cluster/')).toContain('json-cluster/hk_data');

    const bad = await restore('other', [], 'AKUNKNOWNKEY123');
    expect(bad.code).toBe(4);
    expect(bad.stderr.split('\n').length).toBe(2);
    expect(bad.stderr.includes('AKUNKNOWNKEY123') || bad.stderr.includes(s3.secretAccessKey)).toBe(false);
    expect(await keys('other/')).toEqual([]);
  }, 60_000);
});
