/**
 * The lines a cold backup prints after its ID about what the folder held that was not stored as
 * plain files and folders: top-level links followed, links pointing outside (kept as links),
 * special files skipped, a repository or catalog left out. Nothing is skipped without a line.
 */
import type { WalkOptions, WalkReport } from '../source/walk.js';
import type { Location } from '../store/location.js';
import { showName } from '../util/names.js';

const MAX_NAMED = 10;

function named(items: string[]): string {
  const shown = items.slice(0, MAX_NAMED).join(', ');
  return items.length > MAX_NAMED ? `${shown}, and ${items.length - MAX_NAMED} more` : shown;
}

export function walkSummary(r: WalkReport): string {
  const lines: string[] = [];
  for (const f of r.followed) lines.push(`followed symbolic link ${showName(f.path)} -> ${showName(f.target)} (its folder is backed up as ${showName(f.path)})`);
  if (r.linksOut.length > 0) {
    lines.push(`kept as symbolic links, not followed (they point outside the folder): ${r.linksOut.length}: ${named(r.linksOut.map((l) => `${showName(l.path)} -> ${showName(l.target)}`))}`);
  }
  if (r.special.length > 0) lines.push(`skipped special files (fifo, socket, device): ${r.special.length}: ${named(r.special.map(showName))}`);
  if (r.excluded.length > 0) lines.push(`left out (the repository or meta file inside the folder): ${named(r.excluded.map(showName))}`);
  return lines.length > 0 ? `\n${lines.join('\n')}\n` : '';
}

/** The same facts for --json. */
export function walkSummaryJson(r: WalkReport): Record<string, unknown> {
  const show = (xs: { path: string; target: string }[]) => xs.map((x) => ({ path: showName(x.path), target: showName(x.target) }));
  return { followed: show(r.followed), linksOut: show(r.linksOut), special: r.special.map(showName), excluded: r.excluded.map(showName) };
}

/**
 * The links a cold backup follows: MatrixOne's `mo-data/shared` (object storage of a DISK
 * cluster) and `mo-data/local` (the local cache and metadata), which operators move to another
 * disk and link back. Any other link, at the top too, is stored as a link (spec/repository.md §7.2).
 */
const FOLLOWED_TOP_LINKS = ['shared', 'local'] as const;

/** How a cold backup walks mo-data: a linked shared/local is followed; the repository and catalog are left out. */
export function coldWalkOptions(location: Location, catalogFile: string): WalkOptions {
  return {
    followTopLinks: FOLLOWED_TOP_LINKS,
    exclude: [...(location.backupDir === 'filesystem' ? [{ path: location.path }] : []), { path: catalogFile, siblings: true }],
  };
}
