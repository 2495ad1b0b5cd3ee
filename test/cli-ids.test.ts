/**
 * Issue #24.2 and #26.8: one rule for backup IDs, the same in the library, the CLI, the catalog
 * and `meta rebuild`. The README's library example runs as written (only its paths are
 * replaced), and every mo_br command then takes its `nightly-1`; a catalog line mobr cannot use
 * is skipped and named, never fatal for the others, and kept when the file is rewritten.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fsp, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, mobrIn as mobr, ROOT } from './helpers/cli.js';
import { tempDir } from './helpers/tree.js';

let root: string;
let repo: string;
let meta: string;
const run = (args: string[]) => mobr([...args, '--meta_path', meta], root);

/** The README's library example, as written, with its three paths in a temp folder. */
function readmeExample(): string {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const m = /```ts\n([\s\S]*?)```/.exec(readme);
  if (!m) throw new Error('README has no ```ts example');
  return m[1];
}

beforeAll(async () => {
  ensureBuilt();
  root = await tempDir('mobr-ids-');
  repo = path.join(root, 'backups-mo');
  meta = path.join(root, 'mo_br.meta');
  await fsp.mkdir(path.join(root, 'data/sub'), { recursive: true });
  await fsp.writeFile(path.join(root, 'data/sub/f.txt'), 'library data\n');
  const code = readmeExample()
    .replace("from 'mobr'", `from ${JSON.stringify(path.join(ROOT, 'dist/src/index.js'))}`)
    .replaceAll("'/backups/mo'", JSON.stringify(repo))
    .replaceAll("'/srv/data'", JSON.stringify(path.join(root, 'data')))
    .replaceAll("'/srv/restored'", JSON.stringify(path.join(root, 'restored')));
  await fsp.writeFile(path.join(root, 'example.mjs'), code);
  execFileSync(process.execPath, [path.join(root, 'example.mjs')], { cwd: root, stdio: 'pipe' });
}, 30_000);
afterAll(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

describe('the README library example round-trips through mo_br', () => {
  const at = () => ['--backup_dir', 'filesystem', '--backup_path', repo];

  it('the example restored the folder', async () => {
    expect(await fsp.readFile(path.join(root, 'restored/sub/f.txt'), 'utf8')).toBe('library data\n');
  });

  it('ls, check and restore take nightly-1 by place', async () => {
    const ls = await run(['ls', 'nightly-1', ...at()]);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toContain('f.txt');
    const check = await run(['check', 'nightly-1', ...at()]);
    expect(check.code, check.stderr).toBe(0);
    const r = await run(['restore', 'nightly-1', ...at(), '--restore_dir', 'filesystem', '--restore_path', path.join(root, 'r2')]);
    expect(r.code, r.stderr).toBe(0);
    expect(await fsp.readFile(path.join(root, 'r2/sub/f.txt'), 'utf8')).toBe('library data\n');
  });

  it('meta rebuild writes a record every command then takes', async () => {
    const rb = await run(['meta', 'rebuild', ...at()]);
    expect(rb.code, rb.stderr).toBe(0);
    const list = await run(['list', 'nightly-1']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain('nightly-1');
    const check = await run(['check', 'nightly-1']);
    expect(check.code, check.stderr).toBe(0);
  });

  it('an ID outside the rule is bad input (2) in the CLI and the library alike', async () => {
    const cli = await run(['ls', 'a,b', ...at()]);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/^mo_br: bad backup ID "a,b": want 1 to 128 letters/);
    const lib = await import(path.join(ROOT, 'dist/src/index.js'));
    const r = await lib.openRepository(repo);
    await expect(lib.backup(r, path.join(root, 'data'), { id: 'a,b' })).rejects.toMatchObject({ code: 'BAD_INPUT' });
    await expect(lib.check(r, 'latest')).rejects.toMatchObject({ code: 'BAD_INPUT' });
  });

  it('library backup without an ID names it with a new UUID, never "undefined"', async () => {
    const lib = await import(path.join(ROOT, 'dist/src/index.js'));
    const r = await lib.openRepository(repo);
    const m = await lib.backup(r, path.join(root, 'data'), {});
    expect(m.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(await r.listBackupIds()).not.toContain('undefined');
  });
});

describe('a catalog line mobr cannot use', () => {
  it('is skipped and named; the other records work and the line is kept on rewrite', async () => {
    const good = (await fsp.readFile(meta, 'utf8')).trim().split('\n').find((l) => l.startsWith('nightly-1,'))!;
    const bad = 'not/an id,1 B,BackupDir: filesystem  Path: /x,2026-12-07 05:21:52 +0000,1s,2026-12-07 05:21:54 +0000,1-0,full';
    const text = `${bad}\n${good}\n`;
    await fsp.writeFile(meta, text);
    await fsp.writeFile(`${meta}.sha256`, createHash('sha256').update(text).digest('hex'));
    const list = await run(['list']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain('nightly-1');
    expect(list.stderr).toMatch(/^mo_br: warning: meta file .*mo_br\.meta line 1: the first field is not a backup ID: line skipped/);
    const del = await run(['delete', 'nightly-1', '--not_delete_data']);
    expect(del.code, del.stderr).toBe(0);
    expect(await fsp.readFile(meta, 'utf8')).toBe(`${bad}\n`);
  });
});
