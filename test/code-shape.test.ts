/**
 * Functions stay short (HELPERS.md / style: "functions under ~100 lines"): every function, method,
 * constructor, accessor and arrow in `src/**\/*.ts` whose body spans more than MAX_BODY_LINES
 * lines fails this test, named by file, name and line. A body's span runs from the line of its
 * opening `{` (or of an arrow's expression) to the line of its end, both included.
 *
 * ALLOWED lists the few still being split, each with its owner. The list can only shrink: an
 * entry whose function is no longer too long (or no longer exists) fails too, so whoever splits
 * it deletes the entry.
 *
 * Kopia's other limits (its golangci funlen and gocyclo), measured with the compiler too:
 *  - statements per function: at most MAX_STATEMENTS (a nested function's statements are its own);
 *  - cyclomatic complexity: 1 + each if, loop, case, catch, ?:, &&, || and ?? of the function's
 *    own body, at most MAX_COMPLEXITY (COMPLEX_ALLOWED: the ones over either limit still to split;
 *    the list only shrinks);
 *  - line width: at most MAX_LINE characters; LONG_LINES caps, per file, the lines already
 *    longer when this rule came (a file may not gain one; a file not listed may have none; a
 *    number above the file's count fails too, so the caps only go down).
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'src');
const MAX_BODY_LINES = 100;
const MAX_STATEMENTS = 60;
const MAX_COMPLEXITY = 25;
const MAX_LINE = 160;

/** `src/<file>:<name>` over MAX_COMPLEXITY or MAX_STATEMENTS -> who splits it. */
const COMPLEX_ALLOWED = new Map<string, string>([
  ['src/cli/argv.ts:applyConfig', 'fresh (issue #21)'],
  ['src/mo/ingest-plan.ts:planIngest', 'fresh (issue #21)'],
  ['src/util/csv.ts:parseCsvLines', 'fresh (issue #21)'],
  ['src/util/names.ts:seqLength', 'fresh (issue #21)'],
]);

/** src file -> how many of its lines are over MAX_LINE (they may only go; a file with fewer lowers its number). */
const LONG_LINES = new Map<string, number>([
  ['src/backup/backup.ts', 5],
  ['src/backup/dry-run.ts', 3],
  ['src/backup/paths.ts', 1],
  ['src/backup/restore.ts', 3],
  ['src/backup/verify-packs.ts', 3],
  ['src/backup/verify.ts', 2],
  ['src/chunk/fastcdc.ts', 1],
  ['src/cli/after-run.ts', 1],
  ['src/cli/argv.ts', 4],
  ['src/cli/browse-commands.ts', 5],
  ['src/cli/commands/backup-dry-run.ts', 6],
  ['src/cli/commands/backup-shares.ts', 5],
  ['src/cli/commands/backup.ts', 3],
  ['src/cli/commands/delete.ts', 5],
  ['src/cli/commands/diff.ts', 1],
  ['src/cli/commands/export.ts', 1],
  ['src/cli/commands/find.ts', 1],
  ['src/cli/commands/inspect.ts', 8],
  ['src/cli/commands/meta.ts', 4],
  ['src/cli/commands/prune.ts', 6],
  ['src/cli/commands/restore-dry-run.ts', 1],
  ['src/cli/commands/restore.ts', 6],
  ['src/cli/commands/snapshot.ts', 3],
  ['src/cli/commands/stats.ts', 5],
  ['src/cli/commands/sync.ts', 5],
  ['src/cli/completion.ts', 1],
  ['src/cli/exit.ts', 1],
  ['src/cli/flag-groups.ts', 1],
  ['src/cli/hooks.ts', 3],
  ['src/cli/main.ts', 4],
  ['src/cli/meta-line.ts', 2],
  ['src/cli/metrics.ts', 2],
  ['src/cli/native.ts', 3],
  ['src/cli/open-backup.ts', 2],
  ['src/cli/program.ts', 16],
  ['src/cli/resolve.ts', 2],
  ['src/cli/snapshot-commands.ts', 3],
  ['src/cli/space.ts', 4],
  ['src/cli/stats-html.ts', 9],
  ['src/cli/stores.ts', 1],
  ['src/cli/tree.ts', 1],
  ['src/cli/walk-summary.ts', 2],
  ['src/mo/client.ts', 1],
  ['src/mo/cluster.ts', 5],
  ['src/mo/export.ts', 1],
  ['src/mo/file-index.ts', 1],
  ['src/mo/framing.ts', 1],
  ['src/mo/ingest-plan.ts', 5],
  ['src/mo/ingest.ts', 3],
  ['src/mo/layout.ts', 1],
  ['src/mo/listed-size.ts', 1],
  ['src/mo/placement.ts', 1],
  ['src/mo/read-staged.ts', 1],
  ['src/mo/restore-s3.ts', 3],
  ['src/mo/restore.ts', 3],
  ['src/mo/shared.ts', 3],
  ['src/mo/staged.ts', 1],
  ['src/mo/staging.ts', 1],
  ['src/repo/chunk-index.ts', 1],
  ['src/repo/delete.ts', 1],
  ['src/repo/gc-plan.ts', 1],
  ['src/repo/gc.ts', 4],
  ['src/repo/glob.ts', 2],
  ['src/repo/growth.ts', 1],
  ['src/repo/lock.ts', 4],
  ['src/repo/parts.ts', 5],
  ['src/repo/prune.ts', 3],
  ['src/repo/read-plan.ts', 1],
  ['src/repo/repository.ts', 1],
  ['src/repo/stats.ts', 2],
  ['src/repo/sync-plan.ts', 2],
  ['src/repo/sync.ts', 5],
  ['src/store/fs.ts', 2],
  ['src/store/s3.ts', 3],
  ['src/util/output-path.ts', 2],
  ['src/util/process.ts', 1],
  ['src/workers/files-task.ts', 1],
  ['src/workers/pack-writes.ts', 1],
  ['src/workers/pool.ts', 1],
]);

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

