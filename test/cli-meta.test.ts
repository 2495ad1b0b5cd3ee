/** The catalog (mo_br.meta): round trip, integrity, damage left alone, no secrets, locking. */
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as fc from 'fast-check';
import { Catalog, parseMeta, serializeMeta, defaultMetaPath, metaChecksum, type BackupRecord } from '../src/cli/meta.js';
import { withLock } from '../src/cli/lock.js';
import { processIdentity } from '../src/util/process.js';
import { ManualClock } from './helpers/clock.js';
import { isMobrError } from '../src/errors.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tmp = () => mkdtempSync(path.join(tmpdir(), 'mobr-cli-meta-'));

function record(i: number, extra: Partial<BackupRecord> = {}): BackupRecord {
  return {
    id: `0000${String(i).padStart(4, '0')}-126f-11ef-9902-26dd28356ef3`,
    size: 1000 * i,
    location: { backupDir: 'filesystem', path: `/backups/${i}` },
    atTime: 1_715_745_404_915 + i,
    durationNs: 8_648_091_083,
    completeTime: 1_715_745_413_563 + i,
    backupTs: '1715745404915410000-1',
    backupType: 'full',
    ...extra,
  };
}

describe('meta file format', () => {
  it('round-trips any records', () => {
    const arb = fc.array(
      fc.record({
        i: fc.nat(9999),
        size: fc.nat(),
        type: fc.constantFrom('full' as const, 'incremental' as const),
        s3: fc.boolean(),
        text: fc.string(),
      }),
      { maxLength: 8 },
    );
    fc.assert(
      fc.property(arb, (rows) => {
        const records = rows.map((r) =>
          record(r.i, {
            size: r.size,
            backupType: r.type,
            source: r.text || undefined,
            location: r.s3 ? { backupDir: 's3', bucket: 'b1', filepath: r.text, isMinio: true, endpoint: 'http://127.0.0.1:9000' } : { backupDir: 'filesystem', path: r.text },
          }),
        );
        expect(parseMeta(serializeMeta(records), 'm')).toEqual(records);
      }),
    );
  });

  it('any change to the bytes is CORRUPT_META (the sidecar no longer matches)', () => {
    const text = serializeMeta([record(1), record(2)]);
    const sidecar = metaChecksum(text);
    fc.assert(
      fc.property(fc.nat(text.length - 2), fc.integer({ min: 1, max: 255 }), (pos, delta) => {
        const bytes = Buffer.from(text);
        bytes[pos] = (bytes[pos] + delta) % 256;
        const changed = bytes.toString('latin1');
        if (changed === text) return;
        let parsed: BackupRecord[] | undefined;
        try {
          parsed = parseMeta(changed, 'm', sidecar);
        } catch (e) {
          expect(isMobrError(e, 'CORRUPT_META')).toBe(true);
          expect((e as Error).message).not.toContain('\n');
          return;
        }
        expect.unreachable(`a changed file was accepted: ${JSON.stringify(parsed)}`);
      }),
    );
  });

  it('never writes credentials, even if a caller smuggles them into a location', () => {
    const leaky = record(3, {
      location: { backupDir: 's3', bucket: 'b1', filepath: 'x', isMinio: true, secretAccessKey: 'SECRETSECRET', accessKeyId: 'AKIALEAK' } as never,
    });
    const text = serializeMeta([leaky]);
    expect(text).not.toMatch(/SECRETSECRET|AKIALEAK|secret|access/i);
  });

  it('defaults to mo_br.meta beside the launcher', () => {
    expect(defaultMetaPath(['node', '/opt/mo/mo_br'])).toBe('/opt/mo/mo_br.meta');
  });
});

