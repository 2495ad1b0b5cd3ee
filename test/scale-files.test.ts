/**
 * Issue 22's scale case: N files of mixed small sizes (16 B–12 KB, log-uniform, like MatrixOne's
 * checkpoint metadata; 500 to a folder) backed up, checked (every byte read) and restored, each
 * step in its own process as `npm run bench` runs mobr (dist/bench/mobr-child.js, built by `npm
 * run build`). Each step's peak RSS stays under 1 GiB and every file comes back byte-identical.
 * It runs only when MOBR_SCALE_FILES gives N: the soak (test/soak/run.ts) runs the issue's
 * 1,000,000 (MOBR_SCALE_FILES=600 runs in seconds); it prints CPU µs per file for each step.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { makeCheckpointTree } from '../bench/small.js';
import { tempDir } from './helpers/tree.js';

const N = Number(process.env.MOBR_SCALE_FILES ?? 0);
const CHILD = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/bench/mobr-child.js');
const GiB = 1024 ** 3;

interface Step {
  maxRssKiB: number;
  cpuUs: number;
  [k: string]: unknown;
}

async function step(...args: string[]): Promise<Step> {
  const { stdout } = await promisify(execFile)(process.execPath, [CHILD, ...args], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Step;
}

/** Every file of the tree, as paths relative to it, sorted. */
async function files(root: string): Promise<string[]> {
  return (await fsp.readdir(root, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => path.relative(root, path.join(e.parentPath, e.name))).sort();
}

describe.skipIf(!(N > 0))(`${N.toLocaleString('en')} small files`, () => {
  let work: string;
  let shape: { files: number; bytes: number };
  beforeAll(async () => {
    work = await tempDir();
    shape = await makeCheckpointTree(path.join(work, 'src'), N, Math.ceil(N / 500));
  }, 3_600_000);
  afterAll(async () => {
    await fsp.rm(work, { recursive: true, force: true });
  }, 3_600_000);

  it('backed up, checked and restored whole, each step under 1 GiB of RSS', async () => {
    const repo = path.join(work, 'repo');
    const out = path.join(work, 'out');
    const backup = await step('backup', repo, path.join(work, 'src'), 'scale');
    expect(backup).toMatchObject({ logicalSize: shape.bytes });
    const check = await step('check', repo, 'scale');
    expect(check).toMatchObject({ ok: true, files: N, bytes: shape.bytes });
    const restore = await step('restore', repo, 'scale', out);
    expect(restore).toMatchObject({ files: N, bytes: shape.bytes });
    const steps = { backup, check, restore };
    console.log(`${N} files, ${shape.bytes} bytes: ${Object.entries(steps).map(([k, s]) => `${k} ${(s.cpuUs / N).toFixed(0)} CPU µs/file, peak RSS ${(s.maxRssKiB / 1024).toFixed(0)} MiB`).join('; ')}`);
    for (const s of Object.values(steps)) expect(s.maxRssKiB * 1024).toBeLessThan(GiB);
    // every file back, byte-identical (at a million, every 97th is compared; all are counted)
    const names = await files(path.join(work, 'src'));
    expect(await files(out)).toEqual(names);
    const every = N > 20_000 ? 97 : 1;
    for (let i = 0; i < names.length; i += every) {
      const [a, b] = await Promise.all([fsp.readFile(path.join(work, 'src', names[i])), fsp.readFile(path.join(out, names[i]))]);
      expect(Buffer.compare(a, b), names[i]).toBe(0);
    }
  }, 3_600_000);
});
