/** The benchmark's Markdown report: one table mobr vs peers, the ceilings, the targets of issues 7, 16 and 22. */
import type { RunResult } from './proc.js';
import type { StartupRow } from './startup.js';
import { perGiB, type S3Row } from './s3.js';
import type { CpuCeilings, DiskCeilings, PoolThroughput } from './ceilings.js';
import type { SmallWorkload } from './small.js';

export interface ToolResult {
  name: string;
  settings: string;
  version: string;
  full: RunResult;
  fullRepoBytes: number;
  incremental?: RunResult;
  restore?: RunResult;
  check?: RunResult;
  dailyPeakRss?: number;
  dailySeconds?: number;
  repoBytesAfterDays?: number;
}

export interface Report {
  /** Peers that are not installed (and could not be): named in the report. */
  missing: string[];
  small: SmallWorkload[];
  startup: StartupRow[];
  s3: S3Row[];
  date: string;
  machine: { cores: number; cpu: string; memGiB: number; node: string; kernel: string; loadStart: number[]; loadEnd: number[] };
  disk: DiskCeilings;
  cpu: CpuCeilings;
  pool: PoolThroughput;
  treeBytes: number;
  objects: number;
  newBytes: number;
  newOnly?: RunResult;
  days: number;
  churn: number;
  uniqueBytes: number;
  tools: ToolResult[];
}

const MiB = 1024 * 1024;
const f0 = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : '–');
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '–');
const mib = (n: number) => `${f0(n / MiB)} MiB`;

interface Row {
  label: string;
  get: (t: ToolResult, r: Report) => number;
  fmt: (n: number) => string;
  better: 'higher' | 'lower';
}

