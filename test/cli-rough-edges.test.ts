/**
 * Issue #24's rough edges, through ./mo_br: an unknown command with --help is an unknown command
 * (#24.11); a check that finds chunks missing because the index lost them says that
 * `check --repair` would fix it (#24.9).
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, mobr } from './helpers/cli.js';
import { tempDir } from './helpers/tree.js';

let root: string;
const run = (args: string[]) => mobr([...args, '--meta_path', path.join(root, 'mo_br.meta')], root);

beforeAll(async () => {
  ensureBuilt();
  root = await tempDir('mobr-rough-');
}, 30_000);
afterAll(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

describe('rough edges', () => {
  it('#24.11: an unknown command with --help exits 2 naming it', async () => {
    const r = await run(['nosuch', '--help']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe("mo_br: unknown command 'nosuch' (see mo_br --help)\n");
    const known = await run(['list', '--help']);
    expect(known.code).toBe(0);
    expect(known.stdout).toContain('Usage: mo_br list');
  });

  it('#24.9: a lost index: check names the files and says check --repair would fix it', async () => {
    await fsp.mkdir(path.join(root, 'data'));
    for (let i = 0; i < 3; i++) await fsp.writeFile(path.join(root, 'data', `f${i}`), `file ${i}\n`.repeat(100));
    const b = await run(['backup', '--data_dir', 'data', '--backup_dir', 'filesystem', '--path', 'repo', '--json']);
    expect(b.code, b.stderr).toBe(0);
    const id = JSON.parse(b.stdout).id as string;
    await fsp.rm(path.join(root, 'repo/index'), { recursive: true });
    await fsp.mkdir(path.join(root, 'repo/index'));
    const c = await run(['check', id]);
    expect(c.code).toBe(1);
    expect(c.stderr).toMatch(/^mo_br: check failed: 3 of 3 files .*1 pack\(s\) in the repository are in no index object: `mo_br check \S+ --repair` rebuilds the index/);
    expect(c.stderr).toContain(`mo_br check ${id} --repair`);
    const repaired = await run(['check', id, '--repair']);
    expect(repaired.code, repaired.stderr).toBe(0);
  });
});
