/**
 * Churn benchmark: N emulated days of a MatrixOne (test/emulator: new objects, a merge of the
 * oldest objects, GC with a global checkpoint every few days, a checkpoint per write) with one
 * backup a day through the server's BACKUP statement, three ways:
 *  - mobr full-with-reuse: `backupFromMatrixOne` type 'full' into repository A (unchanged objects
 *    reuse the previous manifest's chunks unread; the server still copies them to staging);
 *  - mobr incremental: a full on day 1, then type 'incremental' on the previous day into repository B;
 *  - mo_br's native full copies: what the server staged each day (every tae_list file with
 *    needCopy=true plus the written files), kept per backup, summed.
 * Prints a table per day and writes the final table to bench/results/churn.md.
 *
 *   npx tsx bench/churn.ts [--days 30] [--initial 60] [--daily 8] [--merge 6] [--gc-every 7]
 *                          [--min-kib 200] [--max-kib 600] [--parallelism 2] [--out bench/results/churn.md]
 */
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { backupFromMatrixOne } from '../src/mo/ingest.js';
import type { Manifest } from '../src/repo/manifest.js';
import { Repository } from '../src/repo/repository.js';
import { FsStore } from '../src/store/fs.js';
import type { Store } from '../src/store/store.js';
import { WorkerPool } from '../src/workers/pool.js';
import { startEmulator } from '../test/emulator/index.js';

const { values: a } = parseArgs({
  options: {
    days: { type: 'string', default: '30' },
    initial: { type: 'string', default: '60' },
    daily: { type: 'string', default: '8' },
    merge: { type: 'string', default: '6' },
    'gc-every': { type: 'string', default: '7' },
    'min-kib': { type: 'string', default: '200' },
    'max-kib': { type: 'string', default: '600' },
    parallelism: { type: 'string', default: String(Math.min(2, availableParallelism())) },
    out: { type: 'string', default: 'bench/results/churn.md' },
  },
});
const num = (k: keyof typeof a) => Number(a[k]);
const days = num('days');

const MB = 1e6;
const fmt = (b: number) => `${(b / MB).toFixed(1)} MB`;

async function storeBytes(s: Store): Promise<number> {
  let n = 0;
  for await (const e of s.list('')) n += e.size;
  return n;
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'mobr-churn-'));
  const emu = await startEmulator({ home: join(work, 'mo'), objectSize: { min: num('min-kib') << 10, max: num('max-kib') << 10 } });
  const conn = { host: emu.host, port: emu.port, user: 'dump', password: '111' };
  const pool = new WorkerPool(num('parallelism'));
  const dirA = join(work, 'repo-full');
  const dirB = join(work, 'repo-inc');
  const repoA = await Repository.openOrInit(new FsStore(dirA));
  const repoB = await Repository.openOrInit(new FsStore(dirB));
  const rows: string[][] = [];
  let nativeFull = 0;
  let nativeInc = 0;
  let prevB: Manifest | undefined;
  const secsA: number[] = [];
  const secsB: number[] = [];
  const readA: number[] = [];
  try {
    for (let day = 1; day <= days; day++) {
      await emu.simulateDay({
        newObjects: day === 1 ? num('initial') : num('daily'),
        mergeCount: day === 1 ? 0 : num('merge'),
        gc: day % num('gc-every') === 0,
      });
      let t = performance.now();
      const mA = await backupFromMatrixOne({ conn, repo: repoA, target: { backupDir: 'filesystem', path: dirA }, id: `full-${day}`, type: 'full', pool });
      secsA.push((performance.now() - t) / 1000);
      t = performance.now();
      const mB: Manifest = await backupFromMatrixOne({
        conn, repo: repoB, target: { backupDir: 'filesystem', path: dirB }, id: `inc-${day}`, pool,
        ...(prevB ? { type: 'incremental', baseId: prevB.id } : { type: 'full' }),
      });
      secsB.push((performance.now() - t) / 1000);
      prevB = mB;
      nativeFull += mA.extra!.stagedBytes as number;
      nativeInc += mB.extra!.stagedBytes as number;
      readA.push(mA.extra!.readBytes as number);
      const row = [
        String(day),
        fmt(mA.logicalSize),
        fmt(await storeBytes(repoA.store)),
        fmt(await storeBytes(repoB.store)),
        fmt(nativeFull),
        fmt(nativeInc),
        `${fmt(mA.extra!.readBytes as number)} / ${fmt(mA.extra!.stagedBytes as number)}`,
        secsA[secsA.length - 1]!.toFixed(2),
        secsB[secsB.length - 1]!.toFixed(2),
      ];
      rows.push(row);
      console.log(row.join('\t'));
    }
  } finally {
    await pool.close();
    await repoA.close();
    await repoB.close();
    await emu.close();
    await rm(work, { recursive: true, force: true });
  }
  const head = ['day', 'live data', 'mobr repo (daily full+reuse)', 'mobr repo (daily incremental)', 'mo_br native fulls, cumulative', 'mo_br native incrementals, cumulative', 'mobr full: read / staged', 'mobr full s', 'mobr incr s'];
  const avg = (x: number[]) => x.reduce((s, v) => s + v, 0) / x.length;
  const md = [
    '# Churn: daily backups of an emulated MatrixOne',
    '',
    `Generated by \`npx tsx bench/churn.ts\` (${days} days, ${num('initial')} initial objects, ${num('daily')} new objects/day, merge of the ${num('merge')} oldest daily, GC every ${num('gc-every')} days, objects ${num('min-kib')}–${num('max-kib')} KiB, parallelism ${num('parallelism')}, ${cpus().length} CPUs, ${new Date().toISOString().slice(0, 10)}).`,
    'Sizes in MB (10^6). "read / staged": bytes mobr read and chunked vs bytes the server staged for that full backup (the rest reused unread by name+size+checksum).',
    'Seconds are wall time of the whole backup: the BACKUP statement (the server copies into staging), verification, ingest, manifest, staging cleanup.',
    '',
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '',
    `Average seconds per backup after day 1: full-with-reuse ${avg(secsA.slice(1)).toFixed(2)} s, incremental ${avg(secsB.slice(1)).toFixed(2)} s; mobr read on average ${fmt(avg(readA.slice(1)))} per full after day 1.`,
    '',
  ].join('\n');
  await mkdir(dirname(a.out!), { recursive: true });
  await writeFile(a.out!, md);
  console.log(`\n${md}`);
}

await main();
