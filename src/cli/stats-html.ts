/**
 * `mo_br stats --html <file>`: one self-contained page (spec/browse.md §7): inline CSS and SVG,
 * no script, no external asset, so it opens offline and reads the same without JavaScript.
 * Per repository: totals, the growth chart (running total bytes vs running stored bytes by
 * date), a chart of each backup's total, stored and added bytes by date, and a table of every
 * backup with bars for its added and unique bytes.
 */
import type { Growth, GrowthPoint } from '../repo/growth.js';
import type { RepoStats } from '../repo/stats.js';
import { formatBytes } from './units.js';
import type { Health } from './stats-health.js';

export interface HtmlRepository {
  where: string;
  stats: RepoStats;
  growth: Growth;
  health?: Health;
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const when = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);

const W = 760;
const H = 300;
const PAD = { l: 70, r: 20, t: 20, b: 46 };

/** A "nice" upper bound and step for an axis from 0 to max. */
function niceAxis(max: number): { top: number; step: number } {
  if (max <= 0) return { top: 1, step: 1 };
  const raw = max / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  return { top: Math.ceil(max / step) * step, step };
}

interface Series {
  label: string;
  cls: string;
  get: (p: GrowthPoint) => number;
}

/** A line chart of series over the backups' completion times (dated x axis, bytes on y). */
export function growthSvg(points: GrowthPoint[], series: Series[], label: string): string {
  if (points.length === 0) return '<p>No backups yet.</p>';
  const t0 = points[0].completedAt;
  const t1 = points[points.length - 1].completedAt;
  const span = Math.max(1, t1 - t0);
  const { top, step } = niceAxis(Math.max(...points.flatMap((p) => series.map((s) => s.get(p)))));
  const x = (t: number) => PAD.l + (points.length === 1 ? (W - PAD.l - PAD.r) / 2 : ((t - t0) / span) * (W - PAD.l - PAD.r));
  const y = (v: number) => H - PAD.b - (v / top) * (H - PAD.t - PAD.b);
  let grid = '';
  for (let v = 0; v <= top + step / 2; v += step) {
    grid += `<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" class="grid"/><text x="${PAD.l - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${formatBytes(v)}</text>`;
  }
  const ticks = points.length <= 8 ? points : [0, 0.25, 0.5, 0.75, 1].map((f) => points[Math.round(f * (points.length - 1))]);
  const seen = new Set<string>();
  let xlabels = '';
  const short = span < 2 * 86_400_000; // backups within two days: label with the time too
  for (const p of ticks) {
    const d = short ? when(p.completedAt).slice(5, 19) : day(p.completedAt);
    if (seen.has(d)) continue;
    seen.add(d);
    const anchor = points.length === 1 ? 'middle' : p === points[0] ? 'start' : p === points[points.length - 1] ? 'end' : 'middle';
    xlabels += `<text x="${x(p.completedAt).toFixed(1)}" y="${H - PAD.b + 18}" text-anchor="${anchor}">${d}</text>`;
  }
  // Series are drawn first to last, each narrower than the one before, so where values are
  // equal every line still shows around the ones drawn over it (and the key says so).
  const lines = series
    .map((s, i) => {
      const width = 2 + 2.5 * (series.length - 1 - i);
      const pts = points.map((p) => `${x(p.completedAt).toFixed(1)},${y(s.get(p)).toFixed(1)}`).join(' ');
      const dot = (p: GrowthPoint) =>
        `<circle cx="${x(p.completedAt).toFixed(1)}" cy="${y(s.get(p)).toFixed(1)}" r="${(width / 2 + 1.5).toFixed(1)}" class="${s.cls}" ` +
        `data-series="${s.cls}" data-id="${esc(p.id)}" data-value="${s.get(p)}">` +
        `<title>${esc(p.id)} ${when(p.completedAt)}: ${formatBytes(s.get(p))}</title></circle>`;
      const dots = points.map(dot).join('');
      const same = series.slice(0, i).filter((o) => points.every((p) => o.get(p) === s.get(p))).map((o) => o.label.split(' (')[0]);
      const note = same.length > 0 ? esc(` (equal to ${same.join(', ')}: drawn over it)`) : '';
      const key =
        `<rect x="${PAD.l + 10}" y="${PAD.t + i * 16}" width="12" height="4" class="${s.cls}-key"/>` +
        `<text x="${PAD.l + 28}" y="${PAD.t + 5 + i * 16}">${esc(s.label)}${note}</text>`;
      return `<polyline points="${pts}" class="${s.cls}" stroke-width="${width}" data-series="${s.cls}"/>${dots}${key}`;
    })
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(label)}">
<rect x="0" y="0" width="${W}" height="${H}" fill="#fff"/>${grid}${xlabels}
<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${H - PAD.b}" y2="${H - PAD.b}" class="axis"/><line x1="${PAD.l}" x2="${PAD.l}" y1="${PAD.t}" y2="${H - PAD.b}" class="axis"/>
${lines}
<text x="${(W + PAD.l) / 2}" y="${H - 8}" text-anchor="middle">backup completed (UTC${short ? '' : ' date'})</text>
</svg>`;
}

const TOTAL: Series = { label: 'total bytes (all backups so far, without dedup)', cls: 'total', get: (p) => p.cumulativeLogical };
const STORED: Series = { label: "stored bytes (the repository's chunks so far)", cls: 'stored', get: (p) => p.cumulativeStored };
const PER_TOTAL: Series = { label: 'total bytes of each backup', cls: 'total', get: (p) => p.logicalSize };
const PER_STORED: Series = { label: 'stored bytes each backup names', cls: 'stored', get: (p) => p.storedSize };
const PER_ADDED: Series = { label: 'bytes each backup added', cls: 'added', get: (p) => p.addedBytes };

/** A horizontal bar, as wide as value is of max (inline SVG: prints and reads without CSS tricks). */
function bar(value: number, max: number, cls: string): string {
  const w = max > 0 ? Math.max(value > 0 ? 1 : 0, Math.round((value / max) * 120)) : 0;
  return `<svg width="122" height="10" aria-hidden="true"><rect x="0" y="1" width="${w}" height="8" class="${cls}"/></svg>`;
}

function table(points: GrowthPoint[]): string {
  const max = Math.max(0, ...points.map((p) => p.logicalSize));
  const rows = points
    .map((p) => `<tr><td>${when(p.completedAt)}</td><td class="id">${esc(p.id)}</td><td>${esc(p.type)}</td>` +
      `<td class="n">${formatBytes(p.logicalSize)}</td><td class="n">${formatBytes(p.storedSize)}</td><td class="n">${p.storedSize > 0 ? (p.logicalSize / p.storedSize).toFixed(2) : '1.00'}x</td>` +
      `<td class="n">${formatBytes(p.addedBytes)} ${bar(p.addedBytes, max, 'added')}</td><td class="n">${formatBytes(p.uniqueBytes)} ${bar(p.uniqueBytes, max, 'unique')}</td></tr>`)
    .join('\n');
  return `<table><thead><tr><th>completed (UTC)</th><th>backup ID</th><th>type</th><th>total</th><th>stored</th><th>dedup</th><th>added</th><th>unique</th></tr></thead>\n<tbody>\n${rows}\n</tbody></table>`;
}

/** Freshness per source, the last check, reclaimable space, dedup vs compression. */
function healthHtml(h: Health, now: number): string {
  const rows = h.sources
    .map(
      (s) =>
        `<tr class="${s.daysWithout >= 2 ? 'stale' : 'fresh'}" data-source="${esc(s.source)}" data-days="${s.daysWithout}">` +
        `<td>${esc(s.source)}</td><td class="n">${s.daysWithout}</td><td>${when(s.newest)}</td>` +
        `<td class="n">${s.backups}</td><td class="n">${s.full}</td><td class="n">${s.incremental}</td></tr>`,
    )
    .join('\n');
  const check = h.check
    ? `<p class="check ${h.check.ok ? 'ok' : 'failed'}" data-check="${h.check.ok ? 'ok' : 'failed'}">` +
      `Last check ${when(h.check.at)} UTC (${Math.floor((now - h.check.at) / 86_400_000)} days ago): ` +
      `${h.check.ok ? 'every file sound' : h.check.exitCode > 1 ? `did not finish (exit code ${h.check.exitCode})`
        : `${h.check.damaged} file(s) missing or damaged`}</p>`
    : '<p class="check unknown" data-check="unknown">No check recorded ' +
      '(run <code>mo_br check --metrics_file &lt;file&gt;</code> and give the same file to <code>stats</code>).</p>';
  const dedup = h.uniqueRawBytes > 0 ? h.uniqueRawBytes : 1;
  return `<h3>Health</h3>
