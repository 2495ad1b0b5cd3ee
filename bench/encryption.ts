/**
 * What encryption costs (issue #23): CPU seconds (user + sys, /usr/bin/time) of a full backup of the
 * same synthetic MatrixOne tree into a plain and into an encrypted mobr repository, alternating, each
 * into a fresh repository, `--runs` times, with restic's backup of the same tree in the same run.
 *   node --import tsx bench/encryption.ts [--size 1GiB] [--runs 3] [--dir PATH] [--out bench/results/issue23.md]
 * Needs `npm run build` (the mobr child runs from dist/). Writes the table and the load it ran under.
 */
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { createTree } from './dataset.js';
import { haveCommand, mobrTool, resticTool, type BackupTool } from './tools.js';
import type { RunResult } from './proc.js';

/** `<n>MiB` or `<n>GiB` (run.ts's parser runs its whole bench when imported). */
function parseSize(s: string): number {
  const m = /^(\d+)(MiB|GiB)$/.exec(s);
  if (!m) throw new Error(`bad size ${s} (e.g. 512MiB, 1GiB)`);
  return Number(m[1]) * (m[2] === 'GiB' ? 1 << 30 : 1 << 20);
}

const log = (m: string) => process.stderr.write(`[bench-enc ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
const load = () => os.loadavg().map((x) => x.toFixed(1)).join(' ');

async function once(tool: BackupTool, src: string): Promise<RunResult> {
  await fsp.rm(tool.repo, { recursive: true, force: true });
  await tool.init();
  return tool.backup(src, 'full');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { size: { type: 'string', default: '1GiB' }, runs: { type: 'string', default: '3' }, dir: { type: 'string' }, out: { type: 'string' } } });
  const work = values.dir ? path.resolve(values.dir) : await fsp.mkdtemp(path.join(os.tmpdir(), 'mobr-bench-enc-'));
  const src = path.join(work, 'src');
  log(`tree ${values.size} in ${work}`);
  await createTree(src, parseSize(values.size!));
  const tools = [mobrTool(work), mobrTool(work, { encrypted: true })];
  const restic = (await haveCommand('restic')) ? await resticTool(work) : undefined;
  const rows: { run: number; tool: string; cpu: number; wall: number; load: string }[] = [];
  for (let run = 1; run <= Number(values.runs); run++) {
    for (const t of run % 2 ? tools : [...tools].reverse()) {
      const before = load();
      const r = await once(t, src);
      rows.push({ run, tool: t.name, cpu: r.cpuSeconds, wall: r.seconds, load: before });
      log(`run ${run} ${t.name}: ${r.cpuSeconds.toFixed(2)} CPU s, ${r.seconds.toFixed(2)} s wall, load ${before}`);
    }
    if (restic && run === 1) {
      const before = load();
      const r = await once(restic, src);
      rows.push({ run, tool: 'restic', cpu: r.cpuSeconds, wall: r.seconds, load: before });
      log(`run ${run} restic: ${r.cpuSeconds.toFixed(2)} CPU s, ${r.seconds.toFixed(2)} s wall`);
    }
  }
  const sum = (name: string, f: (x: (typeof rows)[0]) => number) => rows.filter((x) => x.tool === name).reduce((s, x) => s + f(x), 0);
  // the median of each, too: on a loaded machine one run's CPU moves by ±10%, a sum follows its outliers
  const median = (name: string) => {
    const v = rows.filter((x) => x.tool === name).map((x) => x.cpu).sort((a, b) => a - b);
    return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
  };
  const plainCpu = sum('mobr', (x) => x.cpu);
  const encCpu = sum('mobr-enc', (x) => x.cpu);
  const lines = [
    `# Encryption overhead (issue #23), ${new Date().toISOString().slice(0, 16)} UTC`,
    '',
    `Full backup of a ${values.size} synthetic MatrixOne tree (bench/dataset.ts), each run into a fresh repository, plain and encrypted alternating; ${os.availableParallelism()} cores; load average (1, 5, 15 min) before each run as shown.`,
    '',
    '| run | tool | CPU s (user+sys) | wall s | load before |',
    '|---|---|---|---|---|',
    ...rows.map((x) => `| ${x.run} | ${x.tool} | ${x.cpu.toFixed(2)} | ${x.wall.toFixed(2)} | ${x.load} |`),
    '',
    `Encrypted / plain CPU, summed over ${values.runs} runs each: **${(encCpu / plainCpu).toFixed(3)}** (${encCpu.toFixed(2)} s / ${plainCpu.toFixed(2)} s); of the medians: **${(median('mobr-enc') / median('mobr')).toFixed(3)}** (${median('mobr-enc').toFixed(2)} s / ${median('mobr').toFixed(2)} s).`,
    ...(restic ? [`restic / mobr-enc CPU (run 1): ${(sum('restic', (x) => x.cpu) / rows.find((x) => x.tool === 'mobr-enc' && x.run === 1)!.cpu).toFixed(2)}; restic / mobr (run 1): ${(sum('restic', (x) => x.cpu) / rows.find((x) => x.tool === 'mobr' && x.run === 1)!.cpu).toFixed(2)}.`] : []),
    '',
  ];
  const out = values.out ?? path.join(path.dirname(new URL(import.meta.url).pathname), 'results', 'issue23.md');
  await fsp.writeFile(out, lines.join('\n'));
  process.stdout.write(lines.join('\n'));
  if (!values.dir) await fsp.rm(work, { recursive: true, force: true });
}

main().catch((e) => {
  process.stderr.write(`${e?.stack ?? e}\n`);
  process.exit(1);
});
