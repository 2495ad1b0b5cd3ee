/**
 * Security (spec/reliability.md §5):
 * - secrets (MatrixOne password, S3 secret key) never reach the catalog, repository objects,
 *   stdout/stderr (also on failure);
 * - a repository key cannot escape its root ('..', absolute, empty, '.' segments, NUL);
 * - a malicious manifest, written with the real encoder and sealed correctly (paths `../x`,
 *   `/etc/x`, `a/../../x`, a symlink entry followed by a file through it, a pre-existing
 *   symlink in the restore path) cannot make restore write outside the restore path;
 * - a backup does not follow symbolic links out of the data folder.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { FsStore } from '../src/store/fs.js';
import { MemStore } from '../src/store/mem.js';
import { Repository } from '../src/repo/repository.js';
import { backupTree } from '../src/backup/backup.js';
import { restoreBackup } from '../src/backup/restore.js';
import { restoreMatrixOne } from '../src/mo/restore.js';
import { WorkerPool } from '../src/workers/pool.js';
import { isMobrError } from '../src/errors.js';
import type { FileEntry, Manifest } from '../src/repo/manifest.js';
import { startS3Server, type S3Server } from './helpers/s3server.js';
import { startEmulator, type Emulator } from './emulator/index.js';
import { pseudoRandom, tempDir } from './helpers/tree.js';
import { TINY, allPaths, backupIdOf, ensureBuilt, makeMoData, mobr } from './reliability/cli.js';

let work: string;
let pool: WorkerPool;
beforeAll(async () => {
  ensureBuilt();
  work = await tempDir('mobr-security-');
  pool = new WorkerPool(2);
});
afterAll(async () => {
  await pool.close();
  await fsp.rm(work, { recursive: true, force: true });
});

/** Every byte under dir, as latin1 text (to search for secrets in any object). */
async function allBytes(dir: string): Promise<string> {
  let out = '';
  for (const p of await allPaths(dir)) {
    const abs = path.join(dir, p);
    if ((await fsp.lstat(abs)).isFile()) out += (await fsp.readFile(abs)).toString('latin1');
  }
  return out;
}

describe('secrets stay secret', () => {
  let s3: S3Server;
  let emu: Emulator;
  beforeAll(async () => {
    s3 = await startS3Server();
    emu = await startEmulator({ home: path.join(work, 'mo'), password: 'Pw-9f2c1e7a-SECRET', objectSize: { min: 20_000, max: 30_000 } });
  });
  afterAll(async () => {
    await s3?.stop();
    await emu?.close();
  });

  it('S3 keys: not in the catalog, the bucket, or any output; wrong keys fail without echoing them', async () => {
    const data = path.join(work, 's3-data');
    await makeMoData(data, 2, 100_000, 3);
    const M = ['--meta_path', path.join(work, 's3.meta')];
    const keys = ['--access_key_id', s3.accessKeyId, '--secret_access_key', s3.secretAccessKey];
    const b = await mobr(['backup', '--backup_dir', 's3', '--endpoint', s3.endpoint, '--bucket', s3.bucket, '--filepath', '/sec', '--is_minio', ...keys, '--data_dir', data, '--json', ...M], work);
    expect(b.code, b.stderr).toBe(0);
    const id = JSON.parse(b.stdout).id as string;
    const runs = [b];
    runs.push(await mobr(['list', id, ...keys, ...M], work));
    runs.push(await mobr(['check', id, '--backup_access_key_id', s3.accessKeyId, '--backup_secret_access_key', s3.secretAccessKey, ...M], work));
    const bad = await mobr(['check', id, '--backup_access_key_id', 'AKWRONG0b7f3', '--backup_secret_access_key', 'Wrong-SECRET-0b7f3', ...M], work);
    expect(bad.code).toBe(4);
    runs.push(bad);
    for (const r of runs) for (const secret of [s3.secretAccessKey, 'Wrong-SECRET-0b7f3']) {
      expect(r.stdout + r.stderr).not.toContain(secret);
    }
    const meta = await fsp.readFile(path.join(work, 's3.meta'), 'utf8');
    expect(meta).not.toContain(s3.secretAccessKey);
    expect(meta).not.toContain(s3.accessKeyId);
    const bucket = await allBytes(s3.directory);
    expect(bucket).not.toContain(s3.secretAccessKey);
  });

  it('MatrixOne password: not in the catalog, the repository, or any output; a wrong one fails without echoing it', async () => {
    const repo = path.join(work, 'pw-repo');
    const M = ['--meta_path', path.join(work, 'pw.meta')];
    const conn = ['--host', emu.host, '--port', String(emu.port), '--user', 'dump'];
    const ok = await mobr(['backup', ...conn, '--password', 'Pw-9f2c1e7a-SECRET', '--backup_dir', 'filesystem', '--path', repo, ...M], work);
    expect(ok.code, ok.stderr).toBe(0);
    const wrong = await mobr(['backup', ...conn, '--password', 'Nope-77aa-SECRET', '--backup_dir', 'filesystem', '--path', repo, ...M], work);
    expect(wrong.code).toBe(4);
    expect(wrong.stderr).toMatch(/^mo_br: [^\n]+\n$/);
    for (const r of [ok, wrong]) expect(r.stdout + r.stderr).not.toMatch(/Pw-9f2c1e7a|Nope-77aa/);
    expect(await fsp.readFile(path.join(work, 'pw.meta'), 'utf8')).not.toContain('Pw-9f2c1e7a');
    expect(await allBytes(repo)).not.toContain('Pw-9f2c1e7a');
  });
});