<table class="sources"><thead><tr><th>source</th><th>days without a backup</th><th>newest (UTC)</th><th>backups</th><th>full</th><th>incremental</th></tr></thead>
<tbody>
${rows}
</tbody></table>
${check}
<p class="space">Unique chunks: <b data-raw="${h.uniqueRawBytes}">${formatBytes(h.uniqueRawBytes)}</b> before compression, <b data-stored="${h.uniqueStoredBytes}">${formatBytes(h.uniqueStoredBytes)}</b> stored: compression <b>${(dedup / (h.uniqueStoredBytes || 1)).toFixed(2)}x</b>. Pack bytes no backup uses (what gc, run by <code>mo_br prune</code> / <code>delete</code>, can reclaim, plus pack headers): <b data-reclaimable="${h.reclaimableBytes}">${formatBytes(h.reclaimableBytes)}</b>.</p>`;
}

/** In every page's head: `stats --html` replaces only a file that carries it (a page it wrote). */
export const GENERATOR_MARK = '<meta name="generator" content="mobr stats --html">';
export const isStatsPage = (head: Buffer): boolean => head.includes(GENERATOR_MARK);

export function renderStatsHtml(repos: HtmlRepository[], generatedAt: number): string {
  const sections = repos
    .map(({ where, stats, growth, health }) => `<section>
