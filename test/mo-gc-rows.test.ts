/**
 * GC window rows (spec/matrixone.md, "GC window rows"): from v2.0.1 to v4.1.x MatrixOne's
 * CopyGCDir lists each object a GC meta's window names with the GC meta's size, its SHA-256 being
 * the object's own; v4.2.0 lists the object's size. Through ./mo_br against the emulator at those
 * versions (v2.1 and v3.0.x: the release matrix, test/mo-matrix-*.test.ts), after a GC: the backup is stored (exit 0), the manifest keeps what the row said
 * (`x.listedSize`), the summary says so once and `--json` names the files, `check` passes, and the server's own BACKUP folder
 * checks too. A window object whose bytes match neither the listed size nor the SHA-256 is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { backupFromMatrixOne } from '../src/mo/ingest.js';
import { Repository } from '../src/repo/repository.js';
import { openStore } from '../src/store/open.js';
import { WorkerPool } from '../src/workers/pool.js';
import { startEmulator, type Emulator } from './emulator/index.js';
import { frame, unframe } from './emulator/localfs.js';
import { ensureBuilt, mobrIn as mobr, ROOT } from './helpers/cli.js';
import { sql } from './helpers/mo-target.js';

let work: string;
let n = 0;
const objectSize = { min: 1500, max: 3000 };

beforeAll(async () => {
  ensureBuilt();
  work = await mkdtemp(path.join(tmpdir(), 'mobr-gcrows-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

/** An emulated cluster of `version` after writes, a merge and a GC; its GC window files. */
async function cluster(version: string): Promise<{ emu: Emulator; base: string; windows: string[] }> {
  const base = path.join(work, `c${n++}`);
  const emu = await startEmulator({ home: path.join(base, 'mo'), serverVersion: version, objectSize });
  await sql(emu, 'create database db1', 'create table db1.t (a int)', 'insert into db1.t values (1), (2)');
  await emu.simulateDay({ newObjects: 2, mergeCount: 2, gc: true });
  const windows: string[] = [];
  for (const g of await emu.tree.sharedFs.list('gc')) windows.push(...(await emu.tree.gcWindowFiles(g)));
  return { emu, base, windows };
}

const NOTE = /note +(\d+) file\(s\) listed in tae\/tae_list with another file's size/g;

describe('tae_list rows of GC window objects', () => {
  for (const [version, misSized] of [['4.1.4', true], ['4.2.0', false]] as const) {
    it(`v${version}: ./mo_br backup, check, and the server's own folder`, { timeout: 60_000 }, async () => {
      const { emu, base, windows } = await cluster(version);
      const meta = ['--meta_path', path.join(base, 'mo_br.meta')];
      const repoDir = path.join(base, 'repo');
      const folder = path.join(base, 'server-backup');
      try {
        expect(windows.length).toBe(1);
        await sql(emu, `backup '0' filesystem '${folder}' parallelism '1'`);
        const conn = ['--host', emu.host, '--port', String(emu.port), '--user', 'dump', '--password', '111'];
        const b = await mobr(['backup', ...conn, '--backup_dir', 'filesystem', '--path', repoDir, '--verbose', ...meta], ROOT);
        expect(b.code, b.stderr).toBe(0);
        const notes = [...b.stderr.matchAll(NOTE)];
        expect(notes.map((m) => m[1])).toEqual(misSized ? ['1'] : []);
        const id = /Backup ID\n {4}(\S+)/.exec(b.stdout)![1]!;

        // the server's tae_list row of the window object, and the manifest entry
        const list = unframe(await readFile(path.join(folder, 'tae', 'tae_list'))).toString();
        const row = list.split('\n').find((l) => l.startsWith(`${windows[0]},`))!.split(',');
        const own = unframe(await readFile(path.join(folder, 'tae', windows[0]!))).length;
        expect(Number(row[1]) !== own).toBe(misSized);
        const repo = await Repository.open(openStore({ backupDir: 'filesystem', path: repoDir }));
        try {
          const entry = (await repo.loadManifest(id)).files.find((f) => f.path === `tae/${windows[0]}`)!;
          expect(entry.size).toBe(own);
          expect(entry.meta?.listedSize).toBe(misSized ? row[1] : undefined);
        } finally {
          await repo.close();
        }

        // --json carries it as a field (spec/json.md, mobr.backup.v1 listedSize)
        const j = await mobr(['backup', ...conn, '--backup_dir', 'filesystem', '--path', repoDir, '--json', ...meta], ROOT);
        expect(j.code, j.stderr).toBe(0);
        expect(JSON.parse(j.stdout).listedSize).toEqual(misSized ? [`tae/${windows[0]}`] : []);

        const c = await mobr(['check', id, ...meta], ROOT);
        expect(c.code, c.stderr).toBe(0);
        const nc = await mobr(['check', '--backup_dir', 'filesystem', '--backup_path', folder, '--json', ...meta], ROOT);
        expect(nc.code, nc.stderr).toBe(0);
        expect(JSON.parse(nc.stdout).listedSize).toEqual(misSized ? [`tae/${windows[0]}`] : []);
      } finally {
        await emu.close();
      }
    });
  }

  it('v4.1.4: a window object matching neither its listed size nor its SHA-256 is refused, by backup and by check', { timeout: 60_000 }, async () => {
    const { emu, base, windows } = await cluster('4.1.4');
    const folder = path.join(base, 'server-backup');
    const meta = ['--meta_path', path.join(base, 'mo_br.meta')];
    const damage = async (file: string) => {
      const plain = unframe(await readFile(file));
      await writeFile(file, frame(Buffer.concat([plain, Buffer.from('x')]))); // still framed well: only its SHA-256 tells
    };
    try {
      await sql(emu, `backup '0' filesystem '${folder}' parallelism '1'`);
      await damage(path.join(folder, 'tae', windows[0]!));
      const nc = await mobr(['check', '--backup_dir', 'filesystem', '--backup_path', folder, ...meta], ROOT);
      expect(nc.code).toBe(1);
      expect(nc.stdout).toContain(`check: tae/${windows[0]} FAILED: `);
      expect(nc.stdout).toMatch(/tae_list says \d+, and its SHA-256 does not match either/);

      const target = { backupDir: 'filesystem' as const, path: path.join(base, 'repo') };
      const repo = await Repository.openOrInit(openStore(target));
      const pool = new WorkerPool(1);
      try {
        const conn = { host: emu.host, port: emu.port, user: 'dump', password: '111' };
        const run = backupFromMatrixOne({ conn, repo, target, id: 'bad', type: 'full', pool, afterServerBackup: async (s) => damage(path.join(s.localDir!, 'tae', windows[0]!)) });
        await expect(run).rejects.toMatchObject({ code: 'CORRUPT', message: expect.stringMatching(new RegExp(`tae/${windows[0]}: \\d+ bytes staged, tae/tae_list says \\d+, and the SHA-256 [0-9a-f]{64} does not match its [0-9a-f]{64} either`)) });
        expect(await repo.listBackupIds()).toEqual([]);
      } finally {
        await pool.close();
        await repo.close();
      }
    } finally {
      await emu.close();
    }
  });
});
