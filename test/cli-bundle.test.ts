/**
 * The bundled CLI (deploy/cli-bundle.mjs, dist/cli/): what ./mo_br runs after `npm run build`.
 * - It stands alone: beside the launcher, package.json and node_modules, dist/cli/ without
 *   dist/src/ backs up, restores byte-exact and dumps a file through worker threads (whose
 *   file is dist/cli/chunk-worker.js), so no part of a command still loads the compiled modules.
 * - The launcher's choice: the bundle when it is at least as new as dist/src/cli/main.js, else
 *   the compiled modules (a `tsc` alone after an edit never runs a stale bundle), and the
 *   compiled modules when there is no bundle.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, cpSync, mkdirSync, promises as fsp, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { ensureBuilt, MO_BR, ROOT } from './helpers/cli.js';
import { pseudoRandom, tempDir } from './helpers/tree.js';

let work: string;
beforeAll(async () => {
  ensureBuilt();
  work = await tempDir('mobr-bundle-');
});
afterAll(async () => {
  await fsp.rm(work, { recursive: true, force: true });
});

const run = (launcher: string, args: string[], cwd: string) =>
  spawnSync(process.execPath, [launcher, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });

/** A copy of the launcher in `dir` with package.json and node_modules beside it. */
function launcherIn(dir: string): string {
  mkdirSync(dir, { recursive: true });
  copyFileSync(MO_BR, path.join(dir, 'mo_br'));
  copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  return path.join(dir, 'mo_br');
}

describe('the bundled CLI', () => {
  it('runs alone: dist/cli/ without dist/src/ backs up, restores byte-exact, dumps through worker threads', async () => {
    const app = path.join(work, 'app');
    const launcher = launcherIn(app);
    cpSync(path.join(ROOT, 'dist/cli'), path.join(app, 'dist/cli'), { recursive: true });
    const src = path.join(work, 'data');
    mkdirSync(src);
    for (const i of [0, 1]) writeFileSync(path.join(src, `f${i}`), pseudoRandom(40 + i, 300_000));
    const M = ['--meta_path', path.join(work, 'm.meta')];
    const b = run(launcher, ['backup', '--data_dir', src, '--backup_dir', 'filesystem', '--path', path.join(work, 'repo'), ...M], work);
    expect(b.status, b.stderr).toBe(0);
    const r = run(launcher, ['restore', 'latest', '--restore_dir', 'filesystem', '--restore_path', path.join(work, 'out'), ...M], work);
    expect(r.status, r.stderr).toBe(0);
    for (const i of [0, 1]) expect(readFileSync(path.join(work, 'out', 'mo-data', `f${i}`)).equals(readFileSync(path.join(src, `f${i}`)))).toBe(true);
    // dump decodes in worker threads whatever the size and load (a small backup or restore runs in this thread)
    const d = spawnSync(process.execPath, [launcher, 'dump', 'latest', 'f1', ...M], { cwd: work, env: process.env });
    expect(d.status, String(d.stderr)).toBe(0);
    expect(d.stdout.equals(readFileSync(path.join(src, 'f1')))).toBe(true);
  });

  it('the launcher runs the bundle unless it is missing or older than the compiled modules', () => {
    const app = path.join(work, 'choice');
    const launcher = launcherIn(app);
    const stub = (rel: string, says: string) => {
      mkdirSync(path.dirname(path.join(app, rel)), { recursive: true });
      writeFileSync(path.join(app, rel), `export async function main() { process.stdout.write(${JSON.stringify(says)}); }\n`);
    };
    const ran = () => run(launcher, ['version'], app).stdout;
    stub('dist/src/cli/main.js', 'modules');
    expect(ran()).toBe('modules'); // no bundle
    stub('dist/cli/main.js', 'bundle');
    const at = (rel: string, s: number) => utimesSync(path.join(app, rel), s, s);
    at('dist/src/cli/main.js', 1_000_000);
    at('dist/cli/main.js', 1_000_010);
    expect(ran()).toBe('bundle'); // built after the modules (npm run build)
    at('dist/cli/main.js', 1_000_000);
    expect(ran()).toBe('bundle'); // the same time (npm pack's tarball stamps every file alike)
    at('dist/src/cli/main.js', 1_000_020);
    expect(ran()).toBe('modules'); // tsc ran after the bundle was made: it is stale
  });
});