describe('secrets out of argv (ps, /proc/<pid>/cmdline show every flag to every local user)', () => {
  let s3: S3Server;
  let emu: Emulator;
  beforeAll(async () => {
    s3 = await startS3Server();
    emu = await startEmulator({ home: path.join(work, 'mo-env'), password: 'Env-5d1e-SECRET', objectSize: { min: 20_000, max: 30_000 } });
  });
  afterAll(async () => {
    await s3?.stop();
    await emu?.close();
  });

  /** Runs mo_br and samples its /proc/<pid>/cmdline and environ-free argv while it runs. */
  async function sampled(args: string[], env: NodeJS.ProcessEnv) {
    const seen: string[] = [];
    let timer: NodeJS.Timeout | undefined;
    const r = await mobr(args, work, {
      env,
      onSpawn: (p) => {
        timer = setInterval(() => {
          fsp.readFile(`/proc/${p.pid}/cmdline`, 'latin1').then((c) => seen.push(c), () => undefined);
        }, 20);
      },
    });
    clearInterval(timer);
    return { ...r, argv: seen.join('\n') };
  }

  it('MO_BR_PASSWORD: the server backup works and the password is in no argv, output or file', async () => {
    const repo = path.join(work, 'env-repo');
    const M = ['--meta_path', path.join(work, 'env.meta')];
    const conn = ['--host', emu.host, '--port', String(emu.port), '--user', 'dump'];
    const ok = await sampled(['backup', ...conn, '--backup_dir', 'filesystem', '--path', repo, ...M], { MO_BR_PASSWORD: 'Env-5d1e-SECRET' });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.argv.length).toBeGreaterThan(0);
    expect(ok.argv).not.toContain('Env-5d1e-SECRET');
    const wrong = await sampled(['backup', ...conn, '--backup_dir', 'filesystem', '--path', repo, ...M], { MO_BR_PASSWORD: 'Env-wrong-SECRET' });
    expect(wrong.code).toBe(4);
    expect(wrong.stdout + wrong.stderr + wrong.argv).not.toContain('Env-wrong-SECRET');
    expect(await allBytes(repo)).not.toContain('Env-5d1e');
  });

  it('S3 keys from the AWS environment variables: no key flags needed, none in argv', async () => {
    const data = path.join(work, 'env-s3-data');
    await makeMoData(data, 1, 50_000, 4);
    const r = await sampled(
      ['backup', '--backup_dir', 's3', '--endpoint', s3.endpoint, '--bucket', s3.bucket, '--filepath', '/env', '--is_minio', '--data_dir', data, '--meta_path', path.join(work, 'env-s3.meta')],
      { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.argv).not.toContain(s3.secretAccessKey);
    expect(await fsp.readFile(path.join(work, 'env-s3.meta'), 'utf8')).not.toContain(s3.secretAccessKey);
  });
});

