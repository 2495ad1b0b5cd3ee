/**
 * `mo_br meta rebuild --backup_dir … --backup_path …` (or the S3 flags): rebuilds the catalog's
 * records of one repository from the repository's manifests, for a new host after a disaster or
 * a catalog that was lost. Records of other repositories are kept; for this repository, a
 * backup the catalog already knows keeps its record (its duration has nanosecond precision),
 * a backup only the repository holds gets a record built from its manifest, and a record whose
 * backup is no longer in the repository is removed. Records end sorted by completion time, so
 * the last line is the newest backup (what mo_ctl reads). Prints the repository's table.
 */
import { MobrError, isMobrError } from '../../errors.js';
import { renderBackupTable } from '../format.js';
import { describeLocation, sameLocation } from '../../store/location.js';
import { recordJson, type BackupRecord } from '../meta.js';
import { fieldsToRecord, recordFields } from '../meta-line.js';
import { credentialsOf, flagLocation, repositoryRecords, type RepoFlags } from '../resolve.js';
import { openRepository } from '../stores.js';
import { printJson, type CliContext } from '../context.js';
import { recordableLocation } from '../location-flags.js';

export async function runMetaRebuild(flags: RepoFlags, ctx: CliContext): Promise<void> {
  const location = flagLocation(flags);
  if (location === undefined) throw new MobrError('BAD_INPUT', 'missing --backup_dir: meta rebuild reads the repository at --backup_dir filesystem --backup_path <folder> (or --backup_dir s3 with --backup_bucket …)');
  recordableLocation(location, '--backup_');
  const before = await ctx.catalog.read(); // a damaged catalog is refused before the repository is read
  let found: Awaited<ReturnType<typeof repositoryRecords>>;
  try {
    const repo = await openRepository(location, credentialsOf(flags));
    try {
      found = await repositoryRecords(repo, location);
    } finally {
      await repo.close();
    }
  } catch (e) {
    // no repository there any more: its records are forgotten (none recorded: the place is wrong)
    if (!isMobrError(e, 'NO_REPO') || !before.some((r) => sameLocation(r.location, location))) throw e;
    found = { records: [], unreadable: [] };
  }
  found = usable(found);
  let added = 0;
  let removed = 0;
  let kept = 0;
  await ctx.catalog.update((rs) => {
    const here = (r: BackupRecord) => sameLocation(r.location, location);
    const inRepo = new Set(found.records.map((r) => r.id));
    const known = new Map(rs.filter(here).map((r) => [r.id, r]));
    removed = [...known.keys()].filter((id) => !inRepo.has(id)).length;
    const mine = found.records.map((r) => {
      const old = known.get(r.id);
      if (old) kept++;
      else added++;
      return old ?? r;
    });
    return [...rs.filter((r) => !here(r)), ...mine].sort((a, b) => a.completeTime - b.completeTime);
  });
  if (ctx.json) {
    printJson(ctx, 'meta', { metaPath: ctx.catalog.file, location, added, kept, removed, backups: found.records.map(recordJson), unreadable: found.unreadable });
  } else {
    ctx.stdout.write(renderBackupTable(found.records));
    ctx.stdout.write(`${ctx.catalog.file}: ${found.records.length} backup(s) of ${describeLocation(location)} recorded (${added} added, ${kept} already there, ${removed} removed)\n`);
  }
  if (found.unreadable.length > 0) {
    const u = found.unreadable;
    throw new MobrError('CORRUPT_MANIFEST', `${u.length} backup(s) could not be read and were not recorded: ${u.slice(0, 3).map((x) => `${x.id} (${x.problem})`).join(', ')}`);
  }
}

/** Only records the catalog reads back as they are: any other goes to `unreadable`, never into the file. */
function usable(found: Awaited<ReturnType<typeof repositoryRecords>>): Awaited<ReturnType<typeof repositoryRecords>> {
  const records: BackupRecord[] = [];
  const unreadable = [...found.unreadable];
  for (const r of found.records) {
    try {
      fieldsToRecord(recordFields(r), `backup ${r.id}`);
      records.push(r);
    } catch (e) {
      if (!isMobrError(e, 'CORRUPT_META')) throw e;
      unreadable.push({ id: r.id, problem: e.message });
    }
  }
  return { records, unreadable };
}
