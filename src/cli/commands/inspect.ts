/**
 * `mo_br list [ID]` and `mo_br check [ID]`.
 * - list: the catalog as a table; with `--backup_dir …` every backup of that repository, read
 *   from its manifests (no catalog needed). With an ID, also checks that every file's data exists
 *   (`Checking the backup data(currently,no checksum)...`) unless --not_check_data.
 * - check ID: the table, then every file's data read back and its SHA-256 compared.
 * - check --backup_dir ...: every backup in that repository, check lines only.
 * An ID is found through the catalog or, given the repository's location, in the repository
 * alone (resolve.ts). A missing or damaged file prints `check: <file> FAILED: <problem>` and the
 * command ends with CHECK_FAILED (exit 1) naming the files.
 */
import { MobrError, isMobrError } from '../../errors.js';
import { leftoverShareObjects } from '../../repo/parts.js';
import { verifyBackup } from '../../backup/verify.js';
import { parseSubset, type SubsetReport } from '../../backup/verify-subset.js';
import { fileTable, isBackupId, type Manifest } from '../../repo/manifest.js';
import { checkSubset } from './inspect-subset.js';
import { repairIndex, type RepairProgress, type RepairReport } from '../../repo/repair.js';
import type { Repository } from '../../repo/repository.js';
import { openNativeAt, runNativeCheck } from '../native.js';
import { checkLine, checkingBanner, renderBackupTable } from '../format.js';
import { checkShown, compareCheckOrder } from '../../mo/layout.js';
import { describeLocation } from '../../store/location.js';
import { recordJson } from '../meta.js';
import { Progress } from '../progress.js';
import { gcPauseHook } from '../space.js';
import { repositoryLabel } from '../metrics.js';
import { printSummary, s3Counts } from '../summary.js';
import { openRepository } from '../stores.js';
import { credentialsOf, flagLocation, openBackup, repositoryRecords, type RepoFlags } from '../resolve.js';
import { checkBackupId, printJson, type CliContext } from '../context.js';
import { readSession } from '../../repo/session.js';

export interface ListFlags extends RepoFlags {
  not_check_data?: boolean;
}

interface CheckResult {
  id: string;
  files: number;
  damaged: { path: string; problem: string }[];
  /** Packs whose bytes differ from their header's hash (with or without a damaged file). */
  damagedPacks?: { pack: string; problem: string }[];
  /** Chunks missing from the index while packs it does not know are there: what --repair fixes. */
  repairHint?: string;
}

export async function runList(id: string | undefined, flags: ListFlags, ctx: CliContext): Promise<void> {
  if (id === undefined) return listAll(flags, ctx);
  const found = await openBackup(id, flags, ctx);
  const record = found.record;
  let result: CheckResult | undefined;
  try {
    if (!ctx.json) ctx.stdout.write(renderBackupTable([record]));
    if (!flags.not_check_data) {
      if (!ctx.json) ctx.stdout.write(checkingBanner('exists'));
      result = await verifyOne(found.repo, record.id, false, ctx);
    }
  } finally {
    await found.close();
  }
  if (ctx.json) printJson(ctx, 'list', { backup: recordJson(record), check: result ?? null });
  if (result) failIfDamaged([result]);
}

/** `list` without an ID: the catalog, or every backup of the repository the flags name. */
async function listAll(flags: ListFlags, ctx: CliContext): Promise<void> {
  const location = flagLocation(flags);
  if (location === undefined) {
    const records = await ctx.catalog.read();
    if (ctx.json) printJson(ctx, 'list', { backups: records.map(recordJson) });
    else ctx.stdout.write(renderBackupTable(records));
    return;
  }
  const repo = await openRepository(location, credentialsOf(flags));
  let listed: Awaited<ReturnType<typeof repositoryRecords>>;
  try {
    listed = await repositoryRecords(repo, location);
  } finally {
    await repo.close();
  }
  if (ctx.json) printJson(ctx, 'list', { backups: listed.records.map(recordJson), unreadable: listed.unreadable });
  else ctx.stdout.write(renderBackupTable(listed.records));
  if (listed.unreadable.length > 0) {
    const u = listed.unreadable;
    throw new MobrError('CORRUPT_MANIFEST', `${u.length} backup(s) in ${describeLocation(location)} cannot be read: ${u.slice(0, 3).map((x) => `${x.id} (${x.problem})`).join(', ')}`);
  }
}

