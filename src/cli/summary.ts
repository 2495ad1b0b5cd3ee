/**
 * The one-screen summary at the end of `backup`, `restore`, `check` and `sync`, on stderr:
 *
 *   summary: backup 1f0e…
 *     files      12 new, 3 changed, 980 unchanged (995)
 *     bytes      1.2 GB total, 40 MB read, 9.1 MB added
 *     duration   4.2s
 *
 * One vocabulary (also `--json`, --metrics_file and the README): files are new, changed or
 * unchanged against the previous backup; `total` is the logical size of the backup's files;
 * `read` the bytes actually read from the source (files reused unread count nothing); `added`
 * the bytes the backup newly stored in the repository after dedup and compression, as in `stats`.
 * Durations are for people ("850ms", "5.9s", "2m03s", "1h04m"), not Go's "5.861506274s".
 *     s3         312 requests (120 put, 180 get, 12 list), 2 retries
 *
 * Shown when stderr is a terminal or with --verbose; never under --json or --quiet (stdout
 * stays exactly what scripts parse). Pure rendering plus the file comparison; commands gather.
 */
import { fileTable, type Manifest } from '../repo/manifest.js';
import { equalBytes } from '../util/bytes.js';
import type { Store } from '../store/store.js';
import { formatBytes, formatHumanDuration } from './units.js';

export interface FileCounts {
  new: number;
  changed: number;
  unchanged: number;
}

interface S3Counts {
  requests: number;
  byKind: Record<string, number>;
  retries: number;
}

export interface Summary {
  command: string;
  /** The backup (or backups) the command worked on. */
  subject: string;
  files?: FileCounts;
  /** Other file lines ("9 restored", "995 checked, 0 damaged"). */
  filesText?: string;
  bytes: { label: string; value: number }[];
  durationNs: number;
  s3?: S3Counts;
  /** For --metrics_file and the hooks (metrics.ts): where, of what, how many files, how many damaged. */
  repository?: string;
  source?: string;
  fileCount?: number;
  damaged?: number;
  /** One-line facts the user should know about this run, each shown once. */
  notes?: string[];
}

/** New, changed and unchanged regular files of `cur` against `prev` (by path and SHA-256). */
export function compareFiles(prev: Manifest | undefined, cur: Manifest): FileCounts {
  // both as tables, the earlier one's files by row number (issue #22: no entry object a file)
  const p = prev && fileTable(prev);
  const before = new Map<string, number>();
  for (let k = 0; k < (p?.length ?? 0); k++) if (p!.kind(k) === 'file') before.set(p!.path(k), k);
  const c = fileTable(cur);
  const out: FileCounts = { new: 0, changed: 0, unchanged: 0 };
  for (let k = 0; k < c.length; k++) {
    if (c.kind(k) !== 'file') continue;
    const at = before.get(c.path(k));
    const old = at === undefined ? undefined : p!.sha256(at);
    const sha = c.sha256(k);
    if (at === undefined) out.new++;
    else if (!old || !sha || !equalBytes(old, sha)) out.changed++;
    else out.unchanged++;
  }
  return out;
}

/** Request counts of S3 stores (undefined when none is S3). */
export function s3Counts(...stores: (Store | undefined)[]): S3Counts | undefined {
  let found = false;
  const byKind: Record<string, number> = {};
  let retries = 0;
  for (const s of stores) {
    const stats = (s as { stats?: Record<string, number> } | undefined)?.stats;
    if (!stats || typeof stats.retries !== 'number') continue;
    found = true;
    for (const [k, v] of Object.entries(stats)) if (k !== 'retries') byKind[k] = (byKind[k] ?? 0) + v;
    retries += stats.retries;
  }
  if (!found) return undefined;
  return { requests: Object.values(byKind).reduce((a, b) => a + b, 0), byKind, retries };
}

function renderSummary(s: Summary): string {
  const row = (k: string, v: string) => `  ${k.padEnd(10)} ${v}\n`;
  let out = `summary: ${s.command} ${s.subject}\n`;
  if (s.files) {
    const total = s.files.new + s.files.changed + s.files.unchanged;
    out += row('files', `${s.files.new} new, ${s.files.changed} changed, ${s.files.unchanged} unchanged (${total})`);
  }
  if (s.filesText) out += row('files', s.filesText);
  if (s.bytes.length > 0) out += row('bytes', s.bytes.map((b) => `${formatBytes(b.value)} ${b.label}`).join(', '));
  out += row('duration', formatHumanDuration(s.durationNs));
  if (s.s3) {
    const kinds = Object.entries(s.s3.byKind).filter(([, v]) => v > 0).map(([k, v]) => `${v} ${k}`).join(', ');
    out += row('s3', `${s.s3.requests} requests${kinds ? ` (${kinds})` : ''}, ${s.s3.retries} retries`);
  }
  for (const n of s.notes ?? []) out += row('note', n);
  return out;
}

/** What of a command's context (a CliContext) the summary reads: context.ts imports this file, not the other way. */
interface SummaryContext {
  json: boolean;
  quiet?: boolean;
  verbose?: boolean;
  stderr: { write(s: string): unknown; isTTY?: boolean };
  onSummary?: (s: Summary) => void;
}

/** Whether the summary is shown: a terminal or --verbose, and neither --json nor --quiet. */
function showSummary(ctx: SummaryContext): boolean {
  if (ctx.json || ctx.quiet) return false;
  return ctx.verbose === true || ctx.stderr.isTTY === true;
}

/** Writes the summary to stderr when it is to be shown; hands it to --metrics_file and the hooks. */
export function printSummary(ctx: SummaryContext, s: Summary): void {
  ctx.onSummary?.(s);
  if (showSummary(ctx)) ctx.stderr.write(renderSummary(s));
}
