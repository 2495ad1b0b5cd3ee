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
 * Matching never backtracks: a pattern compiles to a small NFA (one state per pattern character
 * at most) run over the path once, keeping the set of states it can be in, so a match costs at
 * most (path length) × (states) steps whatever the pattern (`*a*a*a*a*b` on a long name
 * included). Patterns longer than MAX_PATTERN characters are refused.
 */
import { MobrError, checkAborted } from '../errors.js';

type GlobMode = 'exact' | 'tree';

export interface Glob {
  pattern: string;
  test(path: string): boolean;
}

/** Longer patterns are refused (bad input): a path is at most 4 KiB (PATH_MAX). */
const MAX_PATTERN = 4096;

/** A character test: a code unit satisfies it or not. */
type Pred = (c: number) => boolean;
const SLASH = 0x2f;
const notSlash: Pred = (c) => c !== SLASH;
const any: Pred = () => true;
const is = (ch: number): Pred => (c) => c === ch;

/** An NFA state: on a character satisfying `pred` go to `out`; `eps` are free moves. */
interface State {
  pred?: Pred;
  out: number;
  eps: number[];
}

/** Builds the NFA left to right; `cur` is the state the next piece starts from. */
class Nfa {
  readonly states: State[] = [{ out: -1, eps: [] }];
  cur = 0;
  private add(): number {
    return this.states.push({ out: -1, eps: [] }) - 1;
  }
  /** One character satisfying pred. */
  one(pred: Pred): void {
    const n = this.add();
    Object.assign(this.states[this.cur], { pred, out: n });
    this.cur = n;
  }
  /** Zero or more characters satisfying pred: a loop state of its own, entered and left freely. */
  many(pred: Pred): void {
    const loop = this.add();
    const exit = this.add();
    this.states[this.cur].eps.push(loop);
    Object.assign(this.states[loop], { pred, out: loop, eps: [exit] });
    this.cur = exit;
  }
  /** What build adds, or nothing (from a fresh state, so no loop of build's is skipped into). */
  optional(build: () => void): void {
    const entry = this.cur;
    const start = this.add();
    this.states[entry].eps.push(start);
    this.cur = start;
    build();
    this.states[entry].eps.push(this.cur);
  }
}

export function compileGlob(pattern: string, mode: GlobMode): Glob {
  if (pattern.length > MAX_PATTERN) throw bad(pattern, `longer than ${MAX_PATTERN} characters`);
  const nfa = new Nfa();
  globNfa(nfa, pattern);
  if (mode === 'tree') nfa.optional(() => (nfa.one(is(SLASH)), nfa.many(any)));
  const accept = nfa.cur;
  const { states } = nfa;
  const mark = new Float64Array(states.length).fill(-1); // the step a state was last added at
  let gen = 0;
  return {
    pattern,
    test: (p) => {
      gen++;
      let now: number[] = [];
      const close = (s: number, into: number[]) => {
        if (mark[s] === gen) return;
        mark[s] = gen;
        into.push(s);
        for (const e of states[s].eps) close(e, into);
      };
      close(0, now);
      for (let i = 0; i < p.length && now.length > 0; i++) {
        const c = p.charCodeAt(i);
        const next: number[] = [];
        gen++;
        for (const s of now) if (states[s].pred?.(c)) close(states[s].out, next);
        now = next;
      }
      return now.includes(accept);
    },
  };
}

function bad(pattern: string, why: string): MobrError {
  return new MobrError('BAD_INPUT', `bad glob ${JSON.stringify(pattern.length > 80 ? `${pattern.slice(0, 80)}…` : pattern)}: ${why}`);
}

