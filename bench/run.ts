/**
 * `npm run bench`: mobr against restic and borg on the same synthetic MatrixOne tree, in one run,
 * with the machine's ceilings measured beside them. Writes bench/results/latest.md (+ .json).
 *   --size 2GiB     tree size (10GiB for the RSS target)
 *   --days 30       days of evolution at --churn (default 0.03) after the full backup
 *   --dir PATH      work folder (default: a new temp folder, removed at the end unless --keep)
 *   --tools mobr,restic,borg  (also mobr-enc: mobr with an encrypted repository)
 *   --out PATH      results file (default bench/results/latest.md)
 *   --small LIST    small-files workloads: ckp (12,000 checkpoint-like files of 16 B–12 KB in 120 folders),
 *                   ckp:N (N such files, 500 a folder: ckp:1000000 is issue 22's scale case),
 *                   counts of tiny files, usrlib (~4,000 files of /usr/lib, ~130 MiB, + one 200 MB random file)
 *                   (default ckp,10000,100000,usrlib)
 *   --modes LIST    how each small-files workload runs: cold (page cache dropped), warm, load2 (warm, two
 *                   busy loops beside it) (default cold,warm,load2)
 *   --s3 SIZE       tree size for the S3 steps on s3rver (default 512MiB; 0 skips them)
 *   --quick         for iteration: 256 MiB tree, 2 days, small workloads ckp,usrlib (1,000 files + 50 MB), S3 on 128 MiB
 */
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { addObjects, createTree, duBytes, evolveDay, listFiles, treeObjectBytes } from './dataset.js';
import { cpuCeilings, diskCeilings, poolThroughput } from './ceilings.js';
import { borgTool, haveCommand, mobrTool, resticTool, type BackupTool } from './tools.js';
import { dropCaches, sh } from './proc.js';
import { renderReport, type ToolResult } from './report.js';
import { MODES, makeCheckpointTree, makeTinyTree, makeUsrLibTree, runSmallWorkload, type Mode, type SmallWorkload } from './small.js';
import { measureStartup } from './startup.js';
import { s3Steps } from './s3.js';

const MiB = 1024 * 1024;

export function parseSize(s: string): number {
  const m = /^([\d.]+)\s*(B|KiB|MiB|GiB|TiB|KB|MB|GB|K|M|G)?$/i.exec(s.trim());
  if (!m) throw new Error(`bad size ${s}`);
  const u = (m[2] ?? 'B').toLowerCase();
  const mult: Record<string, number> = { b: 1, k: 1024, kib: 1024, kb: 1e3, m: MiB, mib: MiB, mb: 1e6, g: 1024 * MiB, gib: 1024 * MiB, gb: 1e9, tib: 1024 ** 4 };
  return Math.round(Number(m[1]) * mult[u]);
}

