/**
 * One cell of issue 11's matrix (test/mo-matrix-*.test.ts): ./mo_br against the MatrixOne
 * emulator configured as a real server of that kind: a full backup, rows inserted, a second
 * backup (incremental where the server has it; v1.1.2 has none, so a second full), the database
 * dropped, MatrixOne stopped and mo-data removed, a restore of the last backup, a restart on the
 * restored tree that reads every file through its backend (and HAKeeper IDs from hk_data), and
 * the rows read back by SQL. A GC has run before the first backup, as it has on a real cluster
 * (every 30 minutes). Small objects keep a cell to a few seconds; mo_br runs in this process
 * (mobrIn: a process of its own adds nothing a cell proves).
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { expect } from 'vitest';
import { startEmulator, type Backend } from '../emulator/index.js';
import { mobrIn as mobr, ROOT } from './cli.js';
import { sql } from './mo-target.js';
import type { S3Server } from './s3server.js';

const id = (out: string) => /Backup ID\n {4}(\S+)/.exec(out)![1]!;

export type Cell = [Backend, string, 'filesystem' | 's3'];

/**
 * Every release family on a filesystem target: before v1.1.2 and v1.2 on both backends; v2.1,
 * v3.0.x and v4.1.x (GC window rows listed with the GC meta's size) on DISK, their only backend
 * (DISK-V2 is v4.2+); v4.2 on DISK-V2. S3 (s3rver is slow) adds v4.1.x only.
 */
export const cells = (kind: 'filesystem' | 's3'): Cell[] => [
  ...(['DISK', 'DISK-V2'] as const).flatMap((b) => ['1.1.2', '1.2.0'].map((v): Cell => [b, v, kind])),
  ...(kind === 's3' ? ['4.1.4'] : ['2.1.0', '3.0.18', '4.1.4']).map((v): Cell => ['DISK', v, kind]),
  ...(kind === 's3' ? [] : [['DISK-V2', '4.2.0', kind] as Cell]),
];

export async function runCell(work: string, s3: S3Server | undefined, [backend, version, kind]: Cell): Promise<void> {
  const name = `${backend}-${version}-${kind}`;
  const home = path.join(work, name, 'mo');
  const meta = ['--meta_path', path.join(work, name, 'mo_br.meta')];
  const keys = s3 ? ['--access_key_id', s3.accessKeyId, '--secret_access_key', s3.secretAccessKey] : [];
  const repo = kind === 'filesystem'
    ? ['--backup_dir', 'filesystem', '--path', path.join(work, name, 'repo')]
    : ['--backup_dir', 's3', '--endpoint', s3!.endpoint, '--bucket', s3!.bucket, '--filepath', `/${name}`, '--is_minio', ...keys];
  const readKeys = kind === 's3' ? ['--backup_access_key_id', s3!.accessKeyId, '--backup_secret_access_key', s3!.secretAccessKey] : [];
  let last = '';
  let emu = await startEmulator({ home, backend, serverVersion: version, objectSize: { min: 1500, max: 3000 } });
  try {
    const conn = ['--host', emu.host, '--port', String(emu.port), '--user', 'dump', '--password', '111'];
    await sql(emu, 'create database db1', 'create table db1.t (a int)', 'insert into db1.t values (1), (2)');
    await emu.simulateDay({ newObjects: 1, mergeCount: 2, gc: true }); // GC runs every 30 minutes: a GC window in every backup
    const full = await mobr(['backup', ...conn, ...repo, ...meta], ROOT);
    expect(full.stderr, name).toBe('');
    expect(full.code).toBe(0);
    await sql(emu, 'insert into db1.t values (3)', 'insert into db1.t values (4)');
    const incremental = version !== '1.1.2';
    const second = await mobr(['backup', ...conn, ...repo, ...meta, ...(incremental ? ['--backup_type', 'incremental', '--base_id', id(full.stdout)] : [])], ROOT);
    expect(second.stderr, name).toBe('');
    expect(second.code).toBe(0);
    last = id(second.stdout);
    await sql(emu, 'drop database db1');
  } finally {
    await emu.close();
  }
  await rm(path.join(home, 'mo-data'), { recursive: true, force: true });
  const r = await mobr(['restore', last, ...readKeys, '--restore_dir', 'filesystem', '--restore_path', home, ...meta], ROOT);
  expect(r.stderr, name).toBe('');
  expect(r.code).toBe(0);
  // the restored tree is in the cluster's format: framed under DISK, raw under DISK-V2
  const sharedDir = path.join(home, 'mo-data', backend === 'DISK' ? 'shared' : 'shared2');
  const some = (await readdir(sharedDir)).find((f) => /_\d{5}$/.test(f))!;
  const b = await readFile(path.join(sharedDir, some));
  expect(b.subarray(0, 8).toString() === 'MOEMUOB1' || b.subarray(0, 8).toString() === 'MOEMUCD1').toBe(backend === 'DISK-V2');
  emu = await startEmulator({ home, objectSize: { min: 1500, max: 3000 } });
  try {
    expect(emu.hakeeper.restored, `${name}: hk_data where the log service reads it`).toBe(true);
    expect(await sql(emu, 'select count(*) from db1.t')).toEqual([{ 'count(*)': 4 }]);
  } finally {
    await emu.close();
  }
}
