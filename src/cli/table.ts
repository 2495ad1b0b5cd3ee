/**
 * A text table drawn the way Go's github.com/olekukonko/tablewriter (v0.0.5) draws the tables
 * mo_br prints: `+---+` borders, one space of padding, every cell centred (left gap = floor),
 * no lines between rows, and cells longer than 30 columns wrapped by the same
 * minimum-raggedness algorithm (words split on single spaces, so "a  b" keeps its double space).
 */

/** tablewriter's MAX_ROW_WIDTH: cells wider than this are wrapped. */
const MAX_CELL_WIDTH = 30;
/** Penalty for a line longer than the limit (tablewriter's defaultPenalty). */
const OVERLONG_PENALTY = 1e5;

/** Display width: one column per code point (mo_br's cells are ASCII; 'µ' is one column). */
function displayWidth(s: string): number {
  return [...s].length;
}

/** Splits words into lines of at most `lim` columns with minimal raggedness (kr/text WrapWords). */
function wrapWords(words: string[], lim: number): string[][] {
  const n = words.length;
  const widths = words.map(displayWidth);
  const lineLen = (i: number, j: number): number => {
    let len = widths[i];
    for (let k = i + 1; k <= j; k++) len += 1 + widths[k];
    return len;
  };
  const nbrk = new Array<number>(n).fill(0);
  const cost = new Array<number>(n).fill(2 ** 31 - 1);
  for (let i = n - 1; i >= 0; i--) {
    if (lineLen(i, n - 1) <= lim) {
      cost[i] = 0;
      nbrk[i] = n;
      continue;
    }
    for (let j = i + 1; j < n; j++) {
      const len = lineLen(i, j - 1);
      const d = lim - len;
      let c = d * d + cost[j];
      if (len > lim) c += OVERLONG_PENALTY;
      if (c < cost[i]) {
        cost[i] = c;
        nbrk[i] = j;
      }
    }
  }
  const lines: string[][] = [];
  for (let i = 0; i < n; i = nbrk[i]) lines.push(words.slice(i, nbrk[i]));
  return lines;
}

/** tablewriter WrapString: returns the lines (limit grows to the longest word). */
function wrapString(s: string, lim: number): string[] {
  const words = s.replace(/\n/g, ' ').split(' ');
  for (const w of words) lim = Math.max(lim, displayWidth(w));
  return wrapWords(words, lim).map((line) => line.join(' '));
}

/** The lines of one cell and the width it asks of its column (tablewriter parseDimension). */
function cellLines(text: string): { lines: string[]; width: number } {
  const raw = text.split('\n');
  let width = Math.max(...raw.map(displayWidth));
  width = Math.min(width, MAX_CELL_WIDTH);
  const lines: string[] = [];
  raw.forEach((para, i) => {
    const wrapped = wrapString(para, width);
    for (const l of wrapped) width = Math.max(width, displayWidth(l));
    if (i > 0) lines.push(' ');
    lines.push(...wrapped);
  });
  return { lines, width };
}

function centre(s: string, width: number): string {
  const gap = width - displayWidth(s);
  if (gap <= 0) return s;
  const left = Math.floor(gap / 2);
  return ' '.repeat(left) + s + ' '.repeat(gap - left);
}

/**
 * A cell given as its lines is shown line for line, unwrapped, as wide as tablewriter makes a
 * wrapped cell of the same text: its longest line, and at least 30 columns when the text is longer.
 */
function givenLines(lines: string[]): { lines: string[]; width: number } {
  return { lines, width: Math.max(Math.min(displayWidth(lines.join(' ')), MAX_CELL_WIDTH), ...lines.map(displayWidth)) };
}

/**
 * Renders a table; every line ends with '\n'. Headers are shown as given (already upper case). A
 * cell is a string (wrapped as tablewriter does) or its lines, shown as they are.
 */
export function renderTable(headers: string[], rows: (string | string[])[][]): string {
  const widths = headers.map(() => 0);
  const head = headers.map((h, c) => {
    const cell = cellLines(h);
    widths[c] = Math.max(widths[c], cell.width);
    return cell.lines;
  });
  const body = rows.map((row) =>
    headers.map((_, c) => {
      const given = row[c] ?? '';
      const cell = typeof given === 'string' ? cellLines(given) : givenLines(given);
      widths[c] = Math.max(widths[c], cell.width);
      return cell.lines;
    }),
  );
  const border = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+\n`;
  const drawRow = (cells: string[][]): string => {
    const height = Math.max(...cells.map((l) => l.length));
    let out = '';
    for (let line = 0; line < height; line++) {
      out += `|${cells.map((l, c) => ` ${centre(l[line] ?? '', widths[c])} `).join('|')}|\n`;
    }
    return out;
  };
  return border + drawRow(head) + border + body.map(drawRow).join('') + border;
}
