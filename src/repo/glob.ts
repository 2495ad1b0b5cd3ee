/**
 * Glob patterns over manifest paths (spec/browse.md §1), as restic's --include / --exclude:
 *  - paths are the manifest's: relative, '/'-separated;
 *  - `*` matches any run of characters inside one segment, `?` one character (never '/'),
 *    `[abc]`, `[a-z]`, `[!a-z]` (or `[^a-z]`) one character of a class, `\x` the character x;
 *  - a segment that is exactly `**` matches zero or more whole segments;
 *  - a pattern starting with '/' is anchored at the root of the backup; any other pattern may
 *    match from any segment on (as if it began with `**\/`); a trailing '/' is ignored;
 *  - mode 'tree' (include/exclude) also matches every path below a matching folder, so
 *    `--include tae/ckp` takes all of tae/ckp; mode 'exact' (find) matches the path alone.
 */
import { MobrError } from '../errors.js';

export type GlobMode = 'exact' | 'tree';

export interface Glob {
  pattern: string;
  test(path: string): boolean;
}

export function compileGlob(pattern: string, mode: GlobMode): Glob {
  const re = new RegExp(`^${globSource(pattern)}${mode === 'tree' ? '(?:/.*)?' : ''}$`, 's');
  return { pattern, test: (p) => re.test(p) };
}

function bad(pattern: string, why: string): MobrError {
  return new MobrError('BAD_INPUT', `bad glob ${JSON.stringify(pattern.slice(0, 80))}: ${why}`);
}

/** The regular expression (without anchors) of a glob's whole-path match. */
function globSource(pattern: string): string {
  const anchored = pattern.startsWith('/');
  const body = pattern.replace(/^\/+/, '').replace(/\/+$/, '');
  if (body === '') throw bad(pattern, 'empty');
  const segments = body.split(/\/+/).filter((s, i, all) => !(s === '**' && all[i - 1] === '**')); // `**/**` is `**`
  let out = anchored ? '' : '(?:.*/)?';
  segments.forEach((seg, i) => {
    const last = i === segments.length - 1;
    const afterStarStar = i > 0 && segments[i - 1] === '**';
    if (seg === '**') {
      if (segments.length === 1) out = '.*';
      else if (last) out += '(?:/.*)?';
      else out += `${i > 0 && !afterStarStar ? '/' : ''}(?:.*/)?`;
      return;
    }
    out += `${i > 0 && !afterStarStar ? '/' : ''}${segmentSource(seg, pattern)}`;
  });
  return out;
}

const SPECIAL = /[.*+?^${}()|[\]\\/]/g;

/** One segment: `*`, `?`, classes and escapes; everything else literal. */
function segmentSource(seg: string, pattern: string): string {
  let out = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i];
    if (c === '*') {
      while (seg[i + 1] === '*') i++;
      out += '[^/]*';
    } else if (c === '?') out += '[^/]';
    else if (c === '\\') {
      if (i + 1 >= seg.length) throw bad(pattern, 'ends with a lone \\');
      out += seg[++i].replace(SPECIAL, '\\$&');
    } else if (c === '[') {
      const end = classEnd(seg, i);
      if (end < 0) throw bad(pattern, 'unclosed [');
      let inner = seg.slice(i + 1, end);
      const negated = inner.startsWith('!') || inner.startsWith('^');
      if (negated) inner = inner.slice(1);
      if (inner === '') throw bad(pattern, 'empty [ ]');
      const escaped = inner.replace(/\\(.)|([\]\\^])/g, (_m, esc: string | undefined, ch: string | undefined) => `\\${esc ?? ch}`);
      out += negated ? `[^/${escaped}]` : `[${escaped}]`;
      i = end;
    } else out += c.replace(SPECIAL, '\\$&');
  }
  return out;
}

/** Index of the `]` closing the class opened at `start` (a `]` right after `[` or `[!` is literal). */
function classEnd(seg: string, start: number): number {
  let i = start + 1;
  if (seg[i] === '!' || seg[i] === '^') i++;
  if (seg[i] === ']') i++;
  for (; i < seg.length; i++) {
    if (seg[i] === '\\') i++;
    else if (seg[i] === ']') return i;
  }
  return -1;
}
