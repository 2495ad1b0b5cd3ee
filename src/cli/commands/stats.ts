/**
 * `mo_br stats [ID]`: per backup its completion date, total size (its files' bytes, the
 * summary's `total`), stored size, dedup ratio,
 * the bytes it added and the bytes only it holds (what deleting it frees). With an ID: that
 * backup (its repository from the catalog, or the --backup_* flags); with --backup_dir +
 * --backup_*: every backup there; else every repository in the catalog. --html <file> also
 * writes the page of src/cli/stats-html.ts (spec/browse.md §7).
 */
import { systemClock } from '../../util/clock.js';
import * as path from 'node:path';
import { checkOutputFile, writeOutputFile, type OutputRule } from '../../util/output-path.js';
import { growthSeries, type Growth } from '../../repo/growth.js';
import { repoStats, type RepoStats } from '../../repo/stats.js';
import { describeLocation, type Location } from '../../store/location.js';
import { eachRepository, failIfSkipped, skippedJson } from '../each-repo.js';
import { formatBytes } from '../units.js';
import { printJson, type CliContext } from '../context.js';
import { loadAllManifests, repositoriesToSearch } from '../open-backup.js';
import { credentialsOf, flagLocation, openBackup, type RepoFlags } from '../resolve.js';
import { isStatsPage, renderStatsHtml } from '../stats-html.js';
import { catalogFiles } from '../meta.js';
import { healthOf, lastCheck, type Health } from '../stats-health.js';
import { repositoryLabel } from '../metrics.js';

export interface StatsFlags extends RepoFlags {
  html?: string;
}

interface RepoOut {
  location: Location;
  stats: RepoStats;
  growth: Growth;
  health: Health;
}

export async function runStats(id: string | undefined, flags: StatsFlags, ctx: CliContext): Promise<void> {
  if (flags.html !== undefined) checkOutputFile(flags.html, htmlRule(ctx.catalog.file)); // refused before any work
  const targets: { location: Location; ids?: string[] }[] = [];
  if (id !== undefined) {
    const found = await openBackup(id, flags, ctx);
    await found.close();
    targets.push({ location: found.location, ids: [found.record.id] });
  }
  else if (flagLocation(flags)) targets.push({ location: flagLocation(flags)! });
  else for (const location of await repositoriesToSearch(flags, ctx)) targets.push({ location });
  const { results: out, skipped, errors } = await eachRepository(targets.map((t) => t.location), credentialsOf(flags), async (repo, location): Promise<RepoOut> => {
    const ids = targets.find((t) => t.location === location)!.ids;
    const manifests = await loadAllManifests(repo);
    if (ids) for (const bid of ids) if (!manifests.some((m) => m.id === bid)) await repo.loadManifest(bid); // ENOENT_BACKUP naming it
    const growth = growthSeries(manifests, (h) => repo.location(h));
    if (ids) growth.points = growth.points.filter((p) => ids.includes(p.id));
    const stats = await repoStats(repo, ids, manifests);
    const health = healthOf(ids ? manifests.filter((m) => ids.includes(m.id)) : manifests, (h) => repo.location(h), stats.packBytes, systemClock.now());
    health.check = await lastCheck(ctx.metricsFile, repositoryLabel(location));
    return { location, stats, growth, health };
  });
  if (flags.html !== undefined) writeHtml(flags.html, out, ctx.catalog.file);
  if (ctx.json) {
    printJson(ctx, 'stats', { ...statsJson(out), skipped: skippedJson(skipped) });
    return failIfSkipped(skipped, errors, targets.length);
  }
  for (const { location, stats, growth } of out) {
    ctx.stdout.write(`${describeLocation(location)}\n`);
    ctx.stdout.write(`${'COMPLETED (UTC)'.padEnd(22)}${'ID'.padEnd(38)}${'TOTAL'.padStart(10)}${'STORED'.padStart(10)}${'DEDUP'.padStart(8)}${'ADDED'.padStart(10)}${'UNIQUE'.padStart(10)}\n`);
    for (const p of growth.points) {
      const ratio = p.storedSize > 0 ? p.logicalSize / p.storedSize : 1;
      ctx.stdout.write(`${new Date(p.completedAt).toISOString().replace('T', ' ').slice(0, 19).padEnd(22)}${p.id.padEnd(38)}${formatBytes(p.logicalSize).padStart(10)}${formatBytes(p.storedSize).padStart(10)}${`${ratio.toFixed(2)}x`.padStart(8)}${formatBytes(p.addedBytes).padStart(10)}${formatBytes(p.uniqueBytes).padStart(10)}\n`);
    }
    ctx.stdout.write(`all: ${formatBytes(stats.logicalSize)} total in ${formatBytes(stats.packBytes)} of ${stats.packs} packs (${formatBytes(stats.liveBytes)} live, dedup ${stats.dedupRatio.toFixed(2)}x)\n`);
  }
  if (flags.html !== undefined) ctx.stdout.write(`wrote ${path.resolve(flags.html)}\n`);
  failIfSkipped(skipped, errors, targets.length);
}

/** The JSON document (spec/browse.md §7): sizes in bytes, times ISO-8601. */
function statsJson(out: RepoOut[]): Record<string, unknown> {
  return {
    repositories: out.map(({ location, stats, growth }) => ({
      location,
      totalBytes: stats.logicalSize,
      logicalSize: stats.logicalSize, // v1's name for totalBytes, kept for scripts that read it
      liveBytes: stats.liveBytes,
      packBytes: stats.packBytes,
      packs: stats.packs,
      dedupRatio: stats.dedupRatio,
      backups: growth.points.map((p) => {
        const s = stats.backups.find((b) => b.id === p.id)!;
        return { id: p.id, type: p.type, completedAt: new Date(p.completedAt).toISOString(), totalBytes: p.logicalSize, logicalSize: p.logicalSize, chunks: s.chunks, storedSize: p.storedSize, dedupRatio: s.dedupRatio, addedBytes: p.addedBytes, uniqueBytes: p.uniqueBytes, cumulativeTotal: p.cumulativeLogical, cumulativeLogical: p.cumulativeLogical, cumulativeStored: p.cumulativeStored };
      }),
    })),
  };
}

/**
 * Writes the page under the output rule (src/util/output-path.ts): a new file, or a page mobr
 * wrote before (its generator mark) replaced whole (temp file, rename); a device or fifo written
 * through; never a link, another file, the catalog or anything in a repository replaced.
 */
const htmlRule = (catalog: string): OutputRule => ({ what: '--html', replace: isStatsPage, forbidden: catalogFiles(catalog) });

function writeHtml(file: string, out: RepoOut[], catalog: string): void {
  const pages = out.map((o) => ({ where: describeLocation(o.location), stats: o.stats, growth: o.growth, health: o.health }));
  const page = renderStatsHtml(pages, systemClock.now());
  writeOutputFile(file, page, htmlRule(catalog));
}
