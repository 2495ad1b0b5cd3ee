/**
 * `npm run demo`: the seed's worked example, end to end, on this machine with nothing else
 * running. It starts the MatrixOne EMULATOR (test/emulator: MatrixOne itself cannot run here) on
 * 127.0.0.1, creates databases, takes a full and an incremental backup with ./mo_br, lists and
 * checks them, drops a database, restores the backup into a fresh MatrixOne home, restarts the
 * emulator on it and shows the dropped database is back. Everything lives under .demo/.
 */
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import { startEmulator, type Emulator } from '../emulator/index.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const work = path.join(repoRoot, '.demo');
const home = path.join(work, 'matrixone');
const backups = path.join(work, 'backups');
const meta = path.join(work, 'mo_br.meta');

/** Bold headings only on a terminal, and not when NO_COLOR is set (no-color.org): a pipe or a log gets plain text. */
export function heading(s: string, tty = process.stdout.isTTY === true, env: NodeJS.ProcessEnv = process.env): string {
  const color = tty && !env.NO_COLOR && env.TERM !== 'dumb';
  return color ? `\n\x1b[1m== ${s}\x1b[0m\n` : `\n== ${s}\n`;
}

function say(s: string): void {
  process.stdout.write(heading(s));
}

/** Runs ./mo_br (asynchronously: the emulator answers from this same process). */
async function moBr(...args: string[]): Promise<string> {
  const shown = args.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ');
  process.stdout.write(`$ ./mo_br ${shown}\n`);
  const child = spawn(path.join(repoRoot, 'mo_br'), [...args, '--meta_path', meta], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    process.stdout.write(d);
  });
  child.stderr.on('data', (d: Buffer) => process.stdout.write(d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`mo_br ${args[0]} exited ${code}`);
  return out;
}

async function sql(emu: Emulator, ...statements: string[]): Promise<void> {
  const c = await mysql.createConnection({ host: emu.host, port: emu.port, user: 'dump', password: '111' });
  try {
    for (const s of statements) {
      process.stdout.write(`mysql> ${s};\n`);
      const [rows] = await c.query(s);
      if (Array.isArray(rows)) for (const r of rows as Record<string, unknown>[]) process.stdout.write(`  ${Object.values(r).join(' | ')}\n`);
    }
  } finally {
    await c.end();
  }
}

const backupId = (out: string): string => /Backup ID\s+(\S+)/.exec(out)![1];

async function main(): Promise<void> {
  await fsp.rm(work, { recursive: true, force: true });
  await fsp.mkdir(home, { recursive: true });
  const conn = (emu: Emulator) => ['--host', emu.host, '--port', String(emu.port), '--user', 'dump', '--password', '111'];

  say('start a MatrixOne (emulator) and create db1, db2');
  let emu = await startEmulator({ home, objectSize: { min: 256 * 1024, max: 2 * 1024 * 1024 } });
  await sql(emu, 'create database db1', 'create database db2', 'create table db1.t (a int, b varchar(20))', "insert into db1.t values (1, 'one'), (2, 'two')", 'show databases');

  say('full backup to the filesystem');
  const full = backupId(await moBr('backup', ...conn(emu), '--backup_dir', 'filesystem', '--path', backups));

  say('more writes, then an incremental backup');
  await sql(emu, "insert into db1.t values (3, 'three')", 'select count(*) from db1.t');
  const inc = backupId(await moBr('backup', ...conn(emu), '--backup_dir', 'filesystem', '--path', backups, '--backup_type', 'incremental', '--base_id', full));

  say('list, check');
  await moBr('list');
  await moBr('check', inc);

  say('drop db1, create db3');
  await sql(emu, 'drop database db1', 'create database db3', 'show databases');

  say('stop MatrixOne, remove mo-data, restore the incremental backup');
  await emu.close();
  await fsp.rm(path.join(home, 'mo-data'), { recursive: true, force: true });
  await moBr('restore', inc, '--restore_dir', 'filesystem', '--restore_path', home);

  say('start MatrixOne on the restored data: db1 is back, db3 is gone');
  emu = await startEmulator({ home });
  await sql(emu, 'show databases', 'select count(*) from db1.t');
  await emu.close();

  say(`done: everything is under ${path.relative(process.cwd(), work) || work}`);
}

// Run only as the program (`npm run demo`), not when a test imports heading().
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    process.stderr.write(`demo failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
