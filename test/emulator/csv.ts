/**
 * CSV as Go's encoding/csv writes it (the writer of mo_meta, tae_list, tae_sum in
 * pkg/backup/backup.go ToCsvLine2): comma separated, "\n" line ends, a field is quoted only
 * when it needs it (it holds a comma, a quote, CR or LF, is `\.`, or starts with a Unicode
 * space); quotes inside are doubled; an empty field is written empty. Plus a small reader for
 * the emulator's own use (file_index / file_list at a backup target).
 */
const LEADING_SPACE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u;

function needsQuotes(f: string): boolean {
  if (f === '') return false;
  if (f === '\\.') return true;
  if (/[,"\r\n]/.test(f)) return true;
  return LEADING_SPACE.test(f);
}

export function csvLine(fields: string[]): string {
  return fields.map((f) => (needsQuotes(f) ? `"${f.replaceAll('"', '""')}"` : f)).join(',') + '\n';
}

export function csvLines(rows: string[][]): string {
  return rows.map(csvLine).join('');
}

/** Reads CSV records (quoted fields, doubled quotes, CRLF or LF); blank lines are skipped. */
export function readCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  let any = false;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (c === '"') { quoted = false; i++; continue; }
      field += c;
      i++;
      continue;
    }
    if (c === '"' && field === '') { quoted = true; any = true; i++; continue; }
    if (c === ',') { row.push(field); field = ''; any = true; i++; continue; }
    if (c === '\r' && text[i + 1] === '\n') { i++; continue; }
    if (c === '\n') {
      if (any || field !== '') { row.push(field); rows.push(row); }
      row = []; field = ''; any = false; i++;
      continue;
    }
    field += c;
    any = true;
    i++;
  }
  if (any || field !== '') { row.push(field); rows.push(row); }
  return rows;
}