/** The whole-path match of a glob, added to nfa. */
function globNfa(nfa: Nfa, pattern: string): void {
  const anchored = pattern.startsWith('/');
  const body = pattern.replace(/^\/+/, '').replace(/\/+$/, '');
  if (body === '') throw bad(pattern, 'empty');
  const segments = body.split(/\/+/).filter((s, i, all) => !(s === '**' && all[i - 1] === '**')); // `**/**` is `**`
  if (!anchored) nfa.optional(() => (nfa.many(any), nfa.one(is(SLASH)))); // may start at any segment
  segments.forEach((seg, i) => {
    const last = i === segments.length - 1;
    const afterStarStar = i > 0 && segments[i - 1] === '**';
    const sep = () => (i > 0 && !afterStarStar ? nfa.one(is(SLASH)) : undefined);
    if (seg === '**') {
      if (segments.length === 1) nfa.many(any);
      else if (last) nfa.optional(() => (nfa.one(is(SLASH)), nfa.many(any)));
      else {
        sep();
        nfa.optional(() => (nfa.many(any), nfa.one(is(SLASH))));
      }
      return;
    }
    sep();
    segmentNfa(nfa, seg, pattern, body);
  });
}

/** One segment: `*`, `?`, classes and escapes; everything else literal. */
function segmentNfa(nfa: Nfa, seg: string, pattern: string, body: string): void {
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i];
    if (c === '*') {
      while (seg[i + 1] === '*') i++;
      nfa.many(notSlash);
    } else if (c === '?') nfa.one(notSlash);
    else if (c === '\\') {
      if (i + 1 >= seg.length) throw bad(pattern, 'ends with a lone \\');
      nfa.one(is(seg.charCodeAt(++i)));
    } else if (c === '[') {
      const end = classEnd(seg, i);
      if (end < 0) throw bad(pattern, /\[[^\]]*\/[^\]]*\]/.test(body) ? "'/' inside [ ]: a class matches one character of a name, never '/'" : 'unclosed [');
      nfa.one(classPred(seg.slice(i + 1, end), pattern));
      i = end;
    } else nfa.one(is(seg.charCodeAt(i)));
  }
}

/** A class's test: `[abc]`, `[a-z]`, `[!a-z]`/`[^a-z]`, `\x` inside; never '/'. */
function classPred(text: string, pattern: string): Pred {
  let inner = text;
  const negated = inner.startsWith('!') || inner.startsWith('^');
  if (negated) inner = inner.slice(1);
  if (inner === '') throw bad(pattern, 'empty [ ]');
  const toks: { c: number; lit: boolean }[] = [];
  for (let i = 0; i < inner.length; i++) toks.push(inner[i] === '\\' && i + 1 < inner.length ? { c: inner.charCodeAt(++i), lit: true } : { c: inner.charCodeAt(i), lit: false });
  // x-y where an unescaped '-' is neither first nor last is a range
  const ranges: [number, number][] = [];
  for (let i = 0; i < toks.length; i++) {
    const dash = toks[i + 1];
    if (dash && dash.c === 0x2d && !dash.lit && i + 2 < toks.length) {
      const [lo, hi] = [toks[i].c, toks[i + 2].c];
      if (lo > hi) throw bad(pattern, `range ${String.fromCharCode(lo)}-${String.fromCharCode(hi)} is reversed (write ${String.fromCharCode(hi)}-${String.fromCharCode(lo)})`);
      ranges.push([lo, hi]);
      i += 2;
    } else ranges.push([toks[i].c, toks[i].c]);
  }
  const inClass = (c: number) => ranges.some(([lo, hi]) => c >= lo && c <= hi);
  return negated ? (c) => c !== SLASH && !inClass(c) : (c) => c !== SLASH && inClass(c);
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

/**
 * The items whose key passes `test`, in order: the work is cut into slices of about 20 ms, with a
 * turn of the event loop and a look at `signal` between them, so Ctrl-C stops a long search.
 */
export async function filterYielding<T>(items: readonly T[], test: (x: T) => boolean, signal?: AbortSignal): Promise<T[]> {
  const out: T[] = [];
  let t0 = performance.now();
  for (let i = 0; i < items.length; i++) {
    if ((i & 255) === 0 && performance.now() - t0 > 20) {
      await new Promise<void>((r) => setImmediate(r));
      checkAborted(signal);
      t0 = performance.now();
    }
    if (test(items[i])) out.push(items[i]);
  }
  return out;
}
