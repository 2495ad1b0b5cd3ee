/**
 * Issue #24.3/#24.4 on a pseudo-terminal (`script` from util-linux): check's progress line is
 * cleared before every line it writes to stdout, counts files as the summary does (not folders),
 * and carries an ETA once it has one; piped, nothing of it shows.
 */
import { spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, mobr, MO_BR } from './helpers/cli.js';
import { tempDir } from './helpers/tree.js';
import { etaSeconds, formatEta } from '../src/cli/progress.js';

let root: string;
let id: string;
const hasScript = spawnSync('script', ['--version']).status === 0;

beforeAll(async () => {
  ensureBuilt();
  root = await tempDir('mobr-progress-');
  await fsp.mkdir(path.join(root, 'd/sub/deeper'), { recursive: true });
  for (let i = 0; i < 3; i++) await fsp.writeFile(path.join(root, 'd/sub', `f${i}`), `${i}\n`);
  const b = await mobr(['backup', '--data_dir', 'd', '--backup_dir', 'filesystem', '--path', 'repo', '--json', '--meta_path', 'm'], root);
  expect(b.code, b.stderr).toBe(0);
  id = JSON.parse(b.stdout).id;
}, 30_000);
afterAll(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

describe('progress on a terminal', () => {
  it.skipIf(!hasScript)('check: cleared before each stdout line, counted in files', () => {
    const cmd = `${process.execPath} ${MO_BR} check ${id} --meta_path m`;
    const r = spawnSync('script', ['-qfec', cmd, '/dev/null'], { cwd: root, encoding: 'utf8', env: { ...process.env, COLUMNS: '200' } });
    expect(r.status, r.stdout).toBe(0);
    const out = r.stdout;
    expect(out).toMatch(new RegExp(`check ${id} .*1/3 files`)); // 3 files, not the 5 entries with the folders
    expect(out).not.toMatch(/\d+\/5 files/);
    // every check: line starts a line, or follows the sequence that cleared the progress line
    for (const m of out.matchAll(/check: sub\/f\d/g)) {
      const before = out.slice(Math.max(0, m.index! - 4), m.index);
      expect(before.endsWith('\n') || before.endsWith('\r\x1b[K'), JSON.stringify(out.slice(Math.max(0, m.index! - 60), m.index! + 20))).toBe(true);
    }
  });

  it('piped: no progress at all', async () => {
    const r = await mobr(['check', id, '--meta_path', 'm'], root);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain('\x1b[K');
    expect(r.stdout).not.toContain('\x1b[K');
  });

  it('ETA from the rate so far', () => {
    expect(etaSeconds({ bytes: 25, totalBytes: 100 }, 10)).toBe(30);
    expect(etaSeconds({ files: 1, totalFiles: 4 }, 2)).toBe(6);
    expect(etaSeconds({ bytes: 25, totalBytes: 100 }, 0.5)).toBeUndefined();
    expect([formatEta(7), formatEta(185), formatEta(7440)]).toEqual(['7s', '3m05s', '2h04m']);
  });
});
