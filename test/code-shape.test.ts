/**
 * Functions stay short (HELPERS.md / style: "functions under ~100 lines"): every function, method,
 * constructor, accessor and arrow in `src/**\/*.ts` whose body spans more than MAX_BODY_LINES
 * lines fails this test, named by file, name and line. A body's span runs from the line of its
 * opening `{` (or of an arrow's expression) to the line of its end, both included.
 *
 * ALLOWED lists the few still being split, each with its owner. The list can only shrink: an
 * entry whose function is no longer too long (or no longer exists) fails too, so whoever splits
 * it deletes the entry.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'src');
const MAX_BODY_LINES = 100;

/** `src/<file>:<name>` -> who is splitting it. */
const ALLOWED = new Map<string, string>([]);

interface LongFunction {
  /** `src/<file>:<name>` */
  key: string;
  line: number;
  lines: number;
}

function sources(dir = SRC, rel = ''): string[] {
  return readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const r = rel ? `${rel}/${e.name}` : e.name;
    return e.isDirectory() ? sources(dir, r) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [r] : [];
  });
}

/** The name a reader would search for: the declaration's own, or what the function is assigned to. */
function nameOf(node: ts.FunctionLikeDeclaration, sf: ts.SourceFile): string {
  if (ts.isConstructorDeclaration(node)) return `${className(node) ?? '<class>'}.constructor`;
  if (node.name) {
    const own = node.name.getText(sf);
    const cls = ts.isClassElement(node) ? className(node) : undefined;
    return cls ? `${cls}.${own}` : own;
  }
  const p = node.parent;
  if (ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p)) return p.name.getText(sf);
  return `<anonymous>`;
}

function className(node: ts.Node): string | undefined {
  const c = node.parent;
  return c && (ts.isClassDeclaration(c) || ts.isClassExpression(c)) ? c.name?.getText() : undefined;
}

/** Every function-like node of a source text whose body spans more than `max` lines. */
function longFunctions(file: string, text: string, max = MAX_BODY_LINES): LongFunction[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: LongFunction[] = [];
  const lineOf = (pos: number) => sf.getLineAndCharacterOfPosition(pos).line + 1;
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const body = node.body as ts.Node;
      const lines = lineOf(body.getEnd()) - lineOf(body.getStart(sf)) + 1;
      if (lines > max) out.push({ key: `${file}:${nameOf(node as ts.FunctionLikeDeclaration, sf)}`, line: lineOf(node.getStart(sf)), lines });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

describe('code shape: no function body over 100 lines', () => {
  const files = sources();
  const found = files.flatMap((f) => longFunctions(`src/${f}`, readFileSync(path.join(SRC, f), 'utf8')));

  it('finds the source tree', () => {
    expect(files.length).toBeGreaterThan(40);
    expect(files).toContain('cli/main.ts');
  });

  it('measures body spans: catches a long function, a long method and a long arrow, by name', () => {
    const body = (n: number) => Array.from({ length: n }, (_, i) => `  x += ${i};`).join('\n');
    const text = [
      `export function long() {\n  let x = 0;\n${body(99)}\n}`, // 102 lines from { to }
      `function fits() {\n${body(98)}\n}`, // 100 lines: allowed
      `class Box {\n  method() {\n    let x = 0;\n${body(100)}\n  }\n}`,
      `const arrow = async () => {\n  let x = 0;\n${body(100)}\n};`,
      `call(() => {\n  let x = 0;\n${body(100)}\n});`,
    ].join('\n');
    const got = longFunctions('src/demo.ts', text);
    expect(got.map((g) => [g.key, g.lines])).toEqual([
      ['src/demo.ts:long', 102],
      ['src/demo.ts:Box.method', 103],
      ['src/demo.ts:arrow', 103],
      ['src/demo.ts:<anonymous>', 103],
    ]);
    expect(got[0].line).toBe(1);
  });

  it('no function in src/ is longer, except the allowed ones being split', () => {
    const over = found.filter((f) => !ALLOWED.has(f.key)).map((f) => `${f.key} (line ${f.line}): body of ${f.lines} lines, over ${MAX_BODY_LINES}; split it into named steps`);
    expect(over).toEqual([]);
  });

  it('every allowed function is still over the limit (the list only shrinks: delete an entry once it is split)', () => {
    const still = new Set(found.map((f) => f.key));
    const stale = [...ALLOWED].filter(([key]) => !still.has(key)).map(([key, owner]) => `${key} (${owner}) is no longer over ${MAX_BODY_LINES} lines: remove it from ALLOWED in test/code-shape.test.ts`);
    expect(stale).toEqual([]);
  });
});
