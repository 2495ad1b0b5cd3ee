/**
 * Server backups staged by a DISK (LocalFS) backup target, TN configs, LocalFS framing, where
 * restore puts configs and hk_data, cold backups.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backupTree } from '../src/backup/backup.js';
import { connect } from '../src/mo/client.js';
import { backupFromMatrixOne } from '../src/mo/ingest.js';
import { restoreMatrixOne } from '../src/mo/restore.js';
import { frame, unframe } from '../src/mo/framing.js';
import { Repository } from '../src/repo/repository.js';
import { FsStore } from '../src/store/fs.js';
import { startEmulator } from './emulator/index.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'mobr-moingest-'));
  cleanups.push(() => rm(d, { recursive: true, force: true }));
  return d;
}

async function walk(dir: string, pre = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const rel = pre ? `${pre}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await walk(join(dir, e.name), rel)));
    else out.push(rel);
  }
  return out;
}

describe('LocalFS framing', () => {
  it('frame/unframe round-trip; a flipped byte is CORRUPT', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 9000 }), (data) => {
        const f = frame(data);
        expect(f.length).toBe(data.length + 4 * Math.ceil(data.length / 2044));
        expect(Buffer.from(unframe(f, 'x')).equals(Buffer.from(data))).toBe(true);
        if (data.length > 0) {
          f[f.length - 1] ^= 1;
          expect(() => unframe(f, 'x')).toThrow(/x: checksum block/);
        }
      }),
    );
  });
});

describe('server backup staged by a DISK backup target', () => {
  it('framed staged files are unframed, checked against the logical checksums; restore with a DISK TN config frames them again', async () => {
    const home = await tmp();
    // a raw (DISK-V2) emulator whose output this test frames itself, file by file
    const emu = await startEmulator({ home, objectSize: { min: 5000, max: 9000 }, backend: 'DISK-V2', layout: 'flat' });
    cleanups.push(() => emu.close());
    const c = await connect({ host: emu.host, port: emu.port, user: 'dump', password: '111' });
    cleanups.push(() => c.close());
    await c.query('create database db1');
    const repoDir = await tmp();
    const repo = await Repository.openOrInit(new FsStore(repoDir));
    const raw = new Map<string, Buffer>();
    const m = await backupFromMatrixOne({
      conn: { host: emu.host, port: emu.port, user: 'dump', password: '111' }, repo, target: { backupDir: 'filesystem', path: repoDir }, id: 'framed', type: 'full',
      afterServerBackup: async (s) => {
        // what LocalFS writes: everything under tae/ and hakeeper/ framed, sidecars included (mo_meta, config/ raw)
        for (const rel of await walk(s.localDir!)) {
          if (!(rel.startsWith('tae/') || rel.startsWith('hakeeper/'))) continue;
          const p = join(s.localDir!, rel);
          const b = await readFile(p);
          if (!rel.endsWith('.sha256')) raw.set(rel, b);
          await writeFile(p, frame(b));
        }
      },
    });
    expect(raw.size).toBeGreaterThan(3);
    for (const [rel, b] of raw) {
      const f = m.files.find((x) => x.path === rel)!;
      expect(f.size).toBe(b.length);
    }
    // restore with a TN config whose SHARED/LOCAL backend is DISK: files framed on disk
    const dest = await tmp();
    await writeFile(join(dest, 'tn.toml'), '[[fileservice]]\nname = "LOCAL"\nbackend = "DISK"\n[[fileservice]]\nname = "SHARED"\nbackend = "DISK"\ndata-dir = "./mo-data/shared"\n');
    const r = await restoreMatrixOne(repo, m, dest, { dnConfigPath: join(dest, 'tn.toml'), configDir: null });
    expect(r.layout.taePath).toBe('./mo-data/shared');
    const obj = [...raw.keys()].find((k) => /_\d{5}$/.test(k))!;
    const onDisk = await readFile(join(dest, 'mo-data', 'shared', obj.slice(4)));
    expect(Buffer.from(unframe(onDisk, obj)).equals(raw.get(obj)!)).toBe(true);
    expect(Buffer.from(unframe(await readFile(join(dest, 'mo-data', 'local', 'hk_data')), 'hk')).equals(raw.get('hakeeper/hk_data')!)).toBe(true);
    await expect(stat(join(dest, 'etc'))).rejects.toMatchObject({ code: 'ENOENT' });
    await repo.close();
  });
});

describe('where restore puts the rest', () => {
  it('configs go back to etc/launch without overwriting; tae_list, tae_sum, mo_meta stay out of mo-data', async () => {
    const home = await tmp();
    const emu = await startEmulator({ home, objectSize: { min: 5000, max: 9000 } });
    cleanups.push(() => emu.close());
    const repoDir = await tmp();
    const repo = await Repository.openOrInit(new FsStore(repoDir));
    cleanups.push(() => repo.close());
    const m = await backupFromMatrixOne({ conn: { host: emu.host, port: emu.port, user: 'dump', password: '111' }, repo, target: { backupDir: 'filesystem', path: repoDir }, id: 'b', type: 'full' });
    const dest = await tmp();
    await mkdir(join(dest, 'etc', 'launch'), { recursive: true });
    await writeFile(join(dest, 'etc', 'launch', 'cn.toml'), 'mine');
    const skipped: string[] = [];
    await restoreMatrixOne(repo, m, dest, { onSkip: (f) => skipped.push(f.path) });
    expect((await readdir(join(dest, 'etc', 'launch'))).sort()).toEqual(['cn.toml', 'launch.toml', 'log.toml', 'tn.toml']);
    expect(await readFile(join(dest, 'etc', 'launch', 'cn.toml'), 'utf8')).toBe('mine');
    expect(await readFile(join(dest, 'etc', 'launch', 'tn.toml'), 'utf8')).toBe(await readFile(join(home, 'etc', 'launch', 'tn.toml'), 'utf8'));
    expect(skipped.some((p) => p.startsWith('config/cn.toml_'))).toBe(true);
    const files = await walk(join(dest, 'mo-data'));
    expect(files).toContain('local/hk_data');
    expect(files.filter((f) => /tae_list|tae_sum|mo_meta/.test(f))).toEqual([]);
    expect(files.filter((f) => f.startsWith('shared/')).length).toBe(m.files.filter((f) => f.path.startsWith('tae/')).length - 2);
  });

  it('a cold backup of mo-data comes back under <restore_path>/mo-data', async () => {
    const src = await tmp();
    await mkdir(join(src, 'shared', 'ckp'), { recursive: true });
    await writeFile(join(src, 'shared', 'obj_00000'), 'object');
    await writeFile(join(src, 'shared', 'ckp', 'meta_0-0_1-1.ckp'), 'ckp');
    const repoDir = await tmp();
    const repo = await Repository.openOrInit(new FsStore(repoDir));
    cleanups.push(() => repo.close());
    const m = await backupTree(repo, src, { id: 'cold', source: { kind: 'cold', dataDir: src } });
    const dest = await tmp();
    const shown: string[] = [];
    const r = await restoreMatrixOne(repo, m, dest, { onFile: (_f, s) => shown.push(s.to) });
    expect(r.layout.kind).toBe('cold');
    expect(shown.sort()).toEqual(['mo-data/shared/ckp/meta_0-0_1-1.ckp', 'mo-data/shared/obj_00000']);
    expect(await readFile(join(dest, 'mo-data', 'shared', 'obj_00000'), 'utf8')).toBe('object');
  });
});
