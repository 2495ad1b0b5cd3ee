/**
 * `check --read_data_subset n/m | x%` (src/backup/verify-subset.ts): after the structure check of
 * the backups (every chunk indexed, every pack there), read back the subset's packs; `check:`
 * lines for what is damaged, then one line saying how much was read.
 */
import { verifySubset, type Subset, type SubsetReport } from '../../backup/verify-subset.js';
import type { Manifest } from '../../repo/manifest.js';
import type { Repository } from '../../repo/repository.js';
import { WorkerPool } from '../../workers/pool.js';
import { checkLine } from '../format.js';
import { formatBytes } from '../units.js';
import type { CliContext } from '../context.js';

export async function checkSubset(repo: Repository, manifests: Manifest[], subset: Subset, text: string, ctx: CliContext): Promise<SubsetReport> {
  const pool = new WorkerPool();
  let r: SubsetReport;
  try {
    r = await verifySubset(repo, manifests, subset, pool);
  } finally {
    await pool.close();
  }
  if (!ctx.json) {
    for (const d of r.damagedPacks) ctx.stdout.write(`check: pack ${d.pack} FAILED: ${d.problem}\n`);
    for (const d of r.damaged) ctx.stdout.write(checkLine(d.path, d.problem));
    ctx.stdout.write(`check: read ${r.read} of ${r.packs} pack(s) (--read_data_subset ${text}, ${formatBytes(r.bytesRead)})\n`);
  }
  return r;
}
