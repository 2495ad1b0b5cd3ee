/**
 * Time decides through the Clock (issue #21.3): `src/` reads the wall clock only through
 * `src/util/clock.ts` (the injected Clock, or its `systemClock`, which the test hook
 * MOBR_TEST_CLOCK_SKEW_FILE moves), so a test can move time instead of sleeping, and a clock set
 * back or forward moves every decision together. Waits and durations use the monotonic clock
 * (`performance.now()`, `process.hrtime`), which no clock jump bends.
 *
 * Read with the compiler: `Date.now` (called or passed on), `new Date()` with no argument and
 * `Date()` called as a function are refused outside ALLOWED. Likewise a timed wait is
 * `sleep` (src/util/sleep.ts: ends early when its signal fires), not a `new Promise` around
 * `setTimeout` written again (issue #21.4: it was written three times).
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'src');

/** src-relative file -> why it may read the system clock itself. Keep it this small. */
const ALLOWED = new Map<string, string>([['util/clock.ts', 'the system clock itself: every other reading goes through it']]);

function sources(rel = ''): string[] {
  return readdirSync(path.join(SRC, rel), { withFileTypes: true }).flatMap((e) => {
    const r = rel ? `${rel}/${e.name}` : e.name;
    return e.isDirectory() ? sources(r) : e.name.endsWith('.ts') ? [r] : [];
  });
}

/** Where a source text reads the wall clock bare: `src/<file>:<line> <what>`. */
function bareClockReads(rel: string, text: string): string[] {
  const sf = ts.createSourceFile(rel, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: string[] = [];
  const at = (n: ts.Node) => `src/${rel}:${sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1}`;
  const isDate = (e: ts.Expression) => ts.isIdentifier(e) && e.text === 'Date';
  /** `new Promise((r) => setTimeout(r, ms))` and its spellings: the executor hands its resolve to a timer. */
  const resolvesOnTimer = (p: ts.NewExpression): boolean => {
    const exec = p.arguments?.[0];
    if (!exec || !(ts.isArrowFunction(exec) || ts.isFunctionExpression(exec)) || !exec.parameters[0]) return false;
    const resolve = exec.parameters[0].name.getText(sf);
    let found = false;
    const look = (n: ts.Node): void => {
      if (ts.isCallExpression(n) && n.expression.getText(sf) === 'setTimeout' && n.arguments[0]) {
        const cb = n.arguments[0].getText(sf).replace(/\s+/g, '');
        if (cb === resolve || cb === `()=>${resolve}()`) found = true;
      }
      ts.forEachChild(n, look);
    };
    look(exec);
    return found;
  };
  const visit = (node: ts.Node): void => {
    if (ts.isPropertyAccessExpression(node) && isDate(node.expression) && node.name.text === 'now') out.push(`${at(node)} Date.now`);
    if (ts.isNewExpression(node) && isDate(node.expression) && (node.arguments?.length ?? 0) === 0) out.push(`${at(node)} new Date()`);
    if (ts.isCallExpression(node) && isDate(node.expression)) out.push(`${at(node)} Date()`);
    if (ts.isElementAccessExpression(node) && isDate(node.expression)) out.push(`${at(node)} Date[…]`);
    if (ts.isNewExpression(node) && node.expression.getText(sf) === 'Promise' && resolvesOnTimer(node)) out.push(`${at(node)} a sleep of its own`);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

describe('time decides through the Clock', () => {
  it('src/ reads the wall clock only through src/util/clock.ts, and waits only through src/util/sleep.ts', () => {
    const files = sources();
    expect(files).toContain('util/clock.ts');
    const found = files.filter((f) => !ALLOWED.has(f)).flatMap((f) => bareClockReads(f, readFileSync(path.join(SRC, f), 'utf8')));
    expect(found).toEqual([]);
  });

  it('every allowed file still reads it (the list only shrinks)', () => {
    const stale = [...ALLOWED.keys()].filter((f) => bareClockReads(f, readFileSync(path.join(SRC, f), 'utf8')).length === 0);
    expect(stale).toEqual([]);
  });

  it('can fail: each way of reading the clock bare is caught, a given time is not', () => {
    const planted = [
      'const t = Date.now();',
      'const f = Date.now;',
      'const d = new Date();',
      'const s = Date();',
      "const g = Date['now']();",
      'await new Promise((r) => setTimeout(r, 10));',
      'await new Promise<void>((resolve) => { setTimeout(() => resolve(), 10); });',
      'await new Promise((resolve) => { const t = setTimeout(() => child.kill(), 10); child.on("exit", resolve); });',
      'const ok = new Date(0).toISOString() + new Date(ms).getTime() + performance.now() + clock.now();',
    ].join('\n');
    expect(bareClockReads('x/y.ts', planted)).toEqual(['src/x/y.ts:1 Date.now', 'src/x/y.ts:2 Date.now', 'src/x/y.ts:3 new Date()', 'src/x/y.ts:4 Date()', 'src/x/y.ts:5 Date[…]', 'src/x/y.ts:6 a sleep of its own', 'src/x/y.ts:7 a sleep of its own']);
  });
});