export async function runCheck(id: string | undefined, flags: RepoFlags & { repair?: boolean; read_data_subset?: string }, ctx: CliContext): Promise<void> {
  const t0 = process.hrtime.bigint();
  const subset = flags.read_data_subset === undefined ? undefined : { text: flags.read_data_subset.trim(), subset: parseSubset(flags.read_data_subset) };
  if (id !== undefined) {
    const given = flags.repair ? undefined : flagLocation(flags);
    const native = given ? await openNativeAt(given, credentialsOf(flags)) : undefined;
    if (native && subset) {
      await native.close();
      throw new MobrError('BAD_INPUT', '--read_data_subset is for mobr repositories; a MatrixOne backup folder is checked whole');
    }
    if (native) return runNativeCheck(native, ctx, checkBackupId(id));
    const found = await openBackup(id, flags, ctx);
    let result: CheckResult;
    let repaired: RepairReport | undefined;
    let read: SubsetReport | undefined;
    try {
      if (flags.repair) repaired = await repair(found.repo, ctx);
      if (!ctx.json) ctx.stdout.write(renderBackupTable([found.record]) + checkingBanner('checksum'));
      result = await checkLocked(found.repo, `check ${found.record.id}`, ctx, async () => {
        const r = await verifyOne(found.repo, found.record.id, !subset, ctx);
        if (!subset) return r;
        read = await checkSubset(found.repo, [await found.repo.loadManifest(found.record.id)], subset.subset, subset.text, ctx);
        addSubset([r], read);
        return r;
      });
    } finally {
      await found.close();
    }
    const subsetRead = subsetJson(subset?.text, read);
    if (ctx.json) printJson(ctx, 'check', { backup: recordJson(found.record), check: result, repair: repaired ?? null, subset: subsetRead });
    checkSummary(ctx, found.record.id, [result], t0, found.repo, { repository: repositoryLabel(found.record.location), source: found.record.source ?? '' });
    failIfDamaged([result]);
    return;
  }
  const location = flagLocation(flags);
  if (location === undefined) {
    throw new MobrError('BAD_INPUT', flags.repair ? '--repair needs a backup ID, or --backup_dir (s3 or filesystem) with where the backups are' : 'give a backup ID, or --backup_dir (s3 or filesystem) with where the backups are');
  }
  // a folder in MatrixOne's own layout (BACKUP, mo_br, mo_br export) rather than a repository
  const native = await openNativeAt(location, credentialsOf(flags));
  if (native) {
    if (flags.repair) {
      await native.close();
      throw new MobrError('BAD_INPUT', `--repair is for mobr repositories; ${describeLocation(location)} is a MatrixOne backup folder`);
    }
    return runNativeCheck(native, ctx);
  }
  const repo = await openRepository(location, credentialsOf(flags));
  const results: CheckResult[] = [];
  let repaired: RepairReport | undefined;
  let read: SubsetReport | undefined;
  try {
    if (flags.repair) repaired = await repair(repo, ctx);
    await checkLocked(repo, 'check', ctx, () => checkAll(repo, results, subset, ctx, (r) => (read = r)));
  } finally {
    await repo.close();
  }
  if (ctx.json) printJson(ctx, 'check', { checks: results, repair: repaired ?? null, subset: subsetJson(subset?.text, read) });
  checkSummary(ctx, `${results.length} backup(s) in ${describeLocation(location)}`, results, t0, repo, { repository: repositoryLabel(location), source: '' });
  failIfDamaged(results);
}

/**
 * A check reads under a shared lock (restic's check does too; spec/gc.md §2.4): a gc meanwhile
 * defers, so no pack goes while it is read. A repository it may not write is read without one,
 * with a warning. After --repair (its exclusive lock released) the shared one is taken.
 */
function checkLocked<T>(repo: Repository, purpose: string, ctx: CliContext, fn: () => Promise<T>): Promise<T> {
  return readSession(repo, { purpose, signal: ctx.signal }, fn);
}