function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: '2GiB' },
      days: { type: 'string', default: '30' },
      churn: { type: 'string', default: '0.03' },
      incremental: { type: 'string', default: '0.05' },
      dir: { type: 'string' },
      keep: { type: 'boolean', default: false },
      tools: { type: 'string', default: 'mobr,restic,borg' },
      out: { type: 'string' },
      small: { type: 'string' },
      modes: { type: 'string', default: MODES.join(',') },
      quick: { type: 'boolean', default: false },
      s3: { type: 'string' },
    },
  });
  if (values.quick) {
    values.size = values.size === '2GiB' ? '256MiB' : values.size;
    values.days = values.days === '30' ? '2' : values.days;
  }
  const s3Size = parseSize(values.s3 ?? (values.quick ? '128MiB' : '512MiB'));
  const smallList = (values.small ?? (values.quick ? 'ckp,usrlib' : 'ckp,10000,100000,usrlib')).split(',').filter(Boolean);
  const modes = values.modes!.split(',').filter(Boolean) as Mode[];
  for (const m of modes) if (!MODES.includes(m)) throw new Error(`unknown mode ${m} (${MODES.join(', ')})`);
  const size = parseSize(values.size!);
  const days = Number(values.days);
  const churn = Number(values.churn);
  const incShare = Number(values.incremental);
  const cores = os.availableParallelism();
  const loadStart = os.loadavg();
  const work = values.dir ? path.resolve(values.dir) : await fsp.mkdtemp(path.join(os.tmpdir(), 'mobr-bench-'));
  await fsp.mkdir(work, { recursive: true });
  const benchDir = path.dirname(fileURLToPath(import.meta.url)).replace(/[\\/]dist[\\/]bench$/, `${path.sep}bench`);
  const out = values.out ?? path.join(benchDir, 'results', 'latest.md');
  log(`work folder ${work}, tree ${values.size}, ${days} days at ${churn * 100}% churn, ${cores} cores`);

  const wanted = values.tools!.split(',');
  const missing: string[] = [];
  for (const name of ['restic', 'borg']) {
    if (!wanted.includes(name) || (await haveCommand(name))) continue;
    log(`${name} missing: trying apt-get install`);
    await sh('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq restic borgbackup']).catch((e) => log(`apt-get failed: ${(e as Error).message.slice(0, 200)}`));
    if (!(await haveCommand(name))) {
      log(`${name} unavailable: skipped`);
      missing.push(name);
    }
  }
  const makeTools = async (dir: string): Promise<BackupTool[]> => {
    await fsp.mkdir(dir, { recursive: true });
    const out: BackupTool[] = [];
    if (wanted.includes('mobr')) out.push(mobrTool(dir));
    if (wanted.includes('mobr-enc')) out.push(mobrTool(dir, { encrypted: true }));
    if (wanted.includes('restic') && !missing.includes('restic')) out.push(await resticTool(dir));
    if (wanted.includes('borg') && !missing.includes('borg')) out.push(await borgTool(dir));
    return out;
  };
  const tools = await makeTools(work);

  log('ceilings: disk');
  const disk = await diskCeilings(work);
  log('ceilings: cpu');
  const cpu = await cpuCeilings(cores);

  const src = path.join(work, 'tree');
  log('data set: creating');
  const ds = await createTree(src, size);
  const treeBytes = await duBytes(src);
  const objectCount = ds.objects.length;
  const objFiles = ds.objects.map((o) => path.join(src, o.rel));
  log(`data set: ${ds.objects.length} objects, ${(treeBytes / MiB).toFixed(0)} MiB`);

  log('pool vs one thread (read + FastCDC + BLAKE3 + SHA-256)');
  const poolFiles: string[] = [];
  for (let s = 0, i = 0; i < objFiles.length && s < Math.max(1024 * MiB, 0); i++) {
    poolFiles.push(objFiles[i]);
    s += ds.objects[i].size;
  }
  const pool = await poolThroughput(poolFiles, cores);

  const results = new Map<string, ToolResult>();
  for (const t of tools) {
    await t.init();
    log(`${t.name}: full backup`);
    await dropCaches();
    const r = await t.backup(src, 'day000');
    results.set(t.name, { name: t.name, settings: t.settings, version: await t.version(), full: r, fullRepoBytes: await duBytes(t.repo) });
  }

  log(`incremental: adding ${incShare * 100}% new objects`);
  const added = await addObjects(ds, incShare);
  const newBytes = added.reduce((s, o) => s + o.size, 0);
  for (const t of tools) {
    log(`${t.name}: incremental backup`);
    await dropCaches();
    results.get(t.name)!.incremental = await t.backup(src, 'day000i', 'day000');
  }
  let newOnly: Awaited<ReturnType<BackupTool['backup']>> | undefined;
  if (tools.some((t) => t.name === 'mobr')) {
    const only = path.join(work, 'new-only');
    for (const o of added) {
      await fsp.mkdir(path.dirname(path.join(only, o.rel)), { recursive: true });
      await fsp.link(path.join(src, o.rel), path.join(only, o.rel));
    }
    const fresh = mobrTool(path.join(work, 'fresh'));
    await fsp.mkdir(path.join(work, 'fresh'), { recursive: true });
    log('mobr: ingest of just the new bytes (fresh repository)');
    await dropCaches();
    newOnly = await fresh.backup(only, 'newonly');
    await fsp.rm(only, { recursive: true, force: true });
    await fsp.rm(path.join(work, 'fresh'), { recursive: true, force: true });
  }

  const restoredBytes = await duBytes(src);
  const expected = await listFiles(src);
  for (const t of tools) {
    const dest = path.join(work, `restore-${t.name}`);
    log(`${t.name}: restore`);
    await dropCaches();
    const r = await t.restore('day000i', dest);
    const got = await duBytes(dest);
    if (got !== restoredBytes) throw new Error(`${t.name} restored ${got} bytes, expected ${restoredBytes}`);
    const files = await countFiles(dest);
    if (files !== expected.length) throw new Error(`${t.name} restored ${files} files, expected ${expected.length}`);
    results.get(t.name)!.restore = r;
    await fsp.rm(dest, { recursive: true, force: true });
    if (t.check) {
      log(`${t.name}: check (reading every byte)`);
      await dropCaches();
      results.get(t.name)!.check = await t.check('day000i');
    }
  }

  const dayTimes = new Map<string, number>();
  let prev = 'day000i';
  for (let d = 1; d <= days; d++) {
    await evolveDay(ds, d, churn);
    const id = `day${String(d).padStart(3, '0')}`;
    for (const t of tools) {
      const r = await t.backup(src, id, prev);
      dayTimes.set(t.name, (dayTimes.get(t.name) ?? 0) + r.seconds);
      const res = results.get(t.name)!;
      res.dailyPeakRss = Math.max(res.dailyPeakRss ?? 0, r.peakRssBytes);
    }
    prev = id;
    if (d % 5 === 0 || d === days) log(`day ${d}/${days}: tree ${(treeObjectBytes(ds) / MiB).toFixed(0)} MiB, unique so far ${(ds.uniqueBytes / MiB).toFixed(0)} MiB`);
  }
  for (const t of tools) {
    const res = results.get(t.name)!;
    res.repoBytesAfterDays = await duBytes(t.repo);
    res.dailySeconds = (dayTimes.get(t.name) ?? 0) / Math.max(1, days);
  }

  const mobrTools = tools.filter((t) => t.name === 'mobr');
  log('start-up times');
  const startup = mobrTools.length > 0 ? measureStartup(mobrTools[0].repo, tools.find((t) => t.startup)?.startup) : [];

  const small: SmallWorkload[] = [];
  for (const w of smallList) {
    const key = `small-${w.replace(':', '-')}`; // a folder name and a backup ID
    const dir = path.join(work, key);
    const tree = path.join(dir, 'tree');
    log(`small files: creating ${w}`);
    const shape =
      w === 'usrlib' ? await makeUsrLibTree(tree, values.quick ? 1000 : 4000, 130 * MiB, values.quick ? 50e6 : 200e6)
      : w === 'ckp' ? await makeCheckpointTree(tree)
      : w.startsWith('ckp:') ? await makeCheckpointTree(tree, Number(w.slice(4)), Math.ceil(Number(w.slice(4)) / 500))
      : await makeTinyTree(tree, Number(w));
    const name = w === 'usrlib' ? '/usr/lib mix + one big random file' : w.startsWith('ckp') ? 'checkpoint-like' : `${Number(w).toLocaleString('en')} tiny files`;
    small.push(await runSmallWorkload(name, key, tree, shape, (mode) => makeTools(path.join(dir, mode)), modes, log));
    await fsp.rm(dir, { recursive: true, force: true });
  }

  const s3 = s3Size > 0 && mobrTools.length > 0 ? await s3Steps(s3Size, log) : [];

  const md = renderReport({
    missing,
    small,
    startup,
    s3,
    date: new Date().toISOString(),
    machine: { cores, cpu: os.cpus()[0]?.model ?? '?', memGiB: os.totalmem() / 1024 ** 3, node: process.version, kernel: os.release(), loadStart, loadEnd: os.loadavg() },
    disk,
    cpu,
    pool,
    treeBytes,
    objects: objectCount,
    newBytes,
    newOnly,
    days,
    churn,
    uniqueBytes: ds.uniqueBytes,
    tools: [...results.values()],
  });
  await fsp.mkdir(path.dirname(out), { recursive: true });
  await fsp.writeFile(out, md);
  await fsp.writeFile(out.replace(/\.md$/, '.json'), JSON.stringify({ small, startup, s3, missing, disk, cpu, pool, treeBytes, newBytes, newOnly, days, churn, uniqueBytes: ds.uniqueBytes, tools: [...results.values()] }, null, 2));
  process.stdout.write(md);
  log(`written ${out}`);
  if (!values.dir && !values.keep) await fsp.rm(work, { recursive: true, force: true });
}

async function countFiles(dir: string): Promise<number> {
  let n = 0;
  for (const e of await fsp.readdir(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) n++;
  return n;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