describe('repository keys cannot escape the root', () => {
  const BAD = ['..', '../x', '/etc/x', 'a/../../x', 'a/./b', '.', '', 'a//b', 'a/', 'x\0y', '..\\x', 'data/../../x'];
  for (const [name, make] of [['FsStore', (d: string) => new FsStore(d)], ['MemStore', () => new MemStore()]] as const) {
    it(`${name}: every operation refuses unsafe keys with UNSAFE_PATH and touches nothing`, async () => {
      const root = path.join(work, `keys-${name}`, 'repo');
      await fsp.mkdir(root, { recursive: true });
      const store = make(root);
      for (const key of BAD) {
        const ops: [string, () => Promise<unknown>][] = [
          ['get', () => store.get(key)],
          ['getRange', () => store.getRange(key, 0, 1)],
          ['put', () => store.put(key, new Uint8Array([1]))],
          ['has', () => store.has(key)],
          ['stat', () => store.stat(key)],
          ['delete', () => store.delete(key)],
        ];
        for (const [op, run] of ops) {
          const e = await run().then(() => undefined, (x) => x);
          expect(isMobrError(e, 'UNSAFE_PATH'), `${name}.${op}(${JSON.stringify(key)}): ${e}`).toBe(true);
        }
      }
      for (const prefix of ['..', '../x', '/etc', 'a/../..']) {
        const e = await (async () => {
          for await (const _ of store.list(prefix)) void _;
        })().then(() => undefined, (x) => x);
        if (name === 'FsStore') expect(isMobrError(e, 'UNSAFE_PATH'), `list(${prefix})`).toBe(true);
      }
      expect(await allPaths(path.dirname(root))).toEqual(['repo']);
    });
  }
});

