/**
 * CSV in Go's encoding/csv dialect, as MatrixOne and mo_br write it: comma separated, `\n` line
 * ends, `"` doubled inside quotes. A field is quoted when it holds a comma, a quote, CR or LF, when
 * its first character is a Unicode space (Go's unicode.IsSpace: U+0085 is one, U+FEFF is not),
 * or when it is exactly `\.`; the empty field never is. Pure; malformed input is
 * MobrError('CORRUPT', '<file> line <n>: <what>'), nothing else is thrown.
 */
import { MobrError } from '../errors.js';

function corrupt(where: string, what: string): MobrError {
  return new MobrError('CORRUPT', `${where}: ${what}`);
}

/** A first character Go's unicode.IsSpace calls a space (JavaScript's \s differs: it has U+FEFF, lacks U+0085). */
const GO_SPACE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;

function needsQuotes(f: string): boolean {
  if (f === '') return false;
  if (f === '\\.') return true;
  if (/[",\r\n]/.test(f)) return true;
  return GO_SPACE.test(f);
}

/** Writes records the way Go's csv.Writer does (UseCRLF=false). */
export function formatCsv(rows: readonly (readonly string[])[]): string {
  let out = '';
  for (const row of rows) {
    out += row.map((f) => (needsQuotes(f) ? `"${f.replace(/"/g, '""')}"` : f)).join(',') + '\n';
  }
  return out;
}

/**
 * Parses CSV text into records. `fields` is the exact field count every record must have.
 * Blank lines are skipped (as Go's reader does); a trailing record without `\n` is accepted.
 */
export function parseCsv(text: string, file: string, fields: number): string[][] {
  return parseCsvLines(text, file, fields).map((r) => r.fields);
}

interface CsvRecord {
  fields: string[];
  line: number;
}

/**
 * Records with their first line numbers. `fields`: the exact field count, or the counts allowed
 * (every record of the file must then have the same one, as Go's reader demands), or undefined
 * for any count per record (Go's FieldsPerRecord = -1).
 */
export function parseCsvLines(text: string, file: string, fields?: number | readonly number[]): CsvRecord[] {
  const allowed = typeof fields === 'number' ? [fields] : fields;
  let want: number | undefined;
  const rows: CsvRecord[] = [];
  let i = 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    if (text[i] === '\n') { i++; line++; continue; }
    if (text[i] === '\r' && text[i + 1] === '\n') { i += 2; line++; continue; }
    const startLine = line;
    const rec: string[] = [];
    for (;;) {
      let field = '';
      if (text[i] === '"') {
        i++;
        for (;;) {
          if (i >= n) throw corrupt(`${file} line ${startLine}`, 'unterminated quoted field');
          const c = text[i]!;
          if (c === '"') {
            if (text[i + 1] === '"') { field += '"'; i += 2; continue; }
            i++;
            break;
          }
          if (c === '\n') line++;
          field += c;
          i++;
        }
        if (i < n && text[i] !== ',' && text[i] !== '\n' && !(text[i] === '\r' && text[i + 1] === '\n')) {
          throw corrupt(`${file} line ${line}`, 'extraneous character after quoted field');
        }
      } else {
        while (i < n && text[i] !== ',' && text[i] !== '\n' && !(text[i] === '\r' && text[i + 1] === '\n')) {
          if (text[i] === '"') throw corrupt(`${file} line ${line}`, 'bare quote in unquoted field');
          field += text[i];
          i++;
        }
      }
      rec.push(field);
      if (i < n && text[i] === ',') { i++; continue; }
      break;
    }
    if (want === undefined && allowed?.includes(rec.length)) want = rec.length;
    if (allowed !== undefined && rec.length !== want) {
      throw corrupt(`${file} line ${startLine}`, `expected ${want ?? allowed.join(' or ')} fields, found ${rec.length}`);
    }
    rows.push({ fields: rec, line: startLine });
  }
  return rows;
}
