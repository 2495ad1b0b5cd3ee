/**
 * `--metrics_file <path>`: after every command, Prometheus' text exposition format (version
 * 0.0.4) for node exporter's textfile collector (spec/cli.md "Nightly operations"). The file is
 * written as the collector wants it, by the one output-path rule (src/util/output-path.ts): a
 * temporary file in the same folder, then a rename, so a scrape never reads half a file; an
 * existing file is replaced only if mobr wrote it.
 *
 * Series are keyed by {command, repository, source}; a run replaces the series it has values for
 * and keeps the others (a `check` after a `backup` keeps the backup's; a failed backup keeps the
 * byte counts and the last success time of the last good one), so `time() - mobr_last_success_timestamp_seconds` is how long a job
 * has gone without success. A job that has never succeeded has a success time of 0, so the same
 * alert fires for it (a series that is absent would never fire). Two commands writing one file at the same instant may lose one's
 * update: give each job its own file (the collector reads every *.prom of its folder).
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { checkOutputFile, writeOutputFile, type OutputRule } from '../util/output-path.js';
import type { Location } from '../store/location.js';
import { locationFromFlags } from './location-flags.js';
import type { Summary } from './summary.js';

/** What one command run says for its metrics and hooks. */
export interface RunOutcome {
  command: string;
  exitCode: number;
  /** The one-line error (secrets masked), when it failed. */
  error?: string;
  startedMs: number;
  durationSeconds: number;
  /** The summaries the command printed (or would have): backup, restore, check, sync. */
  summaries: Summary[];
  /** Repository and source from the flags, for runs that printed no summary. */
  repository: string;
  source: string;
}

const HELP: Record<string, [string, string]> = {
  mobr_last_run_timestamp_seconds: ['gauge', 'When the last run of this command ended (Unix time).'],
  mobr_last_success_timestamp_seconds: ['gauge', 'When the last successful run of this command ended (Unix time; 0: none yet).'],
  mobr_last_exit_code: ['gauge', 'Exit code of the last run (0: success; see mo_br --help).'],
  mobr_duration_seconds: ['gauge', 'How long the last run took.'],
  mobr_files: ['gauge', 'Files the last run backed up, restored, checked or sent.'],
  mobr_total_bytes: ['gauge', 'Total bytes of the files of the last backup (without dedup).'],
  mobr_read_bytes: ['gauge', 'Bytes the last backup actually read from its source (files reused unread count nothing).'],
  mobr_added_bytes: ['gauge', 'Bytes the last backup newly stored in the repository, after dedup and compression (as in stats).'],
  mobr_written_bytes: ['gauge', 'Bytes the last restore wrote.'],
  mobr_sent_bytes: ['gauge', 'Bytes the last sync sent.'],
  mobr_dedup_ratio: ['gauge', 'Total bytes over bytes added by the last backup (+Inf: nothing new was stored).'],
  mobr_check_ok: ['gauge', '1 if the last check found every file sound, else 0.'],
  mobr_check_damaged_files: ['gauge', 'Files the last check found missing or damaged.'],
};

/** A label value as the text format escapes it (backslash, double quote, newline). */
const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** `{command="backup",repository="…",source="…"}` */
export function labelText(command: string, repository: string, source: string): string {
  return `{command="${escapeLabel(command)}",repository="${escapeLabel(repository)}",source="${escapeLabel(source)}"}`;
}

const number = (v: number) => (v === Infinity ? '+Inf' : Number.isFinite(v) ? String(Math.round(v * 1e6) / 1e6) : 'NaN');

/** The series of one run: metric name -> label text -> value. */
function outcomeSeries(o: RunOutcome): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  const set = (name: string, labels: string, v: number) => {
    let m = out.get(name);
    if (!m) out.set(name, (m = new Map()));
    m.set(labels, number(v));
  };
  const end = (o.startedMs + o.durationSeconds * 1000) / 1000;
  const runs = o.summaries.length > 0 ? o.summaries : [undefined];
  for (const s of runs) {
    const labels = labelText(o.command, s?.repository ?? o.repository, s?.source ?? o.source);
    set('mobr_last_run_timestamp_seconds', labels, end);
    // 0 until a first success: an alert on `time() - mobr_last_success_timestamp_seconds` fires
    // for a job that has never succeeded, not only for one that stopped (mergeSeries keeps a real one)
    set('mobr_last_success_timestamp_seconds', labels, o.exitCode === 0 ? end : 0);
    set('mobr_last_exit_code', labels, o.exitCode);
    set('mobr_duration_seconds', labels, s ? s.durationNs / 1e9 : o.durationSeconds);
    if (!s) continue;
    if (s.fileCount !== undefined) set('mobr_files', labels, s.fileCount);
    const bytes = new Map(s.bytes.map((b) => [b.label, b.value]));
    for (const [label, value] of bytes) if (HELP[`mobr_${label}_bytes`]) set(`mobr_${label}_bytes`, labels, value);
    const total = bytes.get('total');
    const added = bytes.get('added');
    if (total !== undefined && added !== undefined) set('mobr_dedup_ratio', labels, added > 0 ? total / added : total > 0 ? Infinity : 1);
    if (s.damaged !== undefined) {
      set('mobr_check_ok', labels, s.damaged === 0 && o.exitCode === 0 ? 1 : 0);
      set('mobr_check_damaged_files', labels, s.damaged);
    }
  }
  return out;
}