/** Checks every backup of repo into results (a damaged manifest is one damaged backup). */
type SubsetFlag = { text: string; subset: ReturnType<typeof parseSubset> } | undefined;
async function checkAll(repo: Repository, results: CheckResult[], subset: SubsetFlag, ctx: CliContext, setRead: (r: SubsetReport) => void): Promise<void> {
  const manifests: Manifest[] = [];
  for (const bid of await repo.listBackupIds()) {
    try {
      // A stray folder's files under backups/ (names no backup ID): named and skipped, as a stray file is.
      if (!isBackupId(bid)) throw new MobrError('CORRUPT_MANIFEST', `manifest of backup ${bid}: not a backup ID (a stray object in backups/)`);
      results.push(await verifyOne(repo, bid, !subset, ctx));
      if (subset) manifests.push(await repo.loadManifest(bid));
    } catch (e) {
      // A damaged manifest is one damaged backup: report it and check the others.
      if (!isMobrError(e, 'CORRUPT_MANIFEST') && !isMobrError(e, 'ENOENT_BACKUP')) throw e;
      if (!ctx.json) ctx.stdout.write(checkLine(`manifest of backup ${bid}`, e.message));
      results.push({ id: bid, files: 1, damaged: [{ path: `manifest of backup ${bid}`, problem: e.message }] });
    }
  }
  if (subset) {
    const read = await checkSubset(repo, manifests, subset.subset, subset.text, ctx);
    setRead(read);
    addSubset(results, read);
  }
  if (!ctx.json) for (const k of await leftoverShareObjects(repo)) ctx.stdout.write(`check: ${k}: left by a backup in shares whose coordinator is gone (no manifest names it; gc removes it)\n`);
}

function checkSummary(ctx: CliContext, subject: string, results: CheckResult[], t0: bigint, repo: Repository, where: { repository: string; source: string }): void {
  const files = results.reduce((n, r) => n + r.files, 0);
  const damaged = results.reduce((n, r) => n + r.damaged.length, 0);
  const packs = results.reduce((n, r) => n + (r.damagedPacks?.length ?? 0), 0);
  printSummary(ctx, {
    command: 'check',
    subject,
    filesText: `${files} checked, ${damaged} missing or damaged${packs > 0 ? `, ${packs} damaged pack(s)` : ''}`,
    bytes: [],
    durationNs: Number(process.hrtime.bigint() - t0),
    s3: s3Counts(repo.store),
    ...where,
    fileCount: files,
    damaged: damaged + packs,
  });
}

/** --repair: rebuilds the index from pack headers, printing `repair:` lines. */
async function repair(repo: Repository, ctx: CliContext): Promise<RepairReport> {
  const progress = new Progress('repair', { json: ctx.json });
  const onProgress = ({ phase, done, total, bytes, totalBytes }: RepairProgress) =>
    progress.update({ phase, files: done, totalFiles: total, bytes, totalBytes, unit: 'packs' });
  const r = await repairIndex(repo, { signal: ctx.signal, onProgress, onStep: gcPauseHook(ctx.signal) }).finally(() => progress.done());
  if (!ctx.json) ctx.stdout.write(repairLines(r));
  return r;
}

async function verifyOne(repo: Repository, id: string, readData: boolean, ctx: CliContext): Promise<CheckResult> {
  const manifest = await repo.loadManifest(id);
  // a MatrixOne server backup is checked and shown in mo_br's order and names, as a backup folder is
  const server = manifest.source.kind === 'matrixone';
  if (!repo.packsListed) await repo.dropUnsoundPacks(); // a chunk held twice is checked where it still is
  const progress = new Progress(readData ? `check ${id}` : `list ${id}`, { json: ctx.json });
  let done = 0;
  let bytes = 0;
  // what the summary counts: files (not folders or links), and their bytes
  // from the manifest's table: a loaded manifest's entry objects are never made (issue #22)
  const t = fileTable(manifest);
  let totalFiles = 0;
  let totalBytes = 0;
  for (let k = 0; k < t.length; k++) {
    if (t.kind(k) !== 'file') continue;
    totalFiles++;
    totalBytes += t.size(k);
  }
  try {
    const report = await verifyBackup(repo, manifest, {
      readData,
      order: server ? compareCheckOrder : undefined, // by row of the table: no copy of the entries (issue #22)
      signal: ctx.signal,
      onFile: (f, problem) => {
        done++;
        bytes += f.size;
        if (!ctx.json) {
          progress.clear(); // the progress line never runs into a line on stdout
          ctx.stdout.write(checkLine(server ? checkShown(f.path) : f.path, problem));
        }
        progress.update({ files: done, totalFiles, bytes, totalBytes });
      },
    });
    if (!ctx.json) for (const d of report.damagedPacks) ctx.stdout.write(`check: pack ${d.pack} FAILED: ${d.problem}\n`);
    const result: CheckResult = { id, files: report.files, damaged: report.damaged.map((d) => ({ path: d.path, problem: d.problem })) };
    if (report.damagedPacks.length > 0) result.damagedPacks = report.damagedPacks;
    if (report.damaged.some((d) => MISSING_CHUNK.test(d.problem))) {
      const hint = await repairHint(repo);
      if (hint) result.repairHint = hint;
    }
    return result;
  } finally {
    progress.done();
  }
}

