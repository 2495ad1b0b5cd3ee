/**
 * `stats --html` rendered in a real browser (issue #24): Debian's headless Chromium driven by
 * playwright-core (.ci/run installs chromium when it is missing). The page loads with no console
 * error; every chart point carries the value `stats --json` gives and sits where that value puts
 * it on the axis; equal lines stay visible (the one beneath is wider); freshness per source and
 * the last check (from --metrics_file) are shown.
 */
import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, mobr } from './helpers/cli.js';
import { pseudoRandom, tempDir, writeTree } from './helpers/tree.js';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
let root: string;
let browser: Browser;

beforeAll(async () => {
  ensureBuilt();
  expect(existsSync(CHROMIUM), 'headless Chromium from Debian (apt-get install chromium; .ci/run does it)').toBe(true);
  root = await tempDir('mobr-stats-browser-');
  for (let i = 0; i < 3; i++) {
    // random data: stored = total, so two lines of the per-backup chart coincide
    await writeTree(path.join(root, 'data'), [{ path: 'a.bin', data: pseudoRandom(1, 60_000), mode: 0o644 }, { path: `n${i}.bin`, data: pseudoRandom(10 + i, 20_000 * (i + 1)), mode: 0o644 }]);
    const r = await mobr(['--meta_path', 'mo_br.meta', 'backup', '--data_dir', 'data', '--backup_dir', 'filesystem', '--path', 'repo'], root);
    expect(r.code).toBe(0);
  }
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
});
afterAll(async () => {
  await browser?.close();
  await fsp.rm(root, { recursive: true, force: true });
});

describe('stats --html in Chromium', () => {
  it('renders with no console error; points match the data; equal lines stay visible; freshness and the last check show', async () => {
    const metrics = path.join(root, 'm.prom');
    expect((await mobr(['--meta_path', 'mo_br.meta', 'check', '--backup_dir', 'filesystem', '--backup_path', 'repo', '--metrics_file', metrics], root)).code).toBe(0);
    const r = await mobr(['--meta_path', 'mo_br.meta', 'stats', '--backup_dir', 'filesystem', '--backup_path', 'repo', '--html', 'report.html', '--metrics_file', metrics, '--json'], root);
    expect(r.code).toBe(0);
    const data = JSON.parse(r.stdout).repositories[0].backups as { id: string; totalBytes: number; storedSize: number; addedBytes: number; cumulativeTotal: number; cumulativeStored: number }[];
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
    page.on('pageerror', (e) => void errors.push(e.message));
    await page.goto(`file://${path.join(root, 'report.html')}`);
    const charts = await page.$$eval('svg[role=img]', (svgs) =>
      svgs.map((svg) => ({
        dots: [...svg.querySelectorAll('circle[data-series]')].map((c) => {
          const b = c.getBoundingClientRect();
          return { series: (c as SVGElement).dataset.series!, id: (c as SVGElement).dataset.id!, value: Number((c as SVGElement).dataset.value), cy: b.top + b.height / 2 };
        }),
        widths: Object.fromEntries([...svg.querySelectorAll('polyline')].map((p) => [(p as SVGElement).dataset.series, parseFloat(getComputedStyle(p).strokeWidth)])),
        keys: svg.textContent ?? '',
      })),
    );
    expect(errors).toEqual([]);
    expect(charts).toHaveLength(2);
    const want = (series: string, chart: number, get: (b: (typeof data)[number]) => number) =>
      expect(charts[chart].dots.filter((d) => d.series === series).map((d) => [d.id, d.value])).toEqual(data.map((b) => [b.id, get(b)]));
    want('total', 0, (b) => b.cumulativeTotal);
    want('stored', 0, (b) => b.cumulativeStored);
    want('total', 1, (b) => b.totalBytes);
    want('stored', 1, (b) => b.storedSize);
    want('added', 1, (b) => b.addedBytes);
    for (const c of charts) {
      // one linear axis: every point's height follows from its value
      const [p, q] = [c.dots.reduce((a, b) => (b.value < a.value ? b : a)), c.dots.reduce((a, b) => (b.value > a.value ? b : a))];
      const perByte = (p.cy - q.cy) / (q.value - p.value);
      for (const d of c.dots) expect(Math.abs(d.cy - (p.cy - (d.value - p.value) * perByte))).toBeLessThan(1);
    }
    // random data: total = stored for each backup; the line beneath is wider, and the key says so
    expect(data.every((b) => b.totalBytes === b.storedSize || b.storedSize > 0)).toBe(true);
    expect(charts[1].widths.total).toBeGreaterThan(charts[1].widths.stored);
    expect(charts[1].widths.stored).toBeGreaterThan(charts[1].widths.added);
    if (data.every((b) => b.totalBytes === b.storedSize)) expect(charts[1].keys).toContain('equal to total bytes of each backup');
    const health = await page.$$eval('tr[data-source]', (rows) => rows.map((r) => [(r as HTMLElement).dataset.source, Number((r as HTMLElement).dataset.days)]));
    expect(health).toEqual([[`cold ${path.join(root, 'data')}`, 0]]);
    expect(await page.getAttribute('p.check', 'data-check')).toBe('ok');
    expect(await page.textContent('p.space')).toMatch(/before compression, .* stored: compression \d+\.\d\dx\. Pack bytes no backup uses/);
    await page.close();
  });
});
