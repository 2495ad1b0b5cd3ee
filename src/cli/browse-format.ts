/**
 * Text and JSON forms of the browsing commands (ls, find, diff; spec/browse.md). Pure functions:
 * sizes in bytes, times as ISO-8601 in UTC, so output does not depend on the machine's zone.
 */
import { toHex } from '../hash/hex.js';
import type { AddedBytes, EntryChange, ManifestDiff } from '../repo/diff.js';
import type { FileEntry, Manifest } from '../repo/manifest.js';
import { encodeName, isPlainName, showName } from '../util/names.js';

/** `-rw-r--r--` / `drwxr-xr-x` / `lrwxrwxrwx`, with setuid, setgid and sticky bits as ls shows them. */
function modeString(f: Pick<FileEntry, 'kind' | 'mode'>): string {
  const m = f.mode;
  const x = (bits: number, special: boolean, s: string) => (special ? (bits & 1 ? s : s.toUpperCase()) : bits & 1 ? 'x' : '-');
  const rwx = (bits: number, special: boolean, s: string) => `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${x(bits, special, s)}`;
  const kind = f.kind === 'dir' ? 'd' : f.kind === 'symlink' ? 'l' : '-';
  return `${kind}${rwx(m >> 6, (m & 0o4000) !== 0, 's')}${rwx(m >> 3, (m & 0o2000) !== 0, 's')}${rwx(m, (m & 0o1000) !== 0, 't')}`;
}

export const isoTime = (ms: number): string => new Date(ms).toISOString();

/**
 * The tae_list columns of a MatrixOne server backup's file, when the manifest kept them. A row of
 * the three-column tae_list (up to v1.1.x: `path,size,sha256`) has a checksum and no TS ('').
 */
function taeColumns(f: FileEntry): { checksum: string; needCopy: boolean; ts: string } | undefined {
  const x = f.meta;
  if (!x || x.needCopy === undefined) return undefined;
  return { checksum: x.checksum ?? '', needCopy: x.needCopy === 'true', ts: x.ts ?? '' };
}

export const isServerBackup = (m: Manifest): boolean => m.source.kind === 'matrixone';

/** Left-aligned columns separated by two spaces; the last column is never padded. */
function columns(rows: string[][], right: Set<number> = new Set()): string {
  const width = rows[0]?.map((_, i) => Math.max(...rows.map((r) => r[i].length))) ?? [];
  return rows
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : right.has(i) ? c.padStart(width[i]) : c.padEnd(width[i]))).join('  ').trimEnd())
    .map((l) => `${l}\n`)
    .join('');
}

/** A path as text: a byte that is not UTF-8 shows as \xNN (src/util/names.ts). */
const shownPath = (f: FileEntry) =>
  f.kind === 'symlink' ? `${showName(f.path)} -> ${showName(f.target ?? '')}` : f.kind === 'dir' ? `${showName(f.path)}/` : showName(f.path);

/** `ls`: paths one a line; --long: mode, size, mtime, path (and tae_list columns for a server backup). */
export function renderLs(entries: FileEntry[], o: { long: boolean; server: boolean }): string {
  if (!o.long) return entries.map((f) => `${shownPath(f)}\n`).join('');
  const head = ['MODE', 'SIZE', 'MTIME'];
  if (o.server) head.push('CHECKSUM', 'NEEDCOPY', 'TS');
  head.push('PATH');
  const rows = entries.map((f) => {
    const r = [modeString(f), String(f.size), isoTime(f.mtimeMs)];
    if (o.server) {
      const t = taeColumns(f);
      r.push(t ? t.checksum || '-' : '-', t ? String(t.needCopy) : '-', t?.ts || '-');
    }
    r.push(shownPath(f));
    return r;
  });
  return columns([head, ...rows], new Set([1]));
}

