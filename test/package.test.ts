/**
 * The package as a user installs it: `npm pack` ships the built program, its types and its
 * documents (and nothing of the tests); `npm i -g` of that tarball gives a working `mo_br`;
 * the library entry point resolves as `mobr`, type-checks, and backs up and restores a folder.
 * The install resolves the package's dependencies as a user's `npm i` does: from the npm cache when
 * it holds them, else from the registry. It must pass with an empty cache (`.ci/run` runs with one):
 * `npm ci` caches the lock file's tarballs but no package metadata, so an `--offline` install is
 * only ever satisfied by what an earlier install happened to leave behind.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, ensureBuilt } from './helpers/cli.js';

const work = mkdtempSync(path.join(tmpdir(), 'mobr-pkg-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const npm = (args: string[], cwd = ROOT) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false' } });

const prefix = path.join(work, 'global');
let tarball = '';

describe('the installable package', () => {
  it('packs the built program, its types and documents, and nothing of the tests', () => {
    ensureBuilt();
    const packed = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', work])) as { filename: string; files: { path: string }[] }[];
    const files = packed[0]!.files.map((f) => f.path);
    for (const f of ['mo_br', 'LICENSE', 'README.md', 'package.json', 'dist/src/cli/main.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'spec/repository.md', 'spec/mo_br.md']) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => f.startsWith('test/') || f.startsWith('bench/') || f.startsWith('dist/test/') || /^src\/.*\.ts$/.test(f))).toEqual([]);

    tarball = path.join(work, packed[0]!.filename);
  }, 60_000);

  it('installs globally from the tarball: mo_br runs', () => {
    // ~30 s from the registry with an empty cache (54 packages), ~3 s with a warm one
    npm(['install', '-g', '--prefix', prefix, tarball, '--prefer-offline', '--no-audit', '--no-fund'], work);
    expect(execFileSync(path.join(prefix, 'bin', 'mo_br'), ['--version'], { encoding: 'utf8' }).trim()).toBe(version);
  }, 240_000);

  it("works as a library: `import … from 'mobr'` type-checks, backs up, checks and restores", () => {

    // a consumer project: `import … from 'mobr'` resolves through the package's exports
    const app = path.join(work, 'app');
    mkdirSync(path.join(app, 'node_modules'), { recursive: true });
    symlinkSync(path.join(prefix, 'lib', 'node_modules', 'mobr'), path.join(app, 'node_modules', 'mobr'));
    writeFileSync(path.join(app, 'package.json'), '{"type":"module"}');
    writeFileSync(
      path.join(app, 'use.ts'),
      `import { openRepository, backup, check, restore, MobrError, type Manifest } from 'mobr';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
mkdirSync('src/sub', { recursive: true });
writeFileSync('src/sub/a.txt', 'library round trip\\n');
const repo = await openRepository('repo', { create: true });
const m: Manifest = await backup(repo, 'src', { id: 'lib-1' });
const r = await check(repo, m.id, { readData: true });
await restore(repo, m.id, 'out');
const missing = await openRepository('nowhere').catch((e: unknown) => (e instanceof MobrError ? e.code : 'other'));
console.log(JSON.stringify({ ok: r.ok, same: readFileSync('out/sub/a.txt', 'utf8') === 'library round trip\\n', missing }));
`,
    );
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    execFileSync(process.execPath, [tsc, '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--strict', '--skipLibCheck', '--types', 'node', '--typeRoots', path.join(ROOT, 'node_modules', '@types'), 'use.ts'], { cwd: app, encoding: 'utf8' });
    const out = execFileSync(process.execPath, ['use.js'], { cwd: app, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ ok: true, same: true, missing: 'NO_REPO' });
  }, 60_000);
});
