/**
 * The browsing commands on S3 and on a MatrixOne server backup, and restore --include/--exclude
 * over random trees (fast-check), all through ./mo_br (spec/browse.md).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import mysql from 'mysql2/promise';
import { ensureBuilt, mobrIn as mobr } from './helpers/cli.js';
import { startS3Server, type S3Server } from './helpers/s3server.js';
import { pseudoRandom, readTree, treeArb, writeTree } from './helpers/tree.js';
import { startEmulator } from './emulator/index.js';

const backupId = (stdout: string) => /Backup ID\n {4}([0-9a-f-]{36})\n/.exec(stdout)![1];

/** mobr (in-process) with stdout kept as bytes (dump writes binary). */
async function mobrBytes(args: string[], cwd: string): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  const r = await mobr(args, cwd);
  return { code: r.code, stdout: r.stdoutBytes, stderr: r.stderr };
}

let work: string;
beforeAll(() => {
  ensureBuilt();
  work = mkdtempSync(path.join(tmpdir(), 'mobr-browse-more-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('on S3', () => {
  let s3: S3Server;
  let dir: string;
  let id1: string;
  let id2: string;
  let keys: string[];
  let at: string[];
  const big = pseudoRandom(11, 1_500_000);
  beforeAll(async () => {
    s3 = await startS3Server({ bucket: 'browse' });
    dir = path.join(work, 's3');
    mkdirSync(path.join(dir, 'mo-data/shared'), { recursive: true });
    writeFileSync(path.join(dir, 'mo-data/shared/obj-1'), big);
    writeFileSync(path.join(dir, 'mo-data/tn.toml'), 'a = 1\n');
    keys = ['--access_key_id', s3.accessKeyId, '--secret_access_key', s3.secretAccessKey];
    const to = ['--backup_dir', 's3', '--endpoint', s3.endpoint, '--bucket', s3.bucket, '--filepath', '/mo', '--is_minio', ...keys, '--meta_path', 'm'];
    const b1 = await mobr(['backup', '--data_dir', 'mo-data', ...to], dir);
    expect(b1.code, b1.stderr).toBe(0);
    writeFileSync(path.join(dir, 'mo-data/shared/obj-2'), pseudoRandom(12, 300_000));
    const b2 = await mobr(['backup', '--data_dir', 'mo-data', ...to], dir);
    expect(b2.code, b2.stderr).toBe(0);
    [id1, id2] = [backupId(b1.stdout), backupId(b2.stdout)];
    at = ['--backup_dir', 's3', '--backup_endpoint', s3.endpoint, '--backup_bucket', s3.bucket, '--backup_filepath', '/mo', '--backup_is_minio', '--backup_access_key_id', s3.accessKeyId, '--backup_secret_access_key', s3.secretAccessKey, '--meta_path', 'none'];
  }, 120_000);
  afterAll(async () => {
    await s3?.stop();
  });

  it('ls and find, by place without a catalog and by ID with one', async () => {
    const [ls, lsCat, findRun] = await Promise.all([
      mobr(['ls', id2, ...at], dir),
      mobr(['ls', id1, '--json', ...keys, '--meta_path', 'm'], dir),
      mobr(['find', 'obj-*', '--json', ...at], dir),
    ]);
    expect([ls.code, ls.stdout]).toEqual([0, 'shared/\nshared/obj-1\nshared/obj-2\ntn.toml\n']);
    expect(JSON.parse(lsCat.stdout).entries.map((e: { path: string }) => e.path)).toEqual(['shared', 'shared/obj-1', 'tn.toml']);
    const find = JSON.parse(findRun.stdout);
    expect(find.backups.map((b: { id: string; entries: unknown[] }) => [b.id, b.entries.length])).toEqual([[id2, 2], [id1, 1]]);
    expect(find.backups[0].location).toEqual({ backupDir: 's3', endpoint: s3.endpoint, bucket: 'browse', filepath: '/mo', isMinio: true });
    for (const out of [ls.stdout, lsCat.stdout, findRun.stdout]) expect(out).not.toContain(s3.secretAccessKey);
  });

  it('diff and stats by place', async () => {
    const [d, st] = await Promise.all([mobr(['diff', id1, id2, '--json', ...at], dir), mobr(['stats', '--json', ...at], dir)]);
    const diff = JSON.parse(d.stdout);
    expect(diff.new.map((e: { path: string }) => e.path)).toEqual(['shared/obj-2']);
    expect(diff.repository.addedRawBytes).toBe(300_000);
    const stats = JSON.parse(st.stdout);
    expect(stats.repositories[0].backups.map((b: { id: string }) => b.id)).toEqual([id1, id2]);
  });

  it('dump and restore --include, byte-identical', async () => {
    const [dump, r] = await Promise.all([
      mobrBytes(['dump', id1, 'shared/obj-1', ...keys, '--meta_path', 'm'], dir),
      mobr(['restore', id2, '--restore_dir', 'filesystem', '--restore_path', 'out', '--include', 'obj-2', ...at], dir),
    ]);
    expect(dump.code, dump.stderr).toBe(0);
    expect(dump.stdout.equals(Buffer.from(big))).toBe(true);
    expect(r.code, r.stderr).toBe(0);
    const got = await readTree(path.join(dir, 'out/mo-data'));
    expect([...got.keys()]).toEqual(['shared/obj-2']);
    expect(got.get('shared/obj-2')!.data.equals(Buffer.from(pseudoRandom(12, 300_000)))).toBe(true);
  });
});

describe('names that are not UTF-8', () => {
  it('ls shows \\xNN and JSON carries the bytes; dump takes the shown form', async () => {
    const dir = path.join(work, 'bytes');
    mkdirSync(path.join(dir, 'src'), { recursive: true });
    const name = Buffer.concat([Buffer.from(path.join(dir, 'src/bad')), Buffer.from([0xff, 0x41])]);
    writeFileSync(name, 'byte name\n');
    const b = await mobr(['backup', '--backup_dir', 'filesystem', '--path', 'repo', '--data_dir', 'src', '--meta_path', 'm'], dir);
    expect(b.code, b.stderr).toBe(0);
    const id = backupId(b.stdout);
    const ls = await mobr(['ls', id, '--meta_path', 'm'], dir);
    expect(ls.stdout).toBe('bad\\xffA\n');
    const j = JSON.parse((await mobr(['ls', id, '--json', '--meta_path', 'm'], dir)).stdout);
    expect(j.entries).toEqual([expect.objectContaining({ path: 'bad\\xffA', pathBytes: Buffer.from([0x62, 0x61, 0x64, 0xff, 0x41]).toString('base64') })]);
    const d = await mobrBytes(['dump', id, 'bad\\xffA', '--meta_path', 'm'], dir);
    expect([d.code, d.stdout.toString()]).toEqual([0, 'byte name\n']);
  }, 60_000);
});

describe('a MatrixOne server backup', () => {
  it('ls --long shows the tae_list columns; --json has them as taeList', async () => {
    const home = path.join(work, 'mo');
    const emu = await startEmulator({ home });
    try {
      const conn = ['--host', emu.host, '--port', String(emu.port), '--user', 'dump', '--password', '111'];
      const c = await mysql.createConnection({ host: emu.host, port: emu.port, user: 'dump', password: '111' });
      await c.query('create database db1');
      await c.query('create table db1.t (a int)');
      await c.query('insert into db1.t values (1), (2)');
      await c.end();
      const b = await mobr(['backup', ...conn, '--backup_dir', 'filesystem', '--path', path.join(work, 'mo-repo'), '--meta_path', path.join(work, 'mo.meta')], work);
      expect(b.code, b.stderr).toBe(0);
      const id = backupId(b.stdout);
      const long = await mobr(['ls', id, 'tae', '--long', '--meta_path', path.join(work, 'mo.meta')], work);
      expect(long.code, long.stderr).toBe(0);
      const lines = long.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^MODE +SIZE +MTIME +CHECKSUM +NEEDCOPY +TS +PATH$/);
      const rows = lines.slice(1).filter((l) => l.startsWith('-'));
      const listed = rows.filter((l) => /\s(true|false)\s+\d+-\d+\s+tae\//.test(l));
      expect(listed.length).toBeGreaterThan(0);
      for (const l of listed) expect(l).toMatch(/^-\S+ +\d+ +\S+Z +([0-9a-f]{64}|-) +(true|false) +\d+-\d+ +tae\/\S+$/);
      // tae_list and tae_sum are not rows of tae_list: dashes
      expect(rows.find((l) => l.endsWith(' tae/tae_list'))).toMatch(/ - +- +- +tae\/tae_list$/);
      const j = JSON.parse((await mobr(['ls', id, '--json', '--meta_path', path.join(work, 'mo.meta')], work)).stdout);
      expect(j.backup.source).toBe('matrixone');
      const withTae = j.entries.filter((e: { taeList?: unknown }) => e.taeList);
      expect(withTae.length).toBe(listed.length);
      expect(withTae[0].taeList).toEqual({ checksum: expect.stringMatching(/^([0-9a-f]{64})?$/), needCopy: expect.any(Boolean), ts: expect.stringMatching(/^\d+-\d+$/) });
    } finally {
      await emu.close();
    }
  }, 120_000);
});

describe('restore --include/--exclude over random trees', () => {
  it('restores exactly the chosen files, byte-identical with their modes (fast-check)', async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(treeArb(6, 40_000).filter((t) => t.length > 0), fc.nat(), fc.nat(), fc.boolean(), async (files, pick, other, withExclude) => {
        const dir = path.join(work, `prop-${round++}`);
        await writeTree(path.join(dir, 'src'), files);
        const b = await mobr(['backup', '--backup_dir', 'filesystem', '--path', 'repo', '--data_dir', 'src', '--meta_path', 'm'], dir);
        expect(b.code, b.stderr).toBe(0);
        const chosen = files[pick % files.length].path.split('/');
        const include = `/${chosen.slice(0, 1 + (pick % chosen.length)).join('/')}`;
        const exclude = withExclude ? files[other % files.length].path : undefined;
        const under = (p: string, top: string) => p === top || p.startsWith(`${top}/`);
        // a literal pattern without a leading '/' matches from any segment on, and takes what is below it
        const excluded = (p: string) => exclude !== undefined && `/${p}/`.includes(`/${exclude}/`);
        const want = files.filter((f) => under(f.path, include.slice(1)) && !excluded(f.path));
        const args = ['restore', backupId(b.stdout), '--restore_dir', 'filesystem', '--restore_path', 'out', '--include', include, ...(exclude ? ['--exclude', exclude] : []), '--meta_path', 'm'];
        const r = await mobr(args, dir);
        if (want.length === 0) {
          expect(r.code, r.stderr).toBe(3);
          return;
        }
        expect(r.code, r.stderr).toBe(0);
        const got = await readTree(path.join(dir, 'out/mo-data'));
        expect([...got.keys()].sort()).toEqual(want.map((f) => f.path).sort());
        for (const f of want) {
          expect(got.get(f.path)!.data.equals(Buffer.from(f.data)), f.path).toBe(true);
          expect(got.get(f.path)!.mode).toBe(f.mode);
        }
        rmSync(dir, { recursive: true, force: true });
      }),
      { numRuns: 3 },
    );
  }, 180_000);
});
