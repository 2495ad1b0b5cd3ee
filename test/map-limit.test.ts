/**
 * src/util/concurrency.ts: the one "at most N at once" helper (its guarantees, as callers rely on
 * them), and the rule that every limit passed to it is one of the named ones (issue #21.4).
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { mapLimit } from '../src/util/concurrency.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('mapLimit', () => {
  it('runs every item once, never more than `limit` at once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 30 }), fc.integer({ min: 1, max: 5 }), async (delays, limit) => {
        let running = 0;
        let peak = 0;
        const seen: number[] = [];
        await mapLimit(delays, limit, async (d, i) => {
          running++;
          peak = Math.max(peak, running);
          await sleep(d);
          seen.push(i);
          running--;
        });
        expect(seen.sort((a, b) => a - b)).toEqual(delays.map((_, i) => i));
        expect(peak).toBeLessThanOrEqual(limit);
      }),
      { numRuns: 40 },
    );
  });

  it('on a failure starts nothing more, lets running items finish, then throws the first failure', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    const p = mapLimit([0, 1, 2, 3, 4, 5, 6, 7], 3, async (_x, i) => {
      started.push(i);
      if (i === 1) throw new Error('first');
      if (i === 2) {
        await sleep(5);
        throw new Error('second');
      }
      await sleep(20);
      finished.push(i);
    });
    await expect(p).rejects.toThrow('first');
    // 0 and 2 were running when 1 failed; 3 may have started in 1's lane before it noticed: none after
    expect(started.length).toBeLessThanOrEqual(4);
    expect(finished.sort()).toEqual(started.filter((i) => i !== 1 && i !== 2).sort());
  });

  it('names each item\'s lane: below limit, one item at a time per lane', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 30 }), fc.integer({ min: 1, max: 5 }), async (delays, limit) => {
        const busy = new Set<number>();
        await mapLimit(delays, limit, async (d, _i, lane) => {
          expect(lane).toBeGreaterThanOrEqual(0);
          expect(lane).toBeLessThan(limit);
          expect(busy.has(lane)).toBe(false);
          busy.add(lane);
          await sleep(d);
          busy.delete(lane);
        });
      }),
      { numRuns: 30 },
    );
  });
});

/** The limit argument of each mapLimit(…), new Semaphore(…) and new WorkerPool(…) (its threads) in a source text that holds a bare number. */
function literalLimits(file: string, text: string): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: string[] = [];
  const ARITHMETIC = new Set([ts.SyntaxKind.PlusToken, ts.SyntaxKind.MinusToken, ts.SyntaxKind.AsteriskToken]);
  // a number, or a sum/product with one (threads + 2); floors such as Math.max(1, …) and `?? 1` are not limits
  const hasNumber = (n: ts.Node): boolean =>
    ts.isNumericLiteral(n) || (ts.isParenthesizedExpression(n) && hasNumber(n.expression)) || (ts.isBinaryExpression(n) && ARITHMETIC.has(n.operatorToken.kind) && (hasNumber(n.left) || hasNumber(n.right)));
  const visit = (node: ts.Node): void => {
    const callee = ts.isCallExpression(node) || ts.isNewExpression(node) ? node.expression.getText(sf) : undefined;
    const first = ts.isNewExpression(node) && (callee === 'Semaphore' || callee === 'WorkerPool') ? node.arguments?.[0] : undefined;
    const limit = callee === 'mapLimit' ? (node as ts.CallExpression).arguments[1] : first;
    if (limit && hasNumber(limit)) out.push(`${file}:${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1}: ${limit.getText(sf)}`);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

describe('concurrency limits and thread counts are named (src/util/concurrency.ts), never a bare number at the call', () => {
  const SRC = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'src');
  const files = (readdirSync(SRC, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts') && f !== path.join('util', 'concurrency.ts'));
  const texts = files.map((f) => [`src/${f}`, readFileSync(path.join(SRC, f), 'utf8')] as const);

  it('no call in src/ passes a number literal as its limit', () => {
    expect(files.length).toBeGreaterThan(40);
    const calling = texts.filter(([, t]) => /mapLimit\(|Semaphore\(|WorkerPool\(/.test(t)); // parse only those
    expect(calling.length).toBeGreaterThan(10);
    expect(calling.flatMap(([f, t]) => literalLimits(f, t))).toEqual([]);
  });

  it('can fail: a literal limit, a sum with a literal, a literal semaphore and a literal thread count are named; named ones are not', () => {
    const text = 'await mapLimit(xs, 2, f);\nawait mapLimit(xs, pool.threads + 1, f);\nnew Semaphore(4);\nawait mapLimit(xs, SMALL_READS, f);\nnew Semaphore(o.n ?? S3_REQUESTS);\nmapLimit(xs, Math.max(1, o.n ?? 1), f);\n' +
      'new WorkerPool(2);\nnew WorkerPool(SYNC_THREADS);\nnew WorkerPool();\nnew WorkerPool(o.parallelism ?? cores, { inline });';
    expect(literalLimits('src/demo.ts', text)).toEqual(['src/demo.ts:1: 2', 'src/demo.ts:2: pool.threads + 1', 'src/demo.ts:3: 4', 'src/demo.ts:7: 2']);
  });
});
