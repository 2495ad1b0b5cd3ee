/**
 * `mo_br unlock --backup_dir … --backup_path …` (spec/cli.md "Unlock", spec/gc.md §2.1): removes
 * the repository's stale locks, which nobody walks past when they are exclusive (a gc that is
 * gone for good); `--remove_all` removes live ones too. Lock objects are never sealed, so an
 * encrypted repository needs no password here. One line per lock, removed or kept, then a count.
 */
import { MobrError } from '../../errors.js';
import { unlockRepository, type UnlockedLock } from '../../repo/unlock.js';
import { openStore } from '../../store/open.js';
import { bestEffort } from '../../util/best-effort.js';
import { printJson, type CliContext } from '../context.js';
import { backupSideLocation, credentialsOf, type RepoFlags } from '../resolve.js';
import { formatHumanDuration } from '../units.js';

export interface UnlockFlags extends RepoFlags {
  remove_all?: boolean;
}

function describe(l: UnlockedLock): string {
  const who = l.unreadable ? 'not a readable lock' : `${l.purpose} (${l.kind}, host ${l.host || '?'} pid ${l.pid || '?'})`;
  const age = l.ageMs === undefined ? '' : `, refreshed ${formatHumanDuration(l.ageMs * 1e6)} ago`;
  return `${l.key}: ${who}${age}`;
}

export async function runUnlock(flags: UnlockFlags, ctx: CliContext): Promise<void> {
  if (!flags.backup_dir) {
    throw new MobrError('BAD_INPUT', "missing --backup_dir (filesystem or s3) and the repository's location (--backup_path …)");
  }
  const store = openStore(backupSideLocation(flags), { credentials: credentialsOf(flags) });
  try {
    if (!(await store.has('config'))) throw new MobrError('NO_REPO', `no mobr repository at ${store.location}`);
    const r = await unlockRepository(store, { all: flags.remove_all });
    if (ctx.json) {
      const json = (ls: UnlockedLock[]) =>
        ls.map((l) => ({ key: l.key, kind: l.kind, purpose: l.purpose, host: l.host, pid: l.pid, ageMs: l.ageMs, stale: l.stale }));
      printJson(ctx, 'unlock', { repository: store.location, removed: json(r.removed), kept: json(r.kept) });
      return;
    }
    for (const l of r.removed) ctx.stdout.write(`removed ${describe(l)}${l.stale ? '' : ' (live)'}\n`);
    for (const l of r.kept) ctx.stdout.write(`kept ${describe(l)}: live (--remove_all removes it)\n`);
    ctx.stdout.write(`unlock: removed ${r.removed.length} lock(s), kept ${r.kept.length}, in ${store.location}\n`);
  } finally {
    await bestEffort(async () => store.close?.(), `close ${store.location}`);
  }
}
