/**
 * No import cycle in src/ (issue #21.4), type-only imports included: a cycle is a sign that a
 * type or a helper lives in the wrong file, and with values in it the order in which ES modules
 * run decides whether a binding is still undefined when it is first used.
 *
 * Imports are read with the compiler (test/helpers/src-imports.ts, as test/layers reads them).
 */
import { describe, expect, it } from 'vitest';
import { importsOf, sources } from './helpers/src-imports.js';

/** The cycles of a graph, one per strongly connected component of more than one file (or a file importing itself), as `a -> b -> a`. */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[] {
  // Tarjan's strongly connected components
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    for (let w = stack.pop()!; ; w = stack.pop()!) {
      onStack.delete(w);
      scc.push(w);
      if (w === v) break;
    }
    if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(pathThrough(graph, new Set(scc)));
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return out.sort();
}

/** One cycle inside a strongly connected component, from its first file in sort order back to it. */
function pathThrough(graph: ReadonlyMap<string, readonly string[]>, scc: ReadonlySet<string>): string {
  const start = [...scc].sort()[0]!;
  const seen = new Map<string, string>(); // file -> the file it was reached from (breadth first)
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!scc.has(w)) continue;
      if (w === start) {
        const back = [v]; // v, the file v was reached from, …, start
        for (let u = v; u !== start; u = seen.get(u)!) back.push(seen.get(u)!);
        return [...back.reverse(), start].join(' -> ');
      }
      if (!seen.has(w)) {
        seen.set(w, v);
        queue.push(w);
      }
    }
  }
  return [...scc].sort().join(' <-> ');
}

describe('import cycles', () => {
  it('src/ has none', () => {
    const graph = new Map(sources().map((f) => [f, importsOf(f).filter((i) => i !== '<dynamic>')] as const));
    expect(graph.size).toBeGreaterThan(40);
    expect(cycles(graph)).toEqual([]);
  });

  it('can fail: a cycle of two, of three and a self-import are each named; a diamond is not a cycle', () => {
    const g = new Map<string, string[]>([
      ['a.ts', ['b.ts']], ['b.ts', ['a.ts', 'c.ts']], ['c.ts', []],
      ['x.ts', ['y.ts']], ['y.ts', ['z.ts']], ['z.ts', ['x.ts']],
      ['s.ts', ['s.ts']],
      ['d1.ts', ['d2.ts', 'd3.ts']], ['d2.ts', ['d4.ts']], ['d3.ts', ['d4.ts']], ['d4.ts', []],
    ]);
    expect(cycles(g)).toEqual(['a.ts -> b.ts -> a.ts', 's.ts -> s.ts', 'x.ts -> y.ts -> z.ts -> x.ts']);
  });
});
