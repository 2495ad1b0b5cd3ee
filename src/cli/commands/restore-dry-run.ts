/**
 * `mo_br restore … --dry_run`: what a restore would read from the repository and write, with
 * nothing written (spec/browse.md §6). The files are the manifest's (after --include/--exclude);
 * where each lands under --restore_path follows the restore layout (spec/matrixone.md).
 */
import type { Manifest } from '../../repo/manifest.js';
import type { Repository } from '../../repo/repository.js';
import { readPlan } from '../../repo/read-plan.js';
import { isoTime } from '../browse-format.js';
import { showName } from '../../util/names.js';
import { printJson, type CliContext } from '../context.js';
import { describeLocation, type Location } from '../../store/location.js';

/** Files a MatrixOne server backup keeps for itself: restore does not write them (src/mo/restore.ts). */
const NOT_RESTORED = new Set(['tae/tae_list', 'tae/tae_sum', 'mo_meta']);

/** `into`: where the files land (the mo-data folder, or the S3 place), for the text. */
export function printRestoreDryRun(ctx: CliContext, repo: Repository, m: Manifest, from: Location, to: Location, into: string): void {
  const files = m.files.filter((f) => f.kind === 'file' && !(m.source.kind === 'matrixone' && NOT_RESTORED.has(f.path)));
  const plan = readPlan(files, (h) => repo.location(h));
  if (ctx.json) {
    printJson(ctx, 'restore-plan', {
      dryRun: true,
      id: m.id,
      completedAt: isoTime(m.completedAt),
      from,
      to,
      into,
      read: { chunks: plan.chunks, packs: plan.packs, storedBytes: plan.storedBytes, missingChunks: plan.missingChunks },
      write: { files: plan.files, bytes: plan.bytes },
      files: files.map((f) => ({ path: showName(f.path), size: f.size })),
    });
    return;
  }
  let out = `dry run: nothing is written\nbackup ${m.id} (${isoTime(m.completedAt)}) in ${describeLocation(from)}\n`;
  out += `would read:  ${plan.chunks} chunks from ${plan.packs} packs, ${plan.storedBytes} bytes stored${plan.missingChunks ? ` (${plan.missingChunks} chunks missing: the restore would fail)` : ''}\n`;
  out += `would write: ${plan.files} files, ${plan.bytes} bytes, under ${into}\n`;
  const width = Math.max(0, ...files.map((f) => String(f.size).length));
  for (const f of files) out += `  ${String(f.size).padStart(width)}  ${showName(f.path)}\n`;
  ctx.stdout.write(out);
}
