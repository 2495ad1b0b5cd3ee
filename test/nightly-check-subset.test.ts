/**
 * `check --read_data_subset n/m | x%` through ./mo_br (issue #24): the m subsets of n/m read
 * every pack once between them, by pack id; a damaged pack is found by the one subset that holds
 * it (and by 100%), the other subsets pass; x% reads that share of the packs.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupTree } from '../src/backup/backup.js';
import { parseSubset, selectPacks } from '../src/backup/verify-subset.js';
import { Repository } from '../src/repo/repository.js';
import { FsStore } from '../src/store/fs.js';
import { WorkerPool } from '../src/workers/pool.js';
import { ensureBuilt, mobr, mobrIn } from './helpers/cli.js';
import { pseudoRandom, tempDir, writeTree } from './helpers/tree.js';

let root: string;
let packs: string[];
const M = 2;
const check = (subset: string) => mobr(['--meta_path', path.join(root, 'mo_br.meta'), 'check', '--backup_dir', 'filesystem', '--backup_path', 'repo', '--read_data_subset', subset], root);
const readCount = (out: string) => /check: read (\d+) of (\d+) pack\(s\)/.exec(out)!.slice(1).map(Number);

beforeAll(async () => {
  ensureBuilt();
  root = await tempDir('mobr-nightly-subset-');
  const repo = await Repository.init(new FsStore(path.join(root, 'repo')), { chunker: { min: 1024, avg: 4096, max: 16384 }, packSize: 32 * 1024 });
  await writeTree(path.join(root, 'data'), [
    { path: 'a.bin', data: pseudoRandom(7, 300_000), mode: 0o644 },
    { path: 'b.bin', data: pseudoRandom(8, 100_000), mode: 0o644 },
  ]);
  const pool = new WorkerPool(2);
  try {
    await backupTree(repo, path.join(root, 'data'), { id: '25536ff0-126f-11ef-9902-26dd28356ef1', pool });
  } finally {
    await pool.close();
    await repo.close();
  }
  packs = (await fsp.readdir(path.join(root, 'repo', 'data'), { recursive: true })).map((p) => path.basename(String(p))).filter((p) => /^[0-9a-f]{64}$/.test(p));
  expect(packs.length).toBeGreaterThan(6);
});
afterAll(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

describe('check --read_data_subset', () => {
  it('n/m takes the packs whose first id byte mod m is n-1; x% a random share (at least one)', () => {
    expect(parseSubset('2/5')).toEqual({ kind: 'bucket', n: 2, m: 5 });
    expect(parseSubset('2.5%')).toEqual({ kind: 'percent', percent: 2.5 });
    for (const bad of ['0/3', '4/3', '1/257', '0%', '101%', 'all']) expect(() => parseSubset(bad)).toThrow(/bad --read_data_subset/);
    const ids = ['00aa', '01bb', '02cc', 'ffdd', '10ee'];
    expect(selectPacks(ids, { kind: 'bucket', n: 1, m: 3 })).toEqual(['00aa', 'ffdd']); // 0x00 % 3 = 0, 0xff % 3 = 0
    expect(selectPacks(ids, { kind: 'bucket', n: 2, m: 3 })).toEqual(['01bb', '10ee']); // 0x10 = 16, % 3 = 1
    expect(selectPacks(ids, { kind: 'percent', percent: 40 }, () => 0)).toHaveLength(2);
    expect(selectPacks(ids, { kind: 'percent', percent: 1 })).toHaveLength(1);
  });

  it('--json says which subset it read and how much (null when every chunk was read)', async () => {
    const json = (...more: string[]) => mobrIn(['--meta_path', path.join(root, 'mo_br.meta'), 'check', '--json', '--backup_dir', 'filesystem', '--backup_path', 'repo', ...more], root);
    const [part, whole] = [await json('--read_data_subset', '2/2'), await json()];
    expect([part.code, whole.code]).toEqual([0, 0]);
    const mine = packs.filter((p) => parseInt(p.slice(0, 2), 16) % M === 1);
    const sizes = await Promise.all(mine.map((p) => fsp.stat(path.join(root, 'repo', 'data', p.slice(0, 2), p)).then((s) => s.size)));
    expect(JSON.parse(part.stdout).subset).toEqual({ subset: '2/2', packs: packs.length, packsRead: mine.length, bytesRead: expect.any(Number) });
    expect(JSON.parse(part.stdout).subset.bytesRead).toBeLessThanOrEqual(sizes.reduce((a, b) => a + b, 0));
    expect(JSON.parse(part.stdout).subset.bytesRead).toBeGreaterThan(0);
    expect(JSON.parse(whole.stdout).subset).toBeNull();
  });

  it('the m subsets read every pack once between them; a damaged pack fails only its own subset', async () => {
    let total = 0;
    for (let n = 1; n <= M; n++) {
      const r = await check(`${n}/${M}`);
      expect(r.code).toBe(0);
      const [read, all] = readCount(r.stdout);
      expect(all).toBe(packs.length);
      expect(read).toBe(packs.filter((p) => parseInt(p.slice(0, 2), 16) % M === n - 1).length);
      total += read;
    }
    expect(total).toBe(packs.length);
    // damage one byte of the first blob of one pack
    const victim = packs.sort()[0];
    const file = path.join(root, 'repo', 'data', victim.slice(0, 2), victim);
    const bytes = await fsp.readFile(file);
    bytes[10] ^= 0xff;
    await fsp.writeFile(file, bytes);
    const mine = (parseInt(victim.slice(0, 2), 16) % M) + 1;
    for (let n = 1; n <= M; n++) {
      const r = await check(`${n}/${M}`);
      if (n !== mine) {
        expect(r.code).toBe(0);
        continue;
      }
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`check: pack ${victim} FAILED`);
      expect(r.stdout).toMatch(/check: [ab]\.bin FAILED: chunk [0-9a-f]{16} in pack [0-9a-f]{16}/);
      expect(r.stderr).toMatch(/^mo_br: check failed: /);
    }
    const all = await check('100%');
    expect(all.code).toBe(1);
    expect(readCount(all.stdout)).toEqual([packs.length, packs.length]);
  });

  it('a bad subset is bad input', async () => {
    const r = await check('0/3');
    expect([r.code, r.stderr]).toEqual([2, 'mo_br: bad --read_data_subset "0/3": n/m wants 1 <= n <= m <= 256\n']);
  });
});
