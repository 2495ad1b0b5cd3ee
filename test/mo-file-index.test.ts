/**
 * Server-side dedup (spec/matrixone.md, "Server-side dedup"): before a server backup of a
 * v3.0.6+ cluster, mobr seeds its staging folder with a `file_index_<ts>.idx` naming the objects
 * the repository's previous server backup holds, framed as the server reads it; the server then
 * copies only the objects it does not name, and mobr takes the others from the repository. A
 * second FULL backup through ./mo_br against the emulator: the server copies a fraction of what
 * the first did, the backup checks and restores the rows; v3.0.5 (no file index) copies it all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Manifest } from '../src/repo/manifest.js';
import { Repository } from '../src/repo/repository.js';
import { openStore } from '../src/store/open.js';
import { startEmulator, type Backend } from './emulator/index.js';
import { unframe } from './emulator/localfs.js';
import { ensureBuilt, mobrIn as mobr, ROOT } from './helpers/cli.js';
import { sql } from './helpers/mo-target.js';

let work: string;
let n = 0;
beforeAll(async () => {
  ensureBuilt();
  work = await mkdtemp(path.join(tmpdir(), 'mobr-fileidx-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

const idOf = (out: string) => /Backup ID\n {4}(\S+)/.exec(out)![1]!;

/** Two full backups of one cluster with a day of churn between; the manifests, and the restored row count. */
async function twoFulls(version: string, backend: Backend, restore: boolean): Promise<{ first: Manifest; second: Manifest; rows?: unknown }> {
  const base = path.join(work, `c${n++}`);
  const home = path.join(base, 'mo');
  const repoDir = path.join(base, 'repo');
  const meta = ['--meta_path', path.join(base, 'mo_br.meta')];
  let emu = await startEmulator({ home, backend, serverVersion: version, objectSize: { min: 20_000, max: 30_000 } });
  const ids: string[] = [];
  try {
    const conn = ['--host', emu.host, '--port', String(emu.port), '--user', 'dump', '--password', '111', '--backup_dir', 'filesystem', '--path', repoDir, ...meta];
    await sql(emu, 'create database db1', 'create table db1.t (a int)', 'insert into db1.t values (1), (2)');
    await emu.simulateDay({ newObjects: 12, mergeCount: 4, gc: true });
    for (let i = 0; i < 2; i++) {
      const b = await mobr(['backup', ...conn], ROOT);
      expect(b.code, b.stderr).toBe(0);
      ids.push(idOf(b.stdout));
      await emu.simulateDay({ newObjects: 1 });
    }
    await sql(emu, 'drop database db1');
  } finally {
    await emu.close();
  }
  let rows: unknown;
  if (restore) {
    const c = await mobr(['check', ids[1]!, ...meta], ROOT);
    expect(c.code, c.stderr).toBe(0);
    await rm(path.join(home, 'mo-data'), { recursive: true, force: true });
    const r = await mobr(['restore', ids[1]!, '--restore_dir', 'filesystem', '--restore_path', home, ...meta], ROOT);
    expect(r.code, r.stderr).toBe(0);
    emu = await startEmulator({ home });
    try {
      rows = await sql(emu, 'select count(*) from db1.t');
    } finally {
      await emu.close();
    }
  }
  const repo = await Repository.open(openStore({ backupDir: 'filesystem', path: repoDir }));
  try {
    return { first: await repo.loadManifest(ids[0]!), second: await repo.loadManifest(ids[1]!), rows };
  } finally {
    await repo.close();
  }
}

const staged = (m: Manifest) => m.extra!.stagedBytes as number;

describe('a full backup of a v3.0.6+ cluster: the server copies only what the repository lacks', () => {
  for (const [version, backend, restore] of [['3.0.6', 'DISK', true], ['4.2.0', 'DISK-V2', false]] as const) {
    it(`v${version} ${backend}: the second full backup stages a fraction of the first${restore ? '; check and restore' : ''}`, { timeout: 60_000 }, async () => {
      const { first, second, rows } = await twoFulls(version, backend, restore);
      expect(second.type).toBe('full');
      expect(second.extra!.carriedFiles as number).toBeGreaterThan(10);
      expect(staged(second)).toBeLessThan(staged(first) / 2);
      expect(second.files.some((f) => f.path.includes('file_index_'))).toBe(false);
      expect(second.extra!.ignored).toBeUndefined();
      if (restore) expect(rows).toEqual([{ 'count(*)': 2 }]);
      console.log(`file index, v${version} ${backend}: first full ${staged(first)} B staged, second full ${staged(second)} B (${second.extra!.carriedFiles} objects not copied)`);
    });
  }

  it('v3.0.5 reads no file index: its second full backup copies everything again', { timeout: 60_000 }, async () => {
    const { first, second } = await twoFulls('3.0.5', 'DISK', false);
    expect(second.extra!.carriedFiles).toBe(0);
    expect(staged(second)).toBeGreaterThan(staged(first) / 2);
    console.log(`no file index, v3.0.5 DISK: first full ${staged(first)} B staged, second full ${staged(second)} B`);
  });
});

describe('the index mobr writes (src/mo/file-index.ts)', () => {
  it('which servers read it, its bytes and framing', async () => {
    const { fileIndexBytes, fileIndexFramed, readsFileIndex } = await import('../src/mo/file-index.js');
    expect(['8.0.30-MatrixOne-v3.0.5', '8.0.30-MatrixOne-v2.2.2', '8.0.30-MatrixOne-v1.2.0'].map(readsFileIndex)).toEqual([false, false, false]);
    expect(['8.0.30-MatrixOne-v3.0.6', '8.0.30-MatrixOne-v3.1.0', '8.0.30-MatrixOne-v4.2.0', '8.0.30 something else'].map(readsFileIndex)).toEqual([true, true, true, true]);
    expect(Buffer.from(fileIndexBytes(['a_00001', 'b_00002'], false)).toString()).toBe('a_00001\nb_00002\n');
    // LocalFS-framed: the emulator's own reader (written from pkg/fileservice) checks every block's CRC
    const many = Array.from({ length: 300 }, (_, i) => `0193a0b2-7c3d-7e4f-8a9b-${String(i).padStart(12, '0')}_00000`);
    expect(unframe(Buffer.from(fileIndexBytes(many, true))).toString()).toBe(many.map((x) => `${x}\n`).join(''));
    const fs = { target: { kind: 'filesystem' } } as never;
    const s3 = { target: { kind: 's3' } } as never;
    const prev = (moFraming: string) => ({ extra: { moFraming } }) as never;
    expect(fileIndexFramed('8.0.30-MatrixOne-v4.1.4', fs, prev('raw'))).toBe(true); // LocalFS always, up to v4.1.x
    expect(fileIndexFramed('8.0.30-MatrixOne-v4.2.0', fs, prev('raw'))).toBe(false); // follows SHARED: DISK-V2
    expect(fileIndexFramed('8.0.30-MatrixOne-v4.2.0', fs, prev('crc'))).toBe(true);
    expect(fileIndexFramed('8.0.30-MatrixOne-v3.0.6', s3, prev('crc'))).toBe(false);
  });
});
