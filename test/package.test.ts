/**
 * The package as a user installs it: `npm pack` ships the built program, its types and its
 * documents (and nothing of the tests); `npm i -g` of that tarball gives a working `mo_br`;
 * the library entry point resolves as `mobr`, type-checks, and backs up and restores a folder.
 * The install resolves the package's dependencies as a user's `npm i` does: from the npm cache when
 * it holds them, else from the registry. It must pass with an empty cache (`.ci/run` runs with one):
 * `npm ci` caches the lock file's tarballs but no package metadata, so an `--offline` install is
 * only ever satisfied by what an earlier install happened to leave behind.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, ensureBuilt } from './helpers/cli.js';

const work = mkdtempSync(path.join(tmpdir(), 'mobr-pkg-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
/**
 * Every child runs asynchronously: a synchronous spawn blocks this worker's event loop for as long
 * as npm or tsc runs (over a minute at load 35–40), and vitest's RPC to its main process gives up
 * after 60 s ("Timeout calling onTaskUpdate"), failing the file although every test passed.
 */
const run = promisify(execFile);
/** A command's exit status and outputs, failing or not. */
async function status(file: string, args: string[], o: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<{ status: number; stdout: string; stderr: string }> {
  try {
    const r = await run(file, args, { ...o, encoding: 'utf8', maxBuffer: 64 << 20 });
    return { status: 0, ...r };
  } catch (e) {
    const x = e as { code?: unknown; stdout?: string; stderr?: string };
    return { status: typeof x.code === 'number' ? x.code : -1, stdout: x.stdout ?? '', stderr: `${x.stderr ?? ''}${String(e)}` };
  }
}

const prefix = path.join(work, 'global');

/**
 * The lowest Node version an `engines.node` range admits, for the `>=` forms packages use
 * (">=20.0.0", ">= 18", ">=20.x", ORed); any other form throws, so a new one is looked at.
 */
function lowestNode(range: string): [number, number] {
  const alts = range.split('||').map((alt) => {
    const m = /^>=\s*(\d+)(?:\.(\d+|x))?(?:\.(\d+|x))?$/.exec(alt.trim());
    if (!m) throw new Error(`engines.node "${range}": a form this test does not read`);
    return [Number(m[1]), m[2] === undefined || m[2] === 'x' ? 0 : Number(m[2])] as [number, number];
  });
  return alts.sort((a, b) => a[0] - b[0] || a[1] - b[1])[0]!;
}

/** Every package under a node_modules folder, as [name@version, engines.node]. */
function enginesOf(modules: string): [string, string | undefined][] {
  const out: [string, string | undefined][] = [];
  for (const e of readdirSync(modules, { withFileTypes: true })) {
    if (!e.isDirectory() || e.name.startsWith('.')) continue;
    if (e.name.startsWith('@')) {
      out.push(...enginesOf(path.join(modules, e.name)));
      continue;
    }
    const pj = JSON.parse(readFileSync(path.join(modules, e.name, 'package.json'), 'utf8')) as { name: string; version: string; engines?: { node?: string } };
    out.push([`${pj.name}@${pj.version}`, pj.engines?.node]);
    try {
      out.push(...enginesOf(path.join(modules, e.name, 'node_modules')));
    } catch {
      // no nested node_modules
    }
  }
  return out;
}
let tarball = '';

describe('the installable package', () => {
  it('packs the built program, its types and documents, and nothing of the tests', async () => {
    ensureBuilt();
    // the lifecycle as `npm pack`/`npm publish` run it (prepack strips `prepare` from the packed
    // package.json, postpack puts the file back), without prepack's clean rebuild: dist is fresh
    // (ensureBuilt), and deleting it would pull it from under other test files running now
    const manifest = readFileSync(path.join(ROOT, 'package.json'));
    const { stdout: out } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false', MOBR_PACK_PREBUILT: '1' } });
    const packed = JSON.parse(out.slice(out.indexOf('\n[') + 1)) as { filename: string; files: { path: string }[] }[];
    expect(readFileSync(path.join(ROOT, 'package.json')).equals(manifest), 'postpack puts package.json back byte for byte').toBe(true);
    expect(existsSync(path.join(ROOT, 'package.json.orig'))).toBe(false);
    const files = packed[0]!.files.map((f) => f.path);
    for (const f of ['mo_br', 'LICENSE', 'README.md', 'package.json', 'dist/src/cli/main.js', 'dist/cli/main.js', 'dist/cli/chunk-worker.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'spec/repository.md', 'spec/mo_br.md']) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => f.startsWith('test/') || f.startsWith('bench/') || f.startsWith('dist/test/') || /^src\/.*\.ts$/.test(f))).toEqual([]);

    tarball = path.join(work, packed[0]!.filename);
    // #24.7: the packed package.json has no `prepare` (npm would warn about an install script);
    // the repository's keeps it, so `npm install git+…` and a checkout's `npm ci` still build
    const shipped = JSON.parse((await run('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' })).stdout) as { scripts: Record<string, string> };
    expect(shipped.scripts.prepare).toBeUndefined();
    expect((JSON.parse(manifest.toString()) as { scripts: Record<string, string> }).scripts.prepare).toBe('tsc -p tsconfig.json');
  }, 240_000); // hang guards, not timings: npm pack took over 60 s at load 40

  it('installs globally from the tarball: mo_br runs', async () => {
    // ~30 s from the registry with an empty cache (54 packages), ~3 s with a warm one
    const r = await status('npm', ['install', '-g', '--prefix', prefix, tarball, '--prefer-offline', '--no-audit', '--no-fund'], { cwd: work, env: { ...process.env, npm_config_update_notifier: 'false' } });
    expect(r.status, r.stderr).toBe(0);
    // a published tarball installs with no script and no warning about one (npm 11: "install-scripts … allowScripts")
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/install-scripts|allowScripts|prepare:/);
    expect((await run(path.join(prefix, 'bin', 'mo_br'), ['--version'], { encoding: 'utf8' })).stdout.trim()).toBe(version);
  }, 240_000);

  // Slow (the clone installs every dev dependency to build): behind MOBR_PACKAGE_GIT=1, with an
  // empty cache of its own as a fresh machine has
  it.skipIf(!process.env.MOBR_PACKAGE_GIT)('installs from git into a project (npm install git+file://…): the repository keeps `prepare`, which builds dist', async () => {
    const head = (await run('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' })).stdout.trim();
    const project = path.join(work, 'git-project'); // not -g: npm 11's global git install is broken (README)
    mkdirSync(project);
    writeFileSync(path.join(project, 'package.json'), '{"private":true}');
    const cache = mkdtempSync(path.join(work, 'cache-'));
    const r = await status('npm', ['install', `git+file://${ROOT}#${head}`, '--cache', cache, '--no-audit', '--no-fund'], { cwd: project, env: { ...process.env, npm_config_update_notifier: 'false' } });
    expect(r.status, r.stderr).toBe(0);
    expect((await run(path.join(project, 'node_modules', '.bin', 'mo_br'), ['--version'], { encoding: 'utf8' })).stdout.trim()).toBe(version);
  }, 600_000);

  it("pulls no dependency (the AWS SDK included) that refuses the lowest Node mobr's engines admit", () => {
    const ours = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
    const [major, minor] = lowestNode(ours);
    const installed = enginesOf(path.join(prefix, 'lib', 'node_modules', 'mobr', 'node_modules'));
    expect(installed.map(([n]) => n)).toContainEqual(expect.stringMatching(/^@aws-sdk\/client-s3@/));
    const refuses = (r: string) => (([a, b]) => a > major || (a === major && b > minor))(lowestNode(r));
    const refusing = installed.filter(([, r]) => r !== undefined && refuses(r)).map(([n, r]) => `${n} needs node ${r}`);
    expect(refusing).toEqual([]);
    expect(() => lowestNode('^20 || >=22')).toThrow(/does not read/);
    expect(lowestNode('>=22.5.0 || >= 24')).toEqual([22, 5]);
  });

  it("works as a library: `import … from 'mobr'` type-checks, backs up, checks and restores", async () => {

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
    await run(process.execPath, [tsc, '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--strict', '--skipLibCheck', '--types', 'node', '--typeRoots', path.join(ROOT, 'node_modules', '@types'), 'use.ts'], { cwd: app, encoding: 'utf8' });
    const { stdout: out } = await run(process.execPath, ['use.js'], { cwd: app, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ ok: true, same: true, missing: 'NO_REPO' });
  }, 240_000);
});