export function renderReport(r: Report): string {
  const rows: Row[] = [
    { label: 'full backup MB/s', get: (t) => r.treeBytes / 1e6 / t.full.seconds, fmt: f0, better: 'higher' },
    { label: 'CPU s (user+sys), full backup', get: (t) => t.full.cpuSeconds, fmt: f1, better: 'lower' },
    { label: 'CPU s per GB, full backup', get: (t) => t.full.cpuSeconds / (r.treeBytes / 1e9), fmt: f1, better: 'lower' },
    { label: `incremental s (+${f0(r.newBytes / MiB)} MiB new objects)`, get: (t) => t.incremental?.seconds ?? NaN, fmt: f1, better: 'lower' },
    { label: 'restore MB/s', get: (t) => r.treeBytes / 1e6 / (t.restore?.seconds ?? NaN), fmt: f0, better: 'higher' },
    { label: 'CPU s (user+sys), restore', get: (t) => t.restore?.cpuSeconds ?? NaN, fmt: f1, better: 'lower' },
    { label: 'CPU s per GB, restore', get: (t) => (t.restore?.cpuSeconds ?? NaN) / (r.treeBytes / 1e9), fmt: f1, better: 'lower' },
    { label: 'check (read every byte) MB/s', get: (t) => r.treeBytes / 1e6 / (t.check?.seconds ?? NaN), fmt: f0, better: 'higher' },
    { label: 'CPU s per GB, check', get: (t) => (t.check?.cpuSeconds ?? NaN) / (r.treeBytes / 1e9), fmt: f1, better: 'lower' },
    { label: `mean daily backup s (${r.churn * 100}% churn)`, get: (t) => t.dailySeconds ?? NaN, fmt: f1, better: 'lower' },
    { label: `repo MiB after ${r.days} days`, get: (t) => (t.repoBytesAfterDays ?? NaN) / MiB, fmt: f0, better: 'lower' },
    { label: 'repo / unique bytes', get: (t) => (t.repoBytesAfterDays ?? NaN) / r.uniqueBytes, fmt: f2, better: 'lower' },
    { label: 'peak RSS MiB, full backup', get: (t) => t.full.peakRssBytes / MiB, fmt: f0, better: 'lower' },
    { label: 'peak RSS MiB, restore', get: (t) => (t.restore?.peakRssBytes ?? NaN) / MiB, fmt: f0, better: 'lower' },
    { label: 'peak RSS MiB, daily backups', get: (t) => (t.dailyPeakRss ?? NaN) / MiB, fmt: f0, better: 'lower' },
  ];
  const mobr = r.tools.find((t) => t.name === 'mobr');
  const peers = r.tools.filter((t) => t.name !== 'mobr');
  const head = ['', ...r.tools.map((t) => t.name), ...(mobr ? peers.map((p) => `mobr/${p.name}`) : [])];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  for (const row of rows) {
    const cells = r.tools.map((t) => row.fmt(row.get(t, r)));
    const ratios = mobr ? peers.map((p) => `${f2(row.get(mobr, r) / row.get(p, r))}×`) : [];
    lines.push(`| ${row.label} | ${[...cells, ...ratios].join(' | ')} |`);
  }
  const c = r.cpu;
  const d = r.disk;
  const out: string[] = [];
  out.push(`# mobr benchmark`, '', `Run ${r.date} by \`npm run bench\` (bench/run.ts). Tree: ${r.objects} objects + metadata, ${mib(r.treeBytes)}; `);
  out.push(`incremental step adds ${mib(r.newBytes)} of new objects; then ${r.days} days at ${r.churn * 100}% churn (flushes, merges, GC deletions); unique bytes written over the run: ${mib(r.uniqueBytes)}.`, '');
  if (r.missing.length > 0) out.push(`**Not measured: ${r.missing.join(', ')} (not installed, and \`apt-get install\` failed).**`, '');
  out.push(...lines, '');
  out.push(...renderSmall(r), '');
  out.push(...renderStartupAndS3(r));
  out.push('## Machine and ceilings (same run)', '');
  out.push(`- ${r.machine.cores} cores (${r.machine.cpu}), ${f0(r.machine.memGiB)} GiB RAM, Node ${r.machine.node}, Linux ${r.machine.kernel}`);
  out.push(`- load average (1/5/15 min) at start ${r.machine.loadStart.map(f1).join(' / ')}, at end ${r.machine.loadEnd.map(f1).join(' / ')}: other processes on these ${r.machine.cores} cores (e.g. other engineers' test runs) take CPU from every program measured, so wall-clock figures are noisy; the CPU-second rows are steadier`);
  out.push(`- disk: sequential write ${f0(d.writeMBs)} MB/s (dd bs=4M conv=fdatasync), read ${f0(d.readDirectMBs)} MB/s (dd iflag=direct), cached read ${f0(d.readCachedMBs)} MB/s`);
  out.push(`- drop_caches: ${d.dropCaches}`);
  out.push(`- per core (MB per CPU-second, best of 5): BLAKE3 ${f0(c.blake3MBs)} MB/s (native, @napi-rs/blake-hash), BLAKE3 ${f0(c.blake3WasmMBs)} MB/s (WASM fallback, hash-wasm), SHA-256 ${f0(c.sha256MBs)} MB/s (node:crypto), FastCDC ${f0(c.fastcdcMBs)} MB/s (WASM gear scan; JavaScript fallback ${f0(c.fastcdcJsMBs)}), zstd-3 ${f0(c.zstdMBs)} MB/s (native, @toondepauw/node-zstd; WASM fallback ${f0(c.zstdWasmMBs)}; half-compressible data), zstd "auto" skipping incompressible chunks ${f0(c.autoSkipMBs)} MB/s (64 KiB level-1 sample a chunk), CRC-32C LocalFS framing ${f0(c.crc32cFramingMBs)} MB/s`);
  out.push(`- single-pass BLAKE3+SHA-256 limit on ${r.machine.cores} cores: ${f0(c.hashLimitMBs)} MB/s; with FastCDC too: ${f0(c.pipelineLimitMBs)} MB/s`);
  out.push(`- pool (read + FastCDC + BLAKE3 + SHA-256, nothing stored) over ${mib(r.pool.bytes)} of objects: ${r.pool.threads} threads ${f0(r.pool.poolMBs)} MB/s, one thread ${f0(r.pool.oneThreadMBs)} MB/s (${f2(r.pool.poolMBs / r.pool.oneThreadMBs)}×)`);
  out.push('');
  if (mobr) {
    out.push('## Targets (issues 7, 16 and 22)', '');
    const fullMBs = r.treeBytes / 1e6 / mobr.full.seconds;
    const restic = peers.find((p) => p.name === 'restic');
    const check = (ok: boolean) => (ok ? 'met' : '**not met**');
    if (restic) {
      const rf = r.treeBytes / 1e6 / restic.full.seconds;
      out.push(`- full backup ≥ 1.5× restic (issue 7), ≥ 2× restic (issue 16): ${f2(fullMBs / rf)}× — ${check(fullMBs >= 1.5 * rf)}, ${check(fullMBs >= 2 * rf)}`);
    }
    out.push(`- full backup ≥ 60% of the BLAKE3+SHA-256 limit (${f0(c.hashLimitMBs)} MB/s): ${f0((100 * fullMBs) / c.hashLimitMBs)}% — ${check(fullMBs >= 0.6 * c.hashLimitMBs)}`);
    if (r.newOnly && mobr.incremental) {
      const q = mobr.incremental.seconds / r.newOnly.seconds;
      out.push(`- incremental ≤ 1.2× ingest of just the new bytes (${f1(r.newOnly.seconds)} s into a fresh repository): ${f2(q)}× — ${check(q <= 1.2)}`);
    }
    if (mobr.restore) {
      const rm = r.treeBytes / 1e6 / mobr.restore.seconds;
      if (restic?.restore) {
        const rr = r.treeBytes / 1e6 / restic.restore.seconds;
        out.push(`- restore ≥ restic (issue 7), ≥ 1.5× restic (issue 16): ${f2(rm / rr)}× — ${check(rm >= rr)}, ${check(rm >= 1.5 * rr)}`);
      }
      if (mobr.check) {
        const cm = r.treeBytes / 1e6 / mobr.check.seconds;
        out.push(`- check ≥ restore speed (issue 16): ${f0(cm)} vs ${f0(rm)} MB/s — ${check(cm >= rm)}`);
      }
      out.push(`- restore ≥ 70% of disk write (${f0(d.writeMBs)} MB/s): ${f0((100 * rm) / d.writeMBs)}% — ${check(rm >= 0.7 * d.writeMBs)}`);
    }
    const rss = Math.max(mobr.full.peakRssBytes, mobr.restore?.peakRssBytes ?? 0, mobr.dailyPeakRss ?? 0);
    out.push(`- peak RSS ≤ 256 MiB backing up and restoring (target stated for a 10 GiB tree; this tree: ${mib(r.treeBytes)}): ${f0(rss / MiB)} MiB — ${check(rss <= 256 * MiB)}`);
    out.push(...smallTargets(r, check));
    for (const s of r.startup) out.push(`- start-up under 0.3 s (issue 16), ${s.what}: ${f2(s.mobrSeconds)} s — ${check(s.mobrSeconds < 0.3)}`);
    const s3restore = r.s3.find((x) => x.step === 'restore');
    if (s3restore) {
      const mibPerGet = s3restore.bytes / MiB / s3restore.get;
      out.push(`- S3 restore ≤ 1 GET per 8 MiB restored (issue 16): 1 GET per ${f1(mibPerGet)} MiB — ${check(mibPerGet >= 8)}`);
    }
    if (mobr.repoBytesAfterDays !== undefined) {
      const q = mobr.repoBytesAfterDays / r.uniqueBytes;
      out.push(`- repository after ${r.days} days ≤ 1.1× unique bytes: ${f2(q)}× — ${check(q <= 1.1)}`);
    }
    out.push('');
  }
  out.push('## Settings (fairness)', '');
  for (const t of r.tools) out.push(`- **${t.name}** (${t.version.split('\n')[0]}): ${t.settings}`);
  const cold = r.disk.dropCaches === 'worked' ? 'with the page cache dropped before each full backup, incremental backup and restore' : 'from the page cache (drop_caches is refused here)';
  out.push(`- All three read the same tree ${cold}, write their repositories to the same disk, and run as child processes; peak RSS is \`/usr/bin/time -v\`'s maximum resident set size of that process.`);
  out.push('');
  return out.join('\n');
}