describe('a malicious manifest cannot make restore write outside the restore path', () => {
  let repo: Repository;
  let good: Manifest;
  beforeAll(async () => {
    const src = path.join(work, 'evil-src');
    await fsp.mkdir(src, { recursive: true });
    await fsp.writeFile(path.join(src, 'f'), pseudoRandom(1, 5000));
    repo = await Repository.init(new FsStore(path.join(work, 'evil-repo')), TINY);
    good = await backupTree(repo, src, { id: 'good', pool });
  });

  const fileLike = (p: string): FileEntry => ({ ...good.files.find((f) => f.path === 'f')!, path: p });
  const dir = (p: string): FileEntry => ({ path: p, kind: 'dir', size: 0, mode: 0o755, mtimeMs: 0 });
  const link = (p: string, target: string): FileEntry => ({ path: p, kind: 'symlink', size: 0, mode: 0o777, mtimeMs: 0, target });

  const CASES: [string, () => FileEntry[]][] = [
    ['../x', () => [fileLike('../x')]],
    ['/etc/x (absolute)', () => [fileLike(`${work}/outside/abs`)]],
    ['a/../../x', () => [fileLike('a/../../outside/x')]],
    ['./x', () => [fileLike('./x')]],
    ['empty path', () => [fileLike('')]],
    ['a//x', () => [fileLike('a//x')]],
    ['NUL in path', () => [fileLike('a\0b')]],
    ['symlink ../ then a file through it', () => [link('esc', '../outside'), fileLike('esc/pwned')]],
    ['symlink absolute then a file through it', () => [link('esc', `${work}/outside`), fileLike('esc/pwned')]],
    ['symlink then a dir and a file through it', () => [link('esc', `${work}/outside`), dir('esc/sub'), fileLike('esc/sub/pwned')]],
    ['symlink entry named ../x', () => [link('../x', '/etc/passwd')]],
    ['dir ../x', () => [dir('../x')]],
  ];

  for (const [name, makeFiles] of CASES) {
    it(`${name}`, async () => {
      const files = makeFiles();
      const outside = path.join(work, 'outside');
      await fsp.mkdir(outside, { recursive: true });
      const m: Manifest = { ...good, id: `evil-${Math.random().toString(36).slice(2, 8)}`, files };
      await repo.saveManifest(m); // sealed by the real encoder
      const loaded = await repo.loadManifest(m.id);
      const dest = path.join(work, 'evil-dest', m.id);
      const e = await restoreBackup(repo, loaded, dest, { pool }).then(() => undefined, (x) => x);
      expect(await allPaths(outside), `${name}: wrote outside`).toEqual([]);
      // Either refused, or (a link stored as a link) nothing was written through it.
      if (e === undefined) {
        for (const p of await allPaths(dest)) expect(path.resolve(dest, p).startsWith(dest + path.sep)).toBe(true);
      } else {
        expect(isMobrError(e), `${name}: ${e}`).toBe(true);
      }
      await fsp.rm(path.join(work, 'evil-dest'), { recursive: true, force: true });
      await fsp.rm(outside, { recursive: true, force: true });
    });
  }

  it('a symlink already in the restore path is refused, not followed', async () => {
    const outside = path.join(work, 'outside2');
    await fsp.mkdir(outside, { recursive: true });
    const dest = path.join(work, 'pre-dest');
    await fsp.mkdir(dest, { recursive: true });
    await fsp.symlink(outside, path.join(dest, 'a'));
    const m: Manifest = { ...good, id: 'evil-pre', files: [fileLike('a/x')] };
    const e = await restoreBackup(repo, m, dest, { pool }).then(() => undefined, (x) => x);
    expect(isMobrError(e, 'UNSAFE_PATH'), String(e)).toBe(true);
    expect(await allPaths(outside)).toEqual([]);
  });

  for (const kind of ['cold', 'matrixone']) {
    it(`restoreMatrixOne (${kind} backup): paths with '..' are refused before any join`, async () => {
      const outside = path.join(work, `outside-mo-${kind}`);
      await fsp.mkdir(outside, { recursive: true });
      const dest = path.join(work, `mo-dest-${kind}`, 'deeper');
      const up = `../../outside-mo-${kind}`;
      const paths = kind === 'cold' ? [`${up}/x`, `shared/../${up}/y`] : [`tae/../${up}/x`, `tae/${up}/y`, `config/${up}/z`, `a/../../${up}/w`];
      for (const p of paths) {
        const m: Manifest = { ...good, id: 'evil-mo', source: kind === 'cold' ? { kind, dataDir: '/srv/mo-data' } : { kind }, files: [fileLike(p)] };
        const e = await restoreMatrixOne(repo, m, dest, { pool }).then(() => undefined, (x) => x);
        expect(isMobrError(e, 'UNSAFE_PATH'), `${p}: ${e}`).toBe(true);
        expect(await allPaths(outside), p).toEqual([]);
      }
    });
  }

  it('through ./mo_br: one line, exit 2, nothing outside', async () => {
    await repo.saveManifest({ ...good, id: 'evil-cli', source: { kind: 'cold', dataDir: '/srv/mo-data' }, completedAt: Date.now() + 1e9, files: [link('esc', '../../outside3'), fileLike('esc/pwned'), fileLike('../../outside3/x')] });
    const outside = path.join(work, 'outside3');
    await fsp.mkdir(outside, { recursive: true });
    const r = await mobr(['restore', '--backup_dir', 'filesystem', '--backup_path', path.join(work, 'evil-repo'), '--restore_dir', 'filesystem', '--restore_path', path.join(work, 'cli-dest'), '--meta_path', path.join(work, 'evil.meta')], work);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^mo_br: unsafe path in manifest: [^\n]+\n$/);
    expect(await allPaths(outside)).toEqual([]);
  });
});

describe('backup never follows symlinks out of the data folder', () => {
  it('a link to a file outside is stored as a link, not its bytes', async () => {
    const data = path.join(work, 'link-data');
    await fsp.mkdir(data, { recursive: true });
    await fsp.writeFile(path.join(work, 'private'), 'TOP-SECRET-CONTENT-91ab');
    await fsp.symlink(path.join(work, 'private'), path.join(data, 'ln'));
    await fsp.symlink(work, path.join(data, 'dirln'));
    const repoDir = path.join(work, 'link-repo');
    const r = await mobr(['backup', '--backup_dir', 'filesystem', '--path', repoDir, '--data_dir', data, '--meta_path', path.join(work, 'link.meta')], work);
    expect(r.code, r.stderr).toBe(0);
    const repo = await Repository.open(new FsStore(repoDir));
    const m = await repo.loadManifest(backupIdOf(r.stdout)!);
    expect(m.files.map((f) => [f.path, f.kind])).toEqual([['dirln', 'symlink'], ['ln', 'symlink']]);
    const bytes = await allBytes(repoDir);
    expect(bytes).not.toContain('TOP-SECRET-CONTENT-91ab');
  });
});
