/**
 * The single-file build (deploy/single-file.mjs, issue #20.5): dist/mo_br.mjs copied alone into a
 * temp folder (no node_modules there or above) runs the seed's demo flow against the emulator:
 * backup, list, check, drop a database, restore, restart: the database is back. Its worker threads
 * start from the file itself (a preload logs each Worker's script), and with no .node binary
 * beside it BLAKE3, CRC-32C and zstd take their WASM paths.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ensureBuilt, ROOT } from './helpers/cli.js';
import { startEmulator } from './emulator/index.js';
import { sql } from './helpers/mo-target.js';

let work: string;
let single: string;
beforeAll(() => {
  ensureBuilt();
  execFileSync(process.execPath, [path.join(ROOT, 'deploy/single-file.mjs')], { cwd: ROOT, stdio: 'ignore' });
  work = mkdtempSync(path.join(tmpdir(), 'mobr-single-'));
  single = path.join(work, 'mo_br.mjs');
  copyFileSync(path.join(ROOT, 'dist/mo_br.mjs'), single);
  // a CommonJS preload: logs the script of every worker thread started
  writeFileSync(path.join(work, 'workers.cjs'), "const wt = require('node:worker_threads'); const W = wt.Worker; wt.Worker = class extends W { constructor(f, o) { process.stderr.write(`worker: ${f}\\n`); super(f, o); } };\n");
}, 60_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

type Run = { code: number | null; stdout: string; stderr: string };
const run = (args: string[]) =>
  new Promise<Run>((resolve) => {
    execFile(process.execPath, ['--require', './workers.cjs', single, ...args], { cwd: work, encoding: 'utf8', env: { PATH: process.env.PATH } }, (e, stdout, stderr) =>
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, stdout, stderr }));
  });
const databases = async (emu: { host: string; port: number }) => (await sql(emu, 'show databases')).map((r) => Object.values(r)[0] as string);

describe('dist/mo_br.mjs alone in a folder', () => {
  it('one file, nothing beside it; backup, list, check, restore against the emulator', async () => {
    for (let d = work; path.dirname(d) !== d; d = path.dirname(d)) expect(existsSync(path.join(d, 'node_modules')), d).toBe(false);
    expect(statSync(single).isFile()).toBe(true);
    const version = await run(['version']);
    expect(version.stdout).toContain(`version ${JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version}\n`);

    const home = path.join(work, 'mo');
    let emu = await startEmulator({ home });
    const conn = ['--host', emu.host, '--port', String(emu.port), '--user', 'dump', '--password', '111'];
    await sql(emu, 'create database db1', 'create database db2', 'create table db1.t (a int)', 'insert into db1.t values (1), (2), (3)');
    const full = await run(['backup', ...conn, '--backup_dir', 'filesystem', '--path', 'backups']);
    expect(full.code, full.stderr).toBe(0);
    const id = /Backup ID\n {4}(\S+)/.exec(full.stdout)![1]!;
    expect(full.stderr).toBe('');

    const list = await run(['list']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`${id} .*\\| +full +\\|`));
    const check = await run(['check', id]);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toContain('check: tae/tae_list');
    // dump decodes in worker threads whatever the size and load (a backup this small runs in the
    // main thread): its workers ran this file (piscina's worker.js is not on disk here)
    const dump = await run(['dump', id, 'tae/tae_list']);
    expect(dump.code, dump.stderr).toBe(0);
    expect(dump.stdout.length).toBeGreaterThan(0);
    expect(dump.stderr).toMatch(new RegExp(`^worker: ${single.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    expect(dump.stderr.split('\n').filter((l) => l && !l.startsWith('worker: '))).toEqual([]);

    await sql(emu, 'drop database db1');
    await emu.close();
    rmSync(path.join(home, 'mo-data'), { recursive: true, force: true });
    const restore = await run(['restore', id, '--restore_dir', 'filesystem', '--restore_path', home]);
    expect(restore.code, restore.stderr).toBe(0);
    expect(restore.stdout).toContain('TaePath\n    ./mo-data/shared\n');
    emu = await startEmulator({ home });
    try {
      expect(await databases(emu)).toEqual(expect.arrayContaining(['db1', 'db2']));
      expect(Object.values((await sql(emu, 'select count(*) from db1.t'))[0]!)[0]).toBe(3);
    } finally {
      await emu.close();
    }
  }, 120_000);
});