type Op = 'backup' | 'restore' | 'check';
const OPS: Op[] = ['backup', 'restore', 'check'];
const MODE_TEXT: Record<string, string> = { cold: 'page cache dropped before each step', warm: 'warm cache', load2: 'warm, two busy loops beside it (load 2)' };

/** The small-files table: wall s (CPU s) and peak RSS per tool, workload, mode and operation; peers' time over mobr's. */
function renderSmall(r: Report): string[] {
  if (r.small.length === 0) return [];
  const names = [...new Set(r.small.flatMap((w) => w.results.map((x) => x.tool)))];
  const peers = names.filter((n) => n !== 'mobr');
  const head = ['workload', 'mode', 'operation', ...names.map((n) => `${n} s (CPU s) RSS MiB`), ...peers.map((p) => `${p} / mobr (time)`)];
  const out = ['## Many small files and a real tree (same run)', ''];
  out.push('Seconds of wall clock, CPU seconds (user+sys) in brackets, then peak RSS; the last columns are how many times longer the peer took than mobr (above 1: mobr is faster). Modes: ' + Object.entries(MODE_TEXT).map(([k, v]) => `${k}: ${v}`).join('; ') + '.', '');
  out.push(`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < 3 ? '---' : '---:')).join('|')}|`);
  for (const w of r.small) {
    for (const mode of [...new Set(w.results.map((x) => x.mode))]) {
      for (const op of OPS) {
        const get = (n: string) => w.results.find((x) => x.tool === n && x.mode === mode)?.[op];
        const mobr = get('mobr');
        const cells = names.map((n) => {
          const x = get(n);
          return x ? `${f1(x.seconds)} (${f1(x.cpuSeconds)}) ${f0(x.peakRssBytes / MiB)}` : '–';
        });
        const ratios = peers.map((p) => (mobr && get(p) ? `${f2(get(p)!.seconds / mobr.seconds)}×` : '–'));
        out.push(`| ${w.name} (${w.files} files, ${f0(w.bytes / MiB)} MiB) | ${mode} | ${op} | ${[...cells, ...ratios].join(' | ')} |`);
      }
    }
  }
  const tiny = r.small.filter((w) => /tiny/.test(w.name)).sort((a, b) => a.files - b.files);
  if (tiny.length >= 2) {
    const [a, b] = [tiny[0], tiny[tiny.length - 1]];
    const per = (w: SmallWorkload, op: Op) => {
      const x = w.results.find((y) => y.tool === 'mobr' && y.mode === w.results[0].mode)?.[op];
      return x ? (x.cpuSeconds / w.files) * 1e6 : NaN;
    };
    out.push('', `Linearity (mobr, CPU µs per file, ${a.files} → ${b.files} files, ${a.results[0]?.mode}): ${OPS.map((op) => `${op} ${f0(per(a, op))} → ${f0(per(b, op))}`).join(', ')}.`);
  }
  return out;
}

