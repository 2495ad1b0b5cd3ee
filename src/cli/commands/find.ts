/**
 * `mo_br find <glob>`: which backups hold a path matching the glob (spec/browse.md §1, §3),
 * newest first. Searches the repository the --backup_* flags name, or every repository the
 * catalog records. The glob matches whole manifest paths; without a leading '/' it may match
 * from any segment on (`find '*.ckp'` finds checkpoint files at any depth).
 */
import { compileGlob } from '../../repo/glob.js';
import type { FileEntry, Manifest } from '../../repo/manifest.js';
import { matchEntries } from '../../repo/select.js';
import { backupJson, entryJson, renderFind } from '../browse-format.js';
import { printJson, type CliContext } from '../context.js';
import { describeLocation, type Location } from '../../store/location.js';
import { loadAllManifests, repositoriesToSearch } from '../open-backup.js';
import { credentialsOf, type RepoFlags } from '../resolve.js';
import { eachRepository, failIfSkipped, skippedJson } from '../each-repo.js';

export async function runFind(pattern: string, flags: RepoFlags, ctx: CliContext): Promise<void> {
  const glob = compileGlob(pattern, 'exact');
  const locations = await repositoriesToSearch(flags, ctx);
  const { results, skipped, errors } = await eachRepository(locations, credentialsOf(flags), async (repo, location) => {
    const manifests = await loadAllManifests(repo);
    const out = [];
    for (const manifest of manifests) out.push({ manifest, location, where: describeLocation(location), entries: await matchEntries(manifest.files, glob, ctx.signal) });
    return out;
  });
  const searched = results.reduce((n, r) => n + r.length, 0);
  const hits = results.flat().filter((h) => h.entries.length > 0);
  hits.sort((a, b) => b.manifest.completedAt - a.manifest.completedAt || (a.manifest.id < b.manifest.id ? 1 : -1));
  if (ctx.json) {
    printJson(ctx, 'find', {
      pattern,
      searched,
      backups: hits.map((h) => ({ ...backupJson(h.manifest), location: h.location, entries: h.entries.map(entryJson) })),
      skipped: skippedJson(skipped),
    });
  } else ctx.stdout.write(renderFind(hits, pattern, searched));
  failIfSkipped(skipped, errors, locations.length);
}
