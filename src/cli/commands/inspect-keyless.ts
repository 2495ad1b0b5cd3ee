/**
 * `mo_br check --without_key --backup_dir … --backup_path …` (spec/encryption.md §6): an
 * encrypted repository checked by someone who holds only the store. Prints
 * `check: <object> FAILED: <problem>` for each object that fails and one closing line; exit 1
 * (CHECK_FAILED) when any fails.
 */
import { MobrError } from '../../errors.js';
import { checkWithoutKey } from '../../repo/keyless-check.js';
import { describeLocation } from '../../store/location.js';
import { openStore } from '../../store/open.js';
import { bestEffort } from '../../util/best-effort.js';
import { credentialsOf, flagLocation, type RepoFlags } from '../resolve.js';
import { printJson, type CliContext } from '../context.js';

export async function runKeylessCheck(id: string | undefined, flags: RepoFlags, ctx: CliContext): Promise<void> {
  const location = flagLocation(flags);
  if (id !== undefined || location === undefined) {
    throw new MobrError('BAD_INPUT', '--without_key checks a whole repository: give --backup_dir (s3 or filesystem) with where it is, and no backup ID');
  }
  const store = openStore(location, { credentials: credentialsOf(flags) });
  try {
    const r = await checkWithoutKey(store);
    const where = describeLocation(location);
    if (ctx.json) printJson(ctx, 'check', { withoutKey: { location: where, ...r } });
    else {
      for (const d of r.damaged) ctx.stdout.write(`check: ${d.key} FAILED: ${d.problem}\n`);
      const ok = r.damaged.length === 0 ? 'ok' : `${r.damaged.length} FAILED`;
      const what = `${r.packs} pack(s), ${r.indexObjects} index object(s) and ${r.sealedObjects} other sealed object(s) of key set ${r.keySet}`;
      ctx.stdout.write(`check: ${what} checked without the key: ${ok}\n`);
    }
    if (r.damaged.length > 0) {
      const shown = r.damaged.slice(0, 3).map((d) => d.key).join(', ');
      throw new MobrError('CHECK_FAILED', `check failed: ${r.damaged.length} object(s) of ${where} are damaged: ${shown}`);
    }
  } finally {
    await bestEffort(async () => store.close?.(), `close ${store.location}`);
  }
}
