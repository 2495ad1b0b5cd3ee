/**
 * `mo_br backup … --dry_run`: what the backup would read and write, with nothing written: no
 * repository object (not even a new repository), no meta file record (spec/browse.md §6).
 * Cold backups are planned file by file (src/backup/dry-run.ts); for a running MatrixOne the
 * login is checked and the plan said, since only the server's own BACKUP can tell the sizes.
 */
import { isMobrError } from '../../errors.js';
import { planColdBackup } from '../../backup/dry-run.js';
import { allIndexed } from '../../backup/backup.js';
import type { Manifest } from '../../repo/manifest.js';
import type { Repository } from '../../repo/repository.js';
import { isoTime } from '../browse-format.js';
import { printJson, type CliContext } from '../context.js';
import { describeLocation, type Location, type S3Credentials } from '../../store/location.js';
import { openRepository } from '../stores.js';
import { coldWalkOptions, walkSummary, walkSummaryJson } from '../walk-summary.js';
import { showName } from '../../util/names.js';

export interface DryRunInput {
  location: Location;
  creds: S3Credentials;
  type: 'full' | 'incremental';
  source: { kind: 'cold'; dataDir: string } | { kind: 'server'; host: string; port: number };
  /** The backup whose unchanged files a cold backup reuses (base or newest of the same folder). */
  parent: (repo: Repository) => Promise<Manifest | undefined>;
}

export async function runBackupDryRun(x: DryRunInput, ctx: CliContext): Promise<void> {
  const repo = await openRepository(x.location, x.creds).catch((e) => (isMobrError(e, 'NO_REPO') ? undefined : Promise.reject(e)));
  const where = describeLocation(x.location);
  try {
    if (x.source.kind === 'server') {
      const source = `matrixone ${x.source.host}:${x.source.port}`;
      if (ctx.json) return printJson(ctx, 'backup-plan', { dryRun: true, type: x.type, source, to: x.location, repositoryExists: repo !== undefined, loginChecked: true });
      ctx.stdout.write(`dry run: nothing is written\nwould back up: ${source} (login checked) into ${where}${repo ? '' : ' (a new repository would be created)'}\n` +
        `the server would write a ${x.type} backup with its BACKUP statement, then mobr would read it, store its new chunks and record it; the sizes are known only once the server has written it\n`);
      return;
    }
    const parent = repo ? await x.parent(repo) : undefined;
    const plan = await planColdBackup(x.source.dataDir, parent, (f) => repo !== undefined && allIndexed(repo, f), coldWalkOptions(x.location, ctx.catalog.file));
    const source = `cold ${x.source.dataDir}`;
    if (ctx.json) {
      return printJson(ctx, 'backup-plan', { dryRun: true, type: x.type, source, to: x.location, repositoryExists: repo !== undefined,
        parent: parent ? { id: parent.id, completedAt: isoTime(parent.completedAt) } : null,
        files: plan.files, bytes: plan.bytes, read: { ...plan.read, paths: plan.read.paths.map((p) => ({ ...p, path: showName(p.path) })) }, reused: plan.reused, removed: plan.removed, dirs: plan.dirs, symlinks: plan.symlinks, walk: walkSummaryJson(plan.walk),
      });
    }
    let out = `dry run: nothing is written\nwould back up: ${source} into ${where}${repo ? '' : ' (a new repository would be created)'}\n`;
    out += parent ? `unchanged files are taken from backup ${parent.id} (${isoTime(parent.completedAt)})\n` : 'no earlier backup of this folder: every file is read\n';
    out += `would read:  ${plan.read.files} files, ${plan.read.bytes} bytes (${plan.read.paths.filter((p) => p.why === 'new').length} new, ${plan.read.paths.filter((p) => p.why === 'changed').length} changed)\n`;
    out += `would reuse: ${plan.reused.files} files, ${plan.reused.bytes} bytes unread\n`;
    out += `would write: at most ${plan.read.bytes} bytes of new chunks (less after dedup and compression), a manifest, a meta file record\n`;
    out += `${plan.files} files, ${plan.dirs} folders, ${plan.symlinks} symbolic links; ${plan.removed} files of the earlier backup are gone\n`;
    out += walkSummary(plan.walk);
    const width = Math.max(0, ...plan.read.paths.map((p) => String(p.size).length));
    for (const p of plan.read.paths) out += `  ${p.why.padEnd(7)}  ${String(p.size).padStart(width)}  ${showName(p.path)}\n`;
    ctx.stdout.write(out);
  } finally {
    await repo?.close();
  }
}