describe('Catalog', () => {
  it('adds, finds and removes; a missing file is empty', async () => {
    const dir = tmp();
    const c = new Catalog(path.join(dir, 'mo_br.meta'));
    expect(await c.read()).toEqual([]);
    await c.add(record(1));
    await c.add(record(2));
    expect((await c.get(record(2).id)).size).toBe(2000);
    await c.remove(record(1).id);
    expect((await c.read()).map((r) => r.id)).toEqual([record(2).id]);
    await expect(c.get(record(1).id)).rejects.toMatchObject({ code: 'ENOENT_BACKUP' });
    expect(readdirSync(dir).sort()).toEqual(['mo_br.meta', 'mo_br.meta.sha256']); // no temp or lock files left
  });

  it('a damaged file is reported and never overwritten', async () => {
    const dir = tmp();
    const file = path.join(dir, 'mo_br.meta');
    const c0 = new Catalog(file);
    await c0.add(record(1));
    const damaged = readFileSync(file, 'utf8').replace(',1000,', ',1001,');
    expect(damaged).not.toBe(readFileSync(file, 'utf8'));
    writeFileSync(file, damaged);
    const c = new Catalog(file);
    await expect(c.read()).rejects.toMatchObject({ code: 'CORRUPT_META' });
    await expect(c.add(record(2))).rejects.toMatchObject({ code: 'CORRUPT_META' });
    await expect(c.remove(record(1).id)).rejects.toMatchObject({ code: 'CORRUPT_META' });
    expect(readFileSync(file, 'utf8')).toBe(damaged);
    writeFileSync(file, '');
    await expect(c.add(record(2))).rejects.toMatchObject({ code: 'CORRUPT_META', message: expect.stringMatching(/^meta file \S+ does not match its checksum file \S+\.sha256 \(damaged or edited\); it was left unchanged$/) });
    expect(readFileSync(file, 'utf8')).toBe('');
  });

  it('a lock held by a live process makes a writer wait, then fail LOCKED', async () => {
    const dir = tmp();
    const lock = path.join(dir, 'mo_br.meta.lock');
    writeFileSync(lock, JSON.stringify({ pid: process.ppid, host: (await import('node:os')).hostname(), nonce: 'x', at: Date.now() }));
    await expect(withLock(lock, async () => 1, 300)).rejects.toMatchObject({ code: 'LOCKED' });
    expect(existsSync(lock)).toBe(true);
  });

  it('a lock left by a dead process of this host, boot and PID namespace is broken', async () => {
    const dir = tmp();
    const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid!;
    const lock = path.join(dir, 'mo_br.meta.lock');
    writeFileSync(lock, JSON.stringify({ ...processIdentity(), pid: dead, nonce: 'old', at: Date.now() }));
    const c = new Catalog(path.join(dir, 'mo_br.meta'));
    await c.add(record(1));
    expect((await c.read()).length).toBe(1);
    expect(existsSync(lock)).toBe(false);
  });

  it('a pid this host does not know is not proven dead: another PID namespace, another boot, or no identity (an older mobr) waits for the stale limit', async () => {
    const dir = tmp();
    const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid!;
    const lock = path.join(dir, 'mo_br.meta.lock');
    const me = processIdentity();
    for (const other of [{ pidns: (me.pidns ?? 0) + 1 }, { boot: 'another-boot' }, { boot: undefined, pidns: undefined, start: undefined }]) {
      writeFileSync(lock, JSON.stringify({ ...me, pid: dead, nonce: 'held', at: Date.now(), ...other }));
      await expect(withLock(lock, async () => 1, 200), JSON.stringify(other)).rejects.toMatchObject({ code: 'LOCKED' });
      expect(existsSync(lock)).toBe(true);
    }
  });

  it('a live lock becomes stale when the injected clock passes the limit (no sleeping)', async () => {
    const dir = tmp();
    const lock = path.join(dir, 'mo_br.meta.lock');
    const clock = new ManualClock(Date.now());
    writeFileSync(lock, JSON.stringify({ pid: process.ppid, host: 'elsewhere', nonce: 'held', at: clock.now() }));
    await expect(withLock(lock, async () => 1, 0, 120_000, clock)).rejects.toMatchObject({ code: 'LOCKED' });
    clock.advance(120_000); // exactly the limit: not yet older than it
    await expect(withLock(lock, async () => 1, 0, 120_000, clock)).rejects.toMatchObject({ code: 'LOCKED' });
    clock.advance(1);
    expect(await withLock(lock, async () => 42, 0, 120_000, clock)).toBe(42);
    expect(existsSync(lock)).toBe(false);
  });

  it('a lock older than the stale limit is broken whatever its owner', async () => {
    const dir = tmp();
    const lock = path.join(dir, 'mo_br.meta.lock');
    writeFileSync(lock, JSON.stringify({ pid: process.ppid, host: 'elsewhere', nonce: 'old', at: Date.now() - 10 * 60_000 }));
    expect(await withLock(lock, async () => 42, 2000)).toBe(42);
  });
});

describe('concurrent mo_br processes never lose a record', () => {
  beforeAll(() => {
    const entry = path.join(ROOT, 'dist/src/cli/meta.js');
    if (!existsSync(entry) || statSync(entry).mtimeMs < statSync(path.join(ROOT, 'src/cli/meta.ts')).mtimeMs) {
      execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
    }
  });

  it('6 processes × 15 adds', async () => {
    const dir = tmp();
    const file = path.join(dir, 'mo_br.meta');
    const script = `
      const { Catalog } = await import(${JSON.stringify(path.join(ROOT, 'dist/src/cli/meta.js'))});
      const c = new Catalog(${JSON.stringify(file)});
      const w = Number(process.argv[1]);
      for (let i = 0; i < 15; i++) {
        await c.add({ id: '0000000' + w + '-0000-1000-8000-' + String(i).padStart(12, '0'), size: i, location: { backupDir: 'filesystem', path: '/b' }, atTime: 1, durationNs: 1, completeTime: 2, backupTs: '1-0', backupType: 'full' });
      }`;
    const runs = Array.from({ length: 6 }, (_, w) =>
      new Promise<number>((resolve) => {
        const p = spawn(process.execPath, ['--input-type=module', '-e', script, String(w)], { stdio: ['ignore', 'ignore', 'inherit'] });
        p.on('exit', (code) => resolve(code ?? -1));
      }),
    );
    expect(await Promise.all(runs)).toEqual([0, 0, 0, 0, 0, 0]);
    const ids = (await new Catalog(file).read()).map((r) => r.id);
    expect(ids.length).toBe(90);
    expect(new Set(ids).size).toBe(90);
    expect(readdirSync(dir).sort()).toEqual(['mo_br.meta', 'mo_br.meta.sha256']);
    expect(readFileSync(path.join(dir, 'mo_br.meta.sha256'), 'utf8')).toBe(metaChecksum(readFileSync(path.join(dir, 'mo_br.meta'))));
  });
});
