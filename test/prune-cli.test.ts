/** The prune / stats / sync commands, called as main.ts will call them, on a catalog + folder repository. */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupTree } from '../src/backup/backup.js';
import { Catalog } from '../src/cli/meta.js';
import type { CliContext } from '../src/cli/context.js';
import { runPrune } from '../src/cli/commands/prune.js';
import { runStats } from '../src/cli/commands/stats.js';
import { runSync } from '../src/cli/commands/sync.js';
import { Repository } from '../src/repo/repository.js';
import { FsStore } from '../src/store/fs.js';
import { WorkerPool } from '../src/workers/pool.js';
import { pseudoRandom, tempDir, writeTree } from './helpers/tree.js';

const IDS = ['25536ff0-126f-11ef-9902-26dd28356ef1', '25536ff0-126f-11ef-9902-26dd28356ef2', '25536ff0-126f-11ef-9902-26dd28356ef3'];
let root: string;
let pool: WorkerPool;

function ctx(json = false): CliContext & { out: string } {
  const c = { out: '', json, catalog: new Catalog(path.join(root, 'mo_br.meta')), stderr: { write: () => true }, stdout: { write: (s: string) => (c.out += s) } };
  return c as CliContext & { out: string };
}

beforeAll(async () => {
  pool = new WorkerPool(2);
  root = await tempDir('mobr-prune-cli-');
  const repoDir = path.join(root, 'repo');
  const repo = await Repository.init(new FsStore(repoDir), { chunker: { min: 1024, avg: 4096, max: 16384 }, packSize: 32 * 1024 });
  const c = ctx();
  for (let i = 0; i < IDS.length; i++) {
    const dir = path.join(root, `src${i}`);
    await writeTree(dir, [{ path: 'a', data: pseudoRandom(1, 30_000), mode: 0o644 }, { path: 'b', data: pseudoRandom(10 + i, 30_000), mode: 0o644 }]);
    const m = await backupTree(repo, dir, { id: IDS[i], pool });
    await c.catalog.add({ id: IDS[i], size: m.logicalSize, location: { backupDir: 'filesystem', path: repoDir }, atTime: m.startedAt, durationNs: 1, completeTime: m.completedAt + i, backupTs: `${m.completedAt}-0`, backupType: 'full' });
  }
});
afterAll(async () => {
  await pool.close();
  await fsp.rm(root, { recursive: true, force: true });
});

describe('mo_br prune / stats / sync', () => {
  it('stats shows per-backup unique bytes', async () => {
    const c = ctx(true);
    await runStats(undefined, {}, c);
    const doc = JSON.parse(c.out);
    expect(doc.schema).toBe('mobr.stats.v1');
    const s = doc.repositories[0];
    expect(s.backups).toHaveLength(3);
    for (const b of s.backups) expect(b.uniqueBytes).toBeGreaterThan(0);
    expect(s.dedupRatio).toBeGreaterThan(1);
  });

  it('prune --dry_run lists what would go and keeps everything', async () => {
    const c = ctx();
    await runPrune({ keep_last: '1', dry_run: true }, c);
    expect(c.out).toMatch(/would remove {2}25536ff0-126f-11ef-9902-26dd28356ef1/);
    expect(c.out).toMatch(/keep {4}25536ff0-126f-11ef-9902-26dd28356ef3 .* last/);
    expect(await c.catalog.read()).toHaveLength(3);
    await expect(runPrune({}, c)).rejects.toThrow(/no retention rule/);
  });

  it('sync copies to a folder; prune then removes backups and their records', async () => {
    const c = ctx(true);
    await runSync([IDS[0], IDS[2]], { target_dir: 'filesystem', target_path: path.join(root, 'offsite') }, c);
    expect(JSON.parse(c.out).copied).toEqual([IDS[0], IDS[2]]);
    expect(await (await Repository.open(new FsStore(path.join(root, 'offsite')))).listBackupIds()).toEqual([IDS[0], IDS[2]]);
    const p = ctx(true);
    await runPrune({ keep_last: '1' }, p);
    expect(JSON.parse(p.out).repositories[0].plan.remove).toHaveLength(2);
    expect((await p.catalog.read()).map((r) => r.id)).toEqual([IDS[2]]);
  });
});