/** One entry as JSON (spec/browse.md §2). */
export function entryJson(f: FileEntry): Record<string, unknown> {
  const mode = `0${(f.mode & 0o7777).toString(8).padStart(3, '0')}`;
  const o: Record<string, unknown> = { path: showName(f.path), kind: f.kind, size: f.size, mode, mtime: isoTime(f.mtimeMs) };
  if (f.sha256) o.sha256 = toHex(f.sha256);
  if (!isPlainName(f.path)) o.pathBytes = encodeName(f.path).toString('base64');
  if (f.target !== undefined) o.target = showName(f.target);
  const t = taeColumns(f);
  if (t) o.taeList = t;
  return o;
}

/** A backup's header fields in JSON. */
export function backupJson(m: Manifest): Record<string, unknown> {
  const o: Record<string, unknown> = {
    id: m.id,
    type: m.type,
    source: String(m.source.kind ?? ''),
    startedAt: isoTime(m.startedAt),
    completedAt: isoTime(m.completedAt),
    totalBytes: m.logicalSize,
    logicalSize: m.logicalSize, // the name before totalBytes, kept (spec/browse.md)
    files: m.files.filter((f) => f.kind === 'file').length,
  };
  if (m.baseId) o.baseId = m.baseId;
  if (m.backupTs) o.backupTs = m.backupTs;
  return o;
}

/** `find`: per backup (newest first) its ID, completion time, then the matching entries, long form. */
export function renderFind(hits: { manifest: Manifest; where: string; entries: FileEntry[] }[], pattern: string, searched: number): string {
  if (hits.length === 0) return `no backup holds a path matching ${pattern} (${searched} searched)\n`;
  return hits
    .map((h) => {
      const lines = renderLs(h.entries, { long: true, server: false }).split('\n').slice(1);
      return `backup ${h.manifest.id}  ${isoTime(h.manifest.completedAt)}  ${h.where}\n${lines.map((l) => (l ? `  ${l}` : l)).join('\n')}`;
    })
    .join('\n');
}

const sizeOf = (f: FileEntry) => (f.kind === 'file' ? String(f.size) : f.kind);

/**
 * `diff A B`: +/-/M/U lines, then totals and what B added to the repository. One vocabulary
 * (src/cli/summary.ts): entries are new, removed or changed; only bytes stored are "added".
 */
export function renderDiff(a: Manifest, b: Manifest, d: ManifestDiff, added: AddedBytes): string {
  const rows: string[][] = [
    ...d.added.map((f) => ['+', sizeOf(f), shownPath(f)]),
    ...d.removed.map((f) => ['-', sizeOf(f), shownPath(f)]),
    ...d.changed.map((c: EntryChange) => {
      const why = c.what === 'content' ? `  (was ${sizeOf(c.before)})` : '  (mode or mtime)';
      return [c.what === 'content' ? 'M' : 'U', sizeOf(c.after), `${shownPath(c.after)}${why}`];
    }),
  ].sort((x, y) => (x[2] < y[2] ? -1 : x[2] > y[2] ? 1 : 0));
  const bytes = (fs: FileEntry[]) => fs.reduce((s, f) => s + (f.kind === 'file' ? f.size : 0), 0);
  const content = d.changed.filter((c) => c.what === 'content');
  let out = `comparing backup ${a.id} (${isoTime(a.completedAt)})\n     with backup ${b.id} (${isoTime(b.completedAt)})\n\n`;
  out += rows.length ? columns(rows, new Set([1])) : 'no differences\n';
  out += `\nnew:     ${d.added.length} entries, ${bytes(d.added)} bytes\n`;
  out += `removed: ${d.removed.length} entries, ${bytes(d.removed)} bytes\n`;
  out += `changed: ${content.length} entries, ${bytes(content.map((c) => c.before))} -> ${bytes(content.map((c) => c.after))} bytes; `;
  out += `${d.changed.length - content.length} with only mode or mtime changed\n`;
  out += `added to the repository by ${b.id}: ${added.storedBytes} bytes stored (${added.rawBytes} plain) in ${added.chunks} chunks `;
  out += `that no backup completed before it references (${added.olderBackups.length} older backups)\n`;
  if (added.unindexed > 0) out += `warning: ${added.unindexed} of these chunks are in no index (missing data; run mo_br check)\n`;
  return out;
}