/** What --read_data_subset read, for --json (null: every chunk was read, no subset given). */
function subsetJson(text: string | undefined, r: SubsetReport | undefined): Record<string, unknown> | null {
  return text === undefined || !r ? null : { subset: text, packs: r.packs, packsRead: r.read, bytesRead: r.bytesRead };
}

/** The subset's findings added to the structure check's results. */
function addSubset(results: CheckResult[], r: SubsetReport): void {
  for (const res of results) {
    for (const d of r.damaged) if (d.id === res.id && !res.damaged.some((x) => x.path === d.path)) res.damaged.push({ path: d.path, problem: d.problem });
    if (r.damagedPacks.length > 0) res.damagedPacks = [...(res.damagedPacks ?? []), ...r.damagedPacks];
  }
}

const MISSING_CHUNK = /^chunk [0-9a-f]+ is missing from the repository/;

/**
 * Why chunks may be missing only from the index: index objects that did not load, or packs in
 * the repository that no index object names. Then `check --repair` (which rebuilds the index from
 * the packs' headers) would find them; undefined when it would not help.
 */
async function repairHint(repo: Repository): Promise<string | undefined> {
  const unindexed = await repo.countUnindexedPacks();
  const damaged = repo.damagedIndexes.size;
  if (unindexed === 0 && damaged === 0) return undefined;
  const why = [unindexed > 0 ? `${unindexed} pack(s) in the repository are in no index object` : '', damaged > 0 ? `${damaged} index object(s) could not be read` : ''].filter(Boolean).join(' and ');
  return `${why}: \`mo_br check <ID> --repair\` rebuilds the index from the packs' own headers and should find them`;
}

function failIfDamaged(results: CheckResult[]): void {
  const bad = results.flatMap((r) => r.damaged.map((d) => ({ ...d, id: r.id })));
  const packs = [...new Map(results.flatMap((r) => r.damagedPacks ?? []).map((d) => [d.pack, d])).values()];
  if (bad.length === 0 && packs.length > 0) {
    throw new MobrError('CHECK_FAILED', `check failed: every file reads back right, but ${packs.length} pack(s) hold damaged bytes: ${packs.slice(0, 3).map((d) => d.pack.slice(0, 16)).join(', ')}`);
  }
  if (bad.length === 0) return;
  const total = results.reduce((n, r) => n + r.files, 0);
  const shown = bad.slice(0, 5).map((d) => `${d.path} (${d.problem})`).join(', ');
  const more = bad.length > 5 ? ` and ${bad.length - 5} more (see the check lines above)` : '';
  const which = results.length === 1 ? `backup ${results[0].id}` : `${new Set(bad.map((d) => d.id)).size} backup(s)`;
  const hint = results.find((r) => r.repairHint)?.repairHint?.replace('<ID>', results.length === 1 ? results[0].id : '<ID>');
  throw new MobrError('CHECK_FAILED', `check failed: ${bad.length} of ${total} files of ${which} missing or damaged: ${shown}${more}${hint ? ` (${hint})` : ''}`);
}

/** `repair:` lines: what --repair did, before the check lines. */
function repairLines(r: RepairReport): string {
  const out = r.damagedIndexes.map((d) => `repair: removed damaged ${d.key.slice(0, 22)}… (${d.problem})\n`);
  out.push(`repair: re-indexed ${r.packsReindexed} pack(s), ${r.chunksReindexed} chunk(s) from their headers\n`);
  for (const d of r.damagedPacks) out.push(`repair: pack ${d.pack.slice(0, 16)} FAILED: ${d.problem}\n`);
  for (const d of r.unsoundPacks) out.push(`repair: pack ${d.pack.slice(0, 16)} dropped from the index (${d.problem}); the next backup of its data stores it again\n`);
  if (r.chunksSalvaged > 0) out.push(`repair: ${r.chunksSalvaged} chunk(s) of dropped packs still checked and were copied into new packs\n`);
  return out.join('');
}
