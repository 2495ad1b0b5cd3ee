/**
 * A backup never takes over a folder or S3 prefix that is not a repository (issue #26.5;
 * spec/reliability.md §9): `backup --path` and `openRepository({ create: true })` make a
 * repository only in an empty folder or prefix (or open the one there); anything else is refused
 * as bad input, and its files are left exactly as they were.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { openRepository, isMobrError } from '../../src/index.js';
import { S3Store } from '../../src/store/s3.js';
import { ensureBuilt, mobrIn as mobr } from '../helpers/cli.js';
import { startS3Server, type S3Server } from '../helpers/s3server.js';

let work: string;
let server: S3Server;
beforeAll(async () => {
  ensureBuilt();
  work = mkdtempSync(path.join(tmpdir(), 'mobr-foreign-'));
  server = await startS3Server();
}, 20_000);
afterAll(async () => {
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('a location that holds other files is never made a repository', () => {
  it('backup --path at a non-empty folder exits 2 and leaves its files as they were; an empty one works', async () => {
    mkdirSync(path.join(work, 'mo-data/etc'), { recursive: true });
    writeFileSync(path.join(work, 'mo-data/etc/tn.toml'), '[tn]\n');
    const other = path.join(work, 'other');
    mkdirSync(path.join(other, 'locks'), { recursive: true });
    mkdirSync(path.join(other, 'index'), { recursive: true });
    writeFileSync(path.join(other, 'locks/deploy.lock'), 'mine');
    writeFileSync(path.join(other, 'index/index.html'), '<p>site</p>');
    const M = ['--meta_path', path.join(work, 'mo_br.meta')];
    const r = await mobr(['backup', '--backup_dir', 'filesystem', '--path', 'other', '--data_dir', 'mo-data', ...M], work);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/other is not empty and holds no mobr repository/);
    expect(readdirSync(other).sort()).toEqual(['index', 'locks']);
    expect(readFileSync(path.join(other, 'locks/deploy.lock'), 'utf8')).toBe('mine');
    mkdirSync(path.join(work, 'empty'));
    const ok = await mobr(['backup', '--backup_dir', 'filesystem', '--path', 'empty', '--data_dir', 'mo-data', ...M], work);
    expect(ok.code, ok.stderr).toBe(0);
    const again = await mobr(['backup', '--backup_dir', 'filesystem', '--path', 'empty', '--data_dir', 'mo-data', ...M], work);
    expect(again.code, again.stderr).toBe(0); // a repository is opened, not refused
  });

  it('openRepository({ create: true }) refuses an S3 prefix holding other objects, and creates one in an empty prefix', async () => {
    const store = (prefix: string) => new S3Store({ endpoint: server.endpoint, bucket: server.bucket, accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey, prefix });
    const site = store('site');
    await site.put('backups/2024.sql.gz', new Uint8Array([1, 2, 3]));
    const loc = (filepath: string) => ({ backupDir: 's3' as const, endpoint: server.endpoint, bucket: server.bucket, filepath, isMinio: true });
    const creds = { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey };
    let err: unknown;
    await openRepository(loc('site'), { create: true, credentials: creds }).catch((e) => (err = e));
    expect(isMobrError(err, 'BAD_INPUT')).toBe(true);
    expect((err as Error).message).toMatch(/is not empty and holds no mobr repository \(it has "backups\/2024.sql.gz"\)/);
    const keys: string[] = [];
    for await (const e of site.list('')) keys.push(e.key);
    expect(keys).toEqual(['backups/2024.sql.gz']);
    const repo = await openRepository(loc('fresh'), { create: true, credentials: creds });
    expect(repo.config.version).toBe(1);
    await repo.close();
  });
});