/**
 * Issue 22's targets (restic's time over mobr's, same run): small files (checkpoint-like, tiny)
 * cold and warm: restore ≥ 2×, backup ≥ 1.5×, check ≥ 1.5×; at load 2 ≥ 1× on every operation;
 * the real tree (/usr/lib mix): backup ≥ 2×, restore ≥ 2×, check ≥ 1.5×. Plus linearity.
 */
function smallTargets(r: Report, check: (ok: boolean) => string): string[] {
  const out: string[] = [];
  for (const w of r.small) {
    const real = /usr\/lib/.test(w.name);
    for (const mode of [...new Set(w.results.map((x) => x.mode))]) {
      for (const op of OPS) {
        const m = w.results.find((x) => x.tool === 'mobr' && x.mode === mode)?.[op];
        const p = w.results.find((x) => x.tool === 'restic' && x.mode === mode)?.[op];
        if (!m || !p) continue;
        const want = mode === 'load2' && !real ? 1 : op === 'check' ? 1.5 : real || op === 'restore' ? 2 : 1.5;
        const q = p.seconds / m.seconds;
        out.push(`- ${w.name}, ${mode}: ${op} ≥ ${want}× restic: ${f2(q)}× — ${check(q >= want)}`);
      }
    }
  }
  const tiny = r.small.filter((w) => /tiny/.test(w.name)).sort((a, b) => a.files - b.files);
  if (tiny.length >= 2) {
    const [a, b] = [tiny[0], tiny[tiny.length - 1]];
    for (const op of OPS) {
      const per = (w: SmallWorkload) => {
        const x = w.results.find((y) => y.tool === 'mobr' && y.mode === w.results[0].mode)?.[op];
        return x ? x.cpuSeconds / w.files : NaN;
      };
      const q = per(b) / per(a);
      out.push(`- linear in files (${op}: CPU per file at ${b.files.toLocaleString('en')} files ≤ 1.25× that at ${a.files.toLocaleString('en')}): ${f2(q)}× — ${check(q <= 1.25)}`);
    }
  }
  return out;
}

/** Start-up times beside restic's, and the S3 steps' requests per GiB. */
function renderStartupAndS3(r: Report): string[] {
  const out: string[] = [];
  if (r.startup.length > 0) {
    out.push('## Start-up (same run)', '', 'Median wall time of 7 runs of a command that does almost nothing.', '');
    out.push('| command | mobr s | peer command | peer s |', '|---|---:|---|---:|');
    for (const s of r.startup) out.push(`| ${s.what} | ${f2(s.mobrSeconds)} | ${s.peer?.what ?? '–'} | ${s.peer ? f2(s.peer.seconds) : '–'} |`);
    out.push('');
  }
  if (r.s3.length > 0) {
    out.push('## S3 (same run, s3rver on 127.0.0.1)', '', 'Requests per GiB of the tree backed up or restored (logical bytes); s3rver is a single-threaded Koa app, so MB/s measures it as much as mobr.', '');
    out.push('| step | MiB | MB/s | PUT/GiB | GET/GiB | MiB per GET | HEAD/GiB | LIST/GiB |', '|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const x of r.s3) {
      out.push(`| ${x.step} | ${f0(x.bytes / MiB)} | ${f0(x.bytes / 1e6 / x.seconds)} | ${f1(perGiB(x.put, x.bytes))} | ${f1(perGiB(x.get, x.bytes))} | ${x.get > 0 ? f1(x.bytes / MiB / x.get) : '–'} | ${f1(perGiB(x.head, x.bytes))} | ${f1(perGiB(x.list, x.bytes))} |`);
    }
    out.push('');
  }
  return out;
}