<h2>${esc(where)}</h2>
<p class="totals"><b>${stats.backups.length}</b> backups, <b>${formatBytes(stats.logicalSize)}</b> total in <b>${formatBytes(stats.liveBytes)}</b> of live chunks (<b>${formatBytes(stats.packBytes)}</b> in ${stats.packs} packs): overall <b>${stats.dedupRatio.toFixed(2)}x</b>${health && health.uniqueRawBytes > 0 ? `, of which dedup <b class="dedup">${(stats.logicalSize / health.uniqueRawBytes).toFixed(2)}x</b> and compression <b class="compression">${(health.uniqueRawBytes / (health.uniqueStoredBytes || 1)).toFixed(2)}x</b>` : ''}</p>
${health ? healthHtml(health, generatedAt) : ''}
<h3>Growth over time</h3>
${growthSvg(growth.points, [TOTAL, STORED], 'repository growth: total vs stored bytes by date')}
<h3>Each backup: total vs stored bytes</h3>
${growthSvg(growth.points, [PER_TOTAL, PER_STORED, PER_ADDED], 'each backup: total, stored and added bytes by date')}
<h3>Backups</h3>
${table(growth.points)}
</section>`)
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">${GENERATOR_MARK}<title>mobr repository statistics</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:20px}h2{font-size:16px;font-family:monospace;background:#f3f3f3;padding:4px 8px}h3{font-size:15px;margin-bottom:4px}
table{border-collapse:collapse;font-size:13px}th,td{padding:3px 8px;border-bottom:1px solid #ddd;text-align:left;white-space:nowrap}td.n{text-align:right}td.id{font-family:monospace}
svg text{font:11px sans-serif;fill:#444}.grid{stroke:#e6e6e6}.axis{stroke:#888}
polyline{fill:none}polyline.total{stroke:#e07b00}polyline.stored{stroke:#1f5fbf;stroke-dasharray:7 3}polyline.added{stroke:#2a9d4a;stroke-dasharray:2 3}
circle.total{fill:#e07b00}circle.stored{fill:#1f5fbf}circle.added{fill:#2a9d4a}
.total-key{fill:#e07b00}.stored-key{fill:#1f5fbf}.added-key{fill:#2a9d4a}rect.added{fill:#2a9d4a}rect.unique{fill:#7a3fbf}
dl dt{font-weight:bold}tr.stale td{background:#fde2e1}p.check.failed{color:#b00020;font-weight:bold}p.check.ok{color:#1b7a34}
</style></head>
<body>
<h1>mobr repository statistics</h1>
<p>Generated ${when(generatedAt)} UTC by <code>mo_br stats --html</code>.</p>
${sections || '<p>No repository.</p>'}
<h3>What the numbers mean</h3>
<dl>
<dt>total</dt><dd>the bytes of the files a backup holds (the backup summary's total).</dd>
<dt>stored</dt><dd>the bytes in packs (after compression) of the distinct chunks a backup names; dedup is total / stored.</dd>
<dt>added</dt><dd>the stored bytes of the chunks a backup names that no backup completed before it names: what the repository grew by.</dd>
<dt>unique</dt><dd>the stored bytes of the chunks no other backup names: what deleting the backup frees.</dd>
</dl>
</body></html>
`;
}
