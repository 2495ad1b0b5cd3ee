/**
 * Issue #26.11, through ./mo_br: names on the command line are the user's, byte for byte.
 * - After `--` every argument is a name, even `--json` or `--meta_path` (global flags are taken
 *   out anywhere before it), and a config file's flags go before it.
 * - An argument that is not UTF-8 (a file name, a --data_dir) reaches mobr as its bytes: Node
 *   decodes argv with loss, so ./mo_br reads them back from /proc/self/cmdline (src/cli/argv.ts).
 *   Node's spawn cannot pass such bytes (it encodes strings as UTF-8), so these runs go through
 *   bash, which reads NUL-separated raw arguments from a file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../helpers/tree.js';
import { MO_BR, ensureBuilt, mobr } from './cli.js';

let work: string;
beforeAll(async () => {
  ensureBuilt();
  work = await tempDir('mobr-argv-names-');
});
afterAll(async () => {
  await fsp.rm(work, { recursive: true, force: true });
});

const b = (s: string | Buffer) => (typeof s === 'string' ? Buffer.from(s) : s);
/** A path under work whose later parts may be raw bytes. */
const raw = (...parts: (string | Buffer)[]) => Buffer.concat([Buffer.from(work), ...parts.map((p) => Buffer.concat([Buffer.from('/'), b(p)]))]);

/** Runs ./mo_br with arguments given as exact bytes; stdout as bytes. */
async function mobrBytes(args: (string | Buffer)[], cwd = work): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  const file = path.join(work, `args-${Math.random().toString(36).slice(2)}`);
  await fsp.writeFile(file, Buffer.concat([process.execPath, MO_BR, ...args].map((a) => Buffer.concat([b(a), Buffer.of(0)]))));
  return new Promise((resolve) => {
    const p = spawn('bash', ['-c', 'mapfile -d "" -t a < "$0" && exec "${a[@]}"', file], { cwd });
    const out: Buffer[] = [];
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr }));
  });
}

describe('names after -- (#26.11)', () => {
  it('dump takes --json and --meta_path after -- as file names; a config flag goes before --', async () => {
    const dir = path.join(work, 'dashes');
    await fsp.mkdir(path.join(dir, 'src'), { recursive: true });
    await fsp.writeFile(path.join(dir, 'src/--json'), 'named json\n');
    await fsp.writeFile(path.join(dir, 'src/--meta_path'), 'named meta\n');
    const M = ['--meta_path', path.join(dir, 'mo_br.meta')];
    const r = await mobr(['backup', '--backup_dir', 'filesystem', '--path', path.join(dir, 'repo'), '--data_dir', path.join(dir, 'src'), ...M], dir);
    expect(r.code, r.stderr).toBe(0);
    const id = /Backup ID\n {4}(\S+)/.exec(r.stdout)![1];
    // ./mo_br.toml's [dump] parallelism becomes --parallelism 1 before --, not two more names
    await fsp.writeFile(path.join(dir, 'mo_br.toml'), '[dump]\nparallelism = 1\n');
    const json = await mobr(['dump', ...M, id, '--', '--json'], dir);
    expect(json.code, json.stderr).toBe(0);
    expect(json.stdout).toBe('named json\n');
    // `--meta_path` after -- is the file, not the flag taking the id as its value
    const meta = await mobr(['dump', ...M, id, '--', '--meta_path'], dir);
    expect(meta.code, meta.stderr).toBe(0);
    expect(meta.stdout).toBe('named meta\n');
  });
});

describe('names that are not UTF-8 (#26.11)', () => {
  it('backs up a --data_dir whose own path and names below it are not UTF-8; dump by exact bytes or shown form', async () => {
    const data = raw(Buffer.from('d\xffx', 'latin1'));
    const sub = Buffer.concat([data, Buffer.from('/sub\xfe', 'latin1')]);
    await fsp.mkdir(sub, { recursive: true });
    await fsp.writeFile(Buffer.concat([sub, Buffer.from('/f\xfd', 'latin1')]), 'bytes\n');
    const M = ['--meta_path', path.join(work, 'bytes.meta')];
    const backup = await mobrBytes(['backup', '--backup_dir', 'filesystem', '--path', path.join(work, 'bytes-repo'), '--data_dir', data, ...M]);
    expect(backup.code, backup.stderr).toBe(0);
    const id = /Backup ID\n {4}(\S+)/.exec(backup.stdout.toString())![1];
    // the catalog keeps the folder's bytes, percent-encoded, and reads back (dump reads it)
    expect(await fsp.readFile(M[1], 'latin1')).toContain('d%FFx');
    const exact = await mobrBytes(['dump', ...M, id, Buffer.from('sub\xfe/f\xfd', 'latin1')]);
    expect(exact.code, exact.stderr).toBe(0);
    expect(exact.stdout.toString()).toBe('bytes\n');
    const shown = await mobrBytes(['dump', ...M, id, 'sub\\xfe/f\\xfd']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout.toString()).toBe('bytes\n');
    // a restore target that is not UTF-8 is refused whole (exit 2), never half made
    const target = raw(Buffer.from('t\xfa', 'latin1'));
    const restore = await mobrBytes(['restore', ...M, id, '--restore_dir', 'filesystem', '--restore_path', target]);
    expect(restore.code, restore.stderr).toBe(2);
    expect(restore.stderr).toMatch(/^mo_br: bad --restore_path .*t\\xfa: bytes that are not UTF-8/);
    await expect(fsp.access(target)).rejects.toThrow();
  });

  it('refuses a repository --path that is not UTF-8 (exit 2, one line) instead of writing elsewhere', async () => {
    await fsp.mkdir(path.join(work, 'plain'), { recursive: true });
    await fsp.writeFile(path.join(work, 'plain/a'), 'a\n');
    const r = await mobrBytes(['backup', '--backup_dir', 'filesystem', '--path', raw(Buffer.from('r\xff', 'latin1')), '--data_dir', path.join(work, 'plain'), '--meta_path', path.join(work, 'r.meta')]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^mo_br: bad --path .*r\\xff: bytes that are not UTF-8/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect((await fsp.readdir(work)).filter((n) => n.startsWith('r'))).toEqual([]);
  });
});
