/**
 * Issue #24's rough edges, through ./mo_br: an unknown command with --help is an unknown command
 * (#24.11); a check that finds chunks missing because the index lost them says that
 * `check --repair` would fix it (#24.9); MO_BR_META_PATH and an installed copy's catalog (#24.7).
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { ensureBuilt, mobrIn as mobr, MO_BR, ROOT } from './helpers/cli.js';
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

describe('#24.7: where mo_br.meta lives', () => {
  const data = async () => {
    const d = path.join(root, 'm-data');
    await fsp.mkdir(d, { recursive: true });
    await fsp.writeFile(path.join(d, 'x'), 'x\n');
    return d;
  };
  /** A launcher at `dir/mo_br` (a copy of ./mo_br) running this checkout's dist/. */
  async function launcherAt(dir: string): Promise<string> {
    await fsp.mkdir(dir, { recursive: true });
    await fsp.copyFile(path.join(ROOT, 'mo_br'), path.join(dir, 'mo_br'));
    await fsp.symlink(path.join(ROOT, 'dist'), path.join(dir, 'dist'));
    return path.join(dir, 'mo_br');
  }
  const backupWith = async (launcher: string, env: NodeJS.ProcessEnv) => {
    const r = spawnSync(process.execPath, [launcher, 'backup', '--data_dir', await data(), '--backup_dir', 'filesystem', '--path', path.join(root, 'm-repo')], { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  };

  it('MO_BR_META_PATH names it', async () => {
    const file = path.join(root, 'env-meta', 'catalog.meta');
    await fsp.mkdir(path.dirname(file));
    await backupWith(MO_BR, { MO_BR_META_PATH: file });
    expect(await fsp.readFile(file, 'utf8')).toMatch(/^[0-9a-f-]{36},/);
  });

  it('an npm-installed copy keeps it in ~/.local/state/mobr, a copied program beside itself', async () => {
    const prefix = path.join(root, 'prefix');
    const installed = await launcherAt(path.join(prefix, 'lib/node_modules/mobr'));
    await fsp.mkdir(path.join(prefix, 'bin'));
    await fsp.symlink(installed, path.join(prefix, 'bin/mo_br'));
    const home = path.join(root, 'home');
    await backupWith(path.join(prefix, 'bin/mo_br'), { HOME: home, XDG_STATE_HOME: '', MO_BR_META_PATH: '' });
    expect(await fsp.readFile(path.join(home, '.local/state/mobr/mo_br.meta'), 'utf8')).toMatch(/^[0-9a-f-]{36},/);
    await expect(fsp.access(path.join(prefix, 'bin/mo_br.meta'))).rejects.toThrow();
    const copied = await launcherAt(path.join(root, 'copied'));
    await backupWith(copied, { HOME: home, MO_BR_META_PATH: '' });
    expect(await fsp.readFile(path.join(root, 'copied/mo_br.meta'), 'utf8')).toMatch(/^[0-9a-f-]{36},/);
  });
});

describe('#24.12: sync with only the catalog', () => {
  it('syncs every recorded backup when they all live in one repository', async () => {
    const d = path.join(root, 's-data');
    await fsp.mkdir(d, { recursive: true });
    await fsp.writeFile(path.join(d, 'y'), 'y\n');
    const meta = path.join(root, 's.meta');
    const ids: string[] = [];
    for (let i = 0; i < 1; i++) {
      const b = await mobr(['backup', '--data_dir', d, '--backup_dir', 'filesystem', '--path', 's-repo', '--json', '--meta_path', meta], root);
      expect(b.code, b.stderr).toBe(0);
      ids.push(JSON.parse(b.stdout).id);
    }
    const s = await mobr(['sync', '--target_dir', 'filesystem', '--target_path', 's-copy', '--meta_path', meta], root);
    expect(s.code, s.stderr).toBe(0);
    const list = await mobr(['list', '--backup_dir', 'filesystem', '--backup_path', 's-copy', '--json'], root);
    expect(JSON.parse(list.stdout).backups.map((b: { id: string }) => b.id).sort()).toEqual([...ids].sort());
  });
});