interface Measured {
  key: string;
  line: number;
  statements: number;
  complexity: number;
}

const BRANCHES = new Set([
  ts.SyntaxKind.IfStatement, ts.SyntaxKind.ForStatement, ts.SyntaxKind.ForInStatement, ts.SyntaxKind.ForOfStatement, ts.SyntaxKind.WhileStatement,
  ts.SyntaxKind.DoStatement, ts.SyntaxKind.CaseClause, ts.SyntaxKind.CatchClause, ts.SyntaxKind.ConditionalExpression,
]);
const SHORT_CIRCUITS = new Set([ts.SyntaxKind.AmpersandAmpersandToken, ts.SyntaxKind.BarBarToken, ts.SyntaxKind.QuestionQuestionToken]);

/** Statements and cyclomatic complexity of every function-like node with a body. */
function measure(file: string, text: string): Measured[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: Measured[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      let statements = 0;
      let complexity = 1;
      const own = (m: ts.Node): void => {
        if (ts.isFunctionLike(m)) return; // a nested function is measured on its own
        if (ts.isStatement(m) && !ts.isBlock(m)) statements++;
        if (BRANCHES.has(m.kind) || (ts.isBinaryExpression(m) && SHORT_CIRCUITS.has(m.operatorToken.kind))) complexity++;
        ts.forEachChild(m, own);
      };
      ts.forEachChild(node.body as ts.Node, own);
      out.push({ key: `${file}:${nameOf(node as ts.FunctionLikeDeclaration, sf)}`, line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1, statements, complexity });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

const longLines = (text: string): number => text.split('\n').filter((l) => l.length > MAX_LINE).length;

describe('code shape: statements, complexity and line width (kopia\'s limits)', () => {
  const texts = sources().map((f) => [`src/${f}`, readFileSync(path.join(SRC, f), 'utf8')] as const);
  const measured = texts.flatMap(([f, t]) => measure(f, t));

  it('measures: catches a one-line function of many statements, a branchy one, and long lines', () => {
    const many = `export const f = () => { ${Array.from({ length: 61 }, (_, i) => `g(${i});`).join(' ')} };`;
    const branchy = `function b(x: number) {\n${Array.from({ length: 12 }, (_, i) => `  if (x === ${i} && y) return ${i};`).join('\n')}\n  return x > 0 ? 1 : x ?? 2;\n}`;
    const got = measure('src/demo.ts', `${many}\n${branchy}`);
    expect(got.map((m) => [m.key, m.statements, m.complexity])).toEqual([
      ['src/demo.ts:f', 61, 1],
      ['src/demo.ts:b', 12 * 2 + 1, 1 + 12 * 2 + 1 + 1],
    ]);
    expect(longLines(`${'x'.repeat(MAX_LINE)}\n${'y'.repeat(MAX_LINE + 1)}`)).toBe(1);
  });

  it(`no function has more than ${MAX_STATEMENTS} statements`, () => {
    expect(measured.filter((m) => m.statements > MAX_STATEMENTS && !COMPLEX_ALLOWED.has(m.key)).map((m) => `${m.key} (line ${m.line}): ${m.statements} statements, over ${MAX_STATEMENTS}`)).toEqual([]);
  });

  it(`no function has a cyclomatic complexity over ${MAX_COMPLEXITY}, except the allowed ones being split`, () => {
    expect(measured.filter((m) => m.complexity > MAX_COMPLEXITY && !COMPLEX_ALLOWED.has(m.key)).map((m) => `${m.key} (line ${m.line}): complexity ${m.complexity}, over ${MAX_COMPLEXITY}`)).toEqual([]);
    const over = new Set(measured.filter((m) => m.complexity > MAX_COMPLEXITY || m.statements > MAX_STATEMENTS).map((m) => m.key));
    expect([...COMPLEX_ALLOWED.keys()].filter((k) => !over.has(k)).map((k) => `${k} is within both limits now: remove it from COMPLEX_ALLOWED`)).toEqual([]);
  });

  it(`no file gains a line over ${MAX_LINE} characters`, () => {
    const grown = texts.map(([f, t]) => [f, longLines(t)] as const).filter(([f, n]) => n > (LONG_LINES.get(f) ?? 0));
    expect(grown.map(([f, n]) => `${f}: ${n} lines over ${MAX_LINE} characters (at most ${LONG_LINES.get(f) ?? 0}); wrap the new ones`)).toEqual([]);
  });

  it('LONG_LINES only shrinks: a file with fewer long lines than its number lowers it (or leaves the list)', () => {
    const counts = new Map<string, number>(texts.map(([f, t]) => [f, longLines(t)]));
    const stale = [...LONG_LINES].filter(([f, n]) => (counts.get(f) ?? 0) < n);
    expect(stale.map(([f, n]) => `${f}: ${counts.get(f) ?? 0} lines over ${MAX_LINE} now; set LONG_LINES to that (it says ${n})`)).toEqual([]);
  });
});

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
