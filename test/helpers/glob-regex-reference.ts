/**
 * The reference for test/glob.test.ts: mobr's former glob compiler, which turned a glob into a
 * JavaScript regular expression (correct, but backtracking: exponential on `*a*a*a*b` against a
 * long name). The NFA matcher in src/repo/glob.ts must agree with it on every pattern it accepts.
 */

type GlobMode = 'exact' | 'tree';

interface Glob {
  pattern: string;
  test(path: string): boolean;
}

export function compileRegexGlob(pattern: string, mode: GlobMode): Glob {
  const re = new RegExp(`^${globSource(pattern)}${mode === 'tree' ? '(?:/.*)?' : ''}$`, 's');
  return { pattern, test: (p) => re.test(p) };
}

function bad(pattern: string, why: string): Error {
  return new Error(`bad glob ${JSON.stringify(pattern.slice(0, 80))}: ${why}`);
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
