/**
 * `mo_br diff <ID1> <ID2>`: entries ID2 adds, removes and changes against ID1, and the bytes ID2
 * really added to the repository: the stored bytes of the chunks ID2 references that no backup
 * completed before ID2 references (spec/browse.md §4). Both backups are in one repository.
 */
import { addedBytes, diffManifests } from '../../repo/diff.js';
import { backupJson, entryJson, renderDiff } from '../browse-format.js';
import { intFlag, printJson, type CliContext } from '../context.js';
import { loadAllManifests, openBackups } from '../open-backup.js';
import type { RepoFlags } from '../resolve.js';

export interface DiffFlags extends RepoFlags {
  json_version?: string;
}

export async function runDiff(id1: string, id2: string, flags: DiffFlags, ctx: CliContext): Promise<void> {
  // v2 names the entries only ID2 has `new`, as the text and the summary do ("added" is bytes stored); v1 called them `added`
  const version = intFlag(flags.json_version, '--json_version', 1, 2) ?? 2;
  const { repo, manifests } = await openBackups([id1, id2], flags, ctx);
  try {
    const [a, b] = manifests;
    const d = diffManifests(a, b);
    const added = addedBytes(b, await loadAllManifests(repo), (h) => repo.location(h));
    if (!ctx.json) return void ctx.stdout.write(renderDiff(a, b, d, added));
    printJson(ctx, 'diff', {
      from: backupJson(a),
      to: backupJson(b),
      [version === 1 ? 'added' : 'new']: d.added.map(entryJson),
      removed: d.removed.map(entryJson),
      changed: d.changed.map((c) => ({ path: c.path, what: c.what, before: entryJson(c.before), after: entryJson(c.after) })),
      repository: { addedChunks: added.chunks, addedStoredBytes: added.storedBytes, addedRawBytes: added.rawBytes, unindexedChunks: added.unindexed, olderBackups: added.olderBackups },
    }, version);
  } finally {
    await repo.close();
  }
}
