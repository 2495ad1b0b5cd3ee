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
import { formatBytes } from '../units.js';

interface DryRunInput {
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
    ctx.stdout.write(coldPlanText(plan, parent, `${source} into ${where}${repo ? '' : ' (a new repository would be created)'}`, ctx.verbose === true));
  } finally {
    await repo?.close();
  }
}

/**
 * A cold plan for people: a summary, sizes in kB/MB/GB (#24.5: a first backup listed every file,
 * thousands of lines in raw bytes); each file to read only with --verbose.
 */
function coldPlanText(plan: Awaited<ReturnType<typeof planColdBackup>>, parent: Manifest | undefined, what: string, verbose: boolean): string {
  const { read, reused } = plan;
  let out = `dry run: nothing is written\nwould back up: ${what}\n`;
  out += parent ? `unchanged files are taken from backup ${parent.id} (${isoTime(parent.completedAt)})\n` : 'no earlier backup of this folder: every file is read\n';
  const why = (w: string) => read.paths.filter((p) => p.why === w).length;
  out += `would read:  ${read.files} files, ${formatBytes(read.bytes)} (${why('new')} new, ${why('changed')} changed)\n`;
  out += `would reuse: ${reused.files} files, ${formatBytes(reused.bytes)} unread\n`;
  out += `would write: at most ${formatBytes(read.bytes)} of new chunks (less after dedup and compression), a manifest, a meta file record\n`;
  out += `${plan.files} files, ${plan.dirs} folders, ${plan.symlinks} symbolic links; ${plan.removed} files of the earlier backup are gone\n`;
  out += walkSummary(plan.walk);
  if (!verbose) return read.paths.length > 0 ? `${out}each file it would read: add --verbose\n` : out;
  const sizes = read.paths.map((p) => formatBytes(p.size));
  const width = Math.max(0, ...sizes.map((x) => x.length));
  read.paths.forEach((p, i) => (out += `  ${p.why.padEnd(7)}  ${sizes[i]!.padStart(width)}  ${showName(p.path)}\n`));
  return out;
}
