/**
 * Issue #24.1 and #26.7, through ./mo_br: a catalog that names a repository mobr cannot open (an
 * S3 record without keys, a folder that is gone) never stops find, stats or prune on the others;
 * each names the repository it skipped. A record whose repository is gone can always be
 * forgotten: `delete --not_delete_data` opens no repository (mo_br's flag forgets the record),
 * `delete` of a record whose folder holds no repository forgets it, `meta rebuild` of such a
 * place removes its records.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, mobrIn as mobr } from './helpers/cli.js';
import { tempDir } from './helpers/tree.js';

const S3_ID = '3c6b7e70-f1fe-11f1-b120-d91ee9e67a33';
const S3_LINE = `${S3_ID},1 B,BackupDir: s3  Endpoint: http://127.0.0.1:9  Bucket: bk  FilePath: p,2026-12-07 05:21:52 +0000,1s,2026-12-07 05:21:54 +0000,1796620912600000000-0,full,mobr1,1,1796620912600,1000000000,1796620914056,s3:bucket=bk&filepath=p&endpoint=http%3A%2F%2F127.0.0.1%3A9&isMinio=1,,\n`;
// no keys anywhere: the SDK's chain must not wait for an instance metadata service
const env = { AWS_EC2_METADATA_DISABLED: 'true', AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_PROFILE: 'mobr-test-none', AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent' };
let root: string;
let meta: string;
const ids: string[] = [];

const run = (args: string[]) => mobr([...args, '--meta_path', meta], root, { env });

async function setMeta(text: string): Promise<void> {
  await fsp.writeFile(meta, text);
  await fsp.writeFile(`${meta}.sha256`, createHash('sha256').update(text).digest('hex'));
}

beforeAll(async () => {
  ensureBuilt();
  root = await tempDir('mobr-gone-');
  meta = path.join(root, 'mo_br.meta');
  for (const name of ['a', 'b']) {
    await fsp.mkdir(path.join(root, `d${name}`));
    await fsp.writeFile(path.join(root, `d${name}`, `file-${name}`), `data ${name}\n`);
    const r = await run(['backup', '--data_dir', `d${name}`, '--backup_dir', 'filesystem', '--path', `repo${name}`, '--json']);
    expect(r.code, r.stderr).toBe(0);
    ids.push(JSON.parse(r.stdout).id);
  }
  await setMeta((await fsp.readFile(meta, 'utf8')) + S3_LINE);
}, 30_000);
afterAll(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

describe('a repository mobr cannot open', () => {
  it('find works on the others and names it, exit 4', async () => {
    const r = await run(['find', 'file-*']);
    expect(r.stdout).toContain('file-a');
    expect(r.stdout).toContain('file-b');
    expect(r.code).toBe(4);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^mo_br: 1 of 3 repositories skipped .*Bucket: bk .*no S3 credentials/);
  });

  it('stats --json lists the others and the skipped one', async () => {
    const r = await run(['stats', '--json']);
    const doc = JSON.parse(r.stdout);
    expect(doc.repositories).toHaveLength(2);
    expect(doc.skipped).toEqual([expect.objectContaining({ code: 'AUTH_FAILED', location: expect.objectContaining({ bucket: 'bk' }) })]);
    expect(r.code).toBe(4);
  });

  it('prune works on the repositories it reaches and names the others', async () => {
    const r = await run(['prune', '--keep_last', '1', '--dry_run']);
    expect(r.stdout).toContain(`keep    ${ids[0]}`);
    expect(r.stdout).toContain(`keep    ${ids[1]}`);
    expect(r.stderr).toMatch(/1 of 3 repositories skipped .*Bucket: bk/);
    expect(r.code).toBe(4);
  });
});

describe('a record whose repository is gone', () => {
  it('delete says how to forget it; --not_delete_data forgets it without opening anything', async () => {
    const d = await run(['delete', S3_ID]);
    expect(d.code).toBe(4);
    expect(d.stderr).toContain(`mo_br delete ${S3_ID} --not_delete_data`);
    const r = await run(['delete', S3_ID, '--not_delete_data']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/record of backup .* removed .* its data in BackupDir: s3/);
    expect(await fsp.readFile(meta, 'utf8')).not.toContain(S3_ID);
  });

  it('delete of a record whose folder holds no repository forgets the record', async () => {
    await fsp.rm(path.join(root, 'repob'), { recursive: true });
    const r = await run(['delete', ids[1]]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/its repository .*repob is gone/);
    expect(await fsp.readFile(meta, 'utf8')).not.toContain(ids[1]);
  });

  it('meta rebuild of a place with no repository removes its records, then says there is none', async () => {
    await fsp.rm(path.join(root, 'repoa'), { recursive: true });
    const r = await run(['meta', 'rebuild', '--backup_dir', 'filesystem', '--backup_path', 'repoa']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('1 removed');
    expect(await fsp.readFile(meta, 'utf8')).toBe('');
    const again = await run(['meta', 'rebuild', '--backup_dir', 'filesystem', '--backup_path', 'repoa']);
    expect(again.code).toBe(3);
  });
});