/** The series of a file this module wrote (other lines are dropped). */
export function parseOwn(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  for (const line of text.split('\n')) {
    const m = /^(mobr_[a-z_]+)(\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\}) (\S+)$/.exec(line);
    if (!m || !HELP[m[1]]) continue;
    let s = out.get(m[1]);
    if (!s) out.set(m[1], (s = new Map()));
    s.set(m[2], m[3]);
  }
  return out;
}

/** A failed run's success time: never (0), unless an earlier run succeeded. */
const NEVER = { name: 'mobr_last_success_timestamp_seconds', value: '0' };

/** The previous file's series with this run's merged in (see the file comment). */
function mergeSeries(before: Map<string, Map<string, string>>, run: Map<string, Map<string, string>>): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  for (const name of Object.keys(HELP)) {
    const m = new Map(before.get(name) ?? []);
    for (const [l, v] of run.get(name) ?? []) if (!(name === NEVER.name && v === NEVER.value && m.has(l))) m.set(l, v);
    if (m.size > 0) out.set(name, m);
  }
  return out;
}

function renderSeries(series: Map<string, Map<string, string>>): string {
  let text = '';
  for (const [name, values] of series) {
    const [type, help] = HELP[name];
    text += `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;
    for (const [l, v] of [...values].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) text += `${name}${l} ${v}\n`;
  }
  return text;
}

/** The output-path rule (src/util/output-path.ts) for the metrics file: replaced only if mobr wrote it. */
function metricsRule(metaFile: string): OutputRule {
  return { what: '--metrics_file', replace: (head) => head.length === 0 || head.toString('utf8').startsWith('# HELP mobr_'), forbidden: [metaFile, `${metaFile}.sha256`] };
}

/** Fails before the command runs when the metrics file cannot be written where it is asked. */
export function checkMetricsPath(file: string, metaFile: string): string {
  checkOutputFile(file, metricsRule(metaFile));
  return path.resolve(file);
}

/** Writes the metrics of a run into `file` (temporary file + rename, by the output-path rule). */
export async function writeMetrics(file: string, o: RunOutcome, metaFile: string): Promise<void> {
  const t = checkOutputFile(file, metricsRule(metaFile));
  const before = parseOwn(t.kind === 'replace' ? await fsp.readFile(t.path, 'utf8') : '');
  writeOutputFile(file, renderSeries(mergeSeries(before, outcomeSeries(o))), metricsRule(metaFile));
}

/** The `repository` label of a location: its folder, or s3://bucket/filepath. */
export function repositoryLabel(loc: Location): string {
  return loc.backupDir === 'filesystem' ? loc.path : `s3://${loc.bucket}/${(loc.filepath ?? '').replace(/^\/+/, '')}`;
}

/** Repository and source as the flags name them (the summaries say the same for the runs that make one). */
export function flagLabels(o: Record<string, unknown>): { repository: string; source: string } {
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  let repository = '';
  try {
    if (str(o.backup_dir)) {
      const f = (k: string) => str(o[k]) ?? str(o[`backup_${k}`]);
      repository = repositoryLabel(locationFromFlags({ dir: str(o.backup_dir), path: f('path'), endpoint: f('endpoint'), bucket: f('bucket'), filepath: f('filepath'), region: f('region') }, { dir: '--backup_dir', other: '--' }));
    }
  } catch {
    repository = ''; // bad location flags: the command's own error says so
  }
  const source = str(o.data_dir) ? `cold ${path.resolve(String(o.data_dir))}` : str(o.host) ? `matrixone ${String(o.host)}:${str(o.port) ?? '6001'}` : '';
  return { repository, source };
}
