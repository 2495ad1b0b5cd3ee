/**
 * No dead export (issue #21.4): an exported name of a file in src/ is imported by another file
 * (src/, test/, bench/ or the launcher ./mo_br), re-exported by one, used in its own file, or is
 * the library's public API (src/index.ts). An export neither imported nor used is dead code:
 * delete it. Exports used only in their own file need no `export`; OWN_ONLY_MAX caps how many
 * there are (the number only goes down).
 *
 * Read with the compiler, file by file: exports are declarations with `export` (functions,
 * classes, interfaces, types, enums, variables), `export { … }` and `export default`; imports are
 * named, default and namespace imports (a namespace, `export *` or an `import()` counts as
 * using every name of the file), `export { … } from` and `import('…')` types, resolved by path
 * ('mobr' is src/index.ts). ALLOWED names the exports used another way, each with why.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = path.join(path.dirname(new URL(import.meta.url).pathname), '..');

/** `src/<file>:<name>` -> why it is exported though no file imports it. */
const ALLOWED = new Map<string, string>([
  ['src/workers/chunk-worker.ts:default', 'piscina loads the worker file by its path and calls its default export'],
]);

/** Files being written this session by another lane, whose exports are not wired in yet: not checked. */
const IN_FLIGHT = new Map<string, string>([
  ['src/crypto/', 'issue #23 (helpers seal, keys): key files and sealing, being wired in'],
  ['src/repo/sealed.ts', 'issue #23 (helper seal): the sealed-object format, being rewritten'],
  ['src/cli/repo-password.ts', 'issue #23 (helper keys): password sources, being wired in'],
]);

/** Exports imported by no other file but used in their own (the `export` is not needed); only goes down. */
const OWN_ONLY_MAX = 55;

function filesUnder(rel: string): string[] {
  return readdirSync(path.join(ROOT, rel), { withFileTypes: true }).flatMap((e) => {
    const r = `${rel}/${e.name}`;
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'fixtures' || e.name === 'golden' ? [] : filesUnder(r);
    return /\.(ts|mts|js|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts') ? [r] : [];
  });
}

const parsed = new Map<string, ts.SourceFile>();
/** Each text parsed once (the three readings below share it). */
function parse(file: string, text: string): ts.SourceFile {
  const key = `${file}\0${text}`;
  let sf = parsed.get(key);
  if (!sf) parsed.set(key, (sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS)));
  return sf;
}

const hasExport = (n: ts.Node) => ts.canHaveModifiers(n) && (ts.getModifiers(n) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
const hasDefault = (n: ts.Node) => ts.canHaveModifiers(n) && (ts.getModifiers(n) ?? []).some((m) => m.kind === ts.SyntaxKind.DefaultKeyword);

/** The names a source file exports (its own, not those it re-exports from another file). */
export function exportsOf(file: string, text: string): string[] {
  const sf = parse(file, text);
  const out: string[] = [];
  for (const s of sf.statements) {
    if (ts.isExportDeclaration(s) && !s.moduleSpecifier && s.exportClause && ts.isNamedExports(s.exportClause)) for (const e of s.exportClause.elements) out.push(e.name.text);
    else if (ts.isExportAssignment(s)) out.push('default');
    else if (hasExport(s) && hasDefault(s)) out.push('default');
    else if (hasExport(s) && ts.isVariableStatement(s)) for (const d of s.declarationList.declarations) out.push(...bindingNames(d.name));
    else if (hasExport(s) && (ts.isFunctionDeclaration(s) || ts.isClassDeclaration(s) || ts.isInterfaceDeclaration(s) || ts.isTypeAliasDeclaration(s) || ts.isEnumDeclaration(s)) && s.name) out.push(s.name.text);
  }
  return out;
}

function bindingNames(n: ts.BindingName): string[] {
  if (ts.isIdentifier(n)) return [n.text];
  return n.elements.flatMap((e) => (ts.isOmittedExpression(e) ? [] : bindingNames(e.name)));
}

/** What a file imports: [specifier, name or '*'] pairs. */
export function importsOf(file: string, text: string): [string, string][] {
  const sf = parse(file, text);
  const out: [string, string][] = [];
  const lit = (n: ts.Node | undefined) => (n && (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) ? n.text : undefined);
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const spec = lit(node.moduleSpecifier)!;
      const c = node.importClause;
      if (c?.name) out.push([spec, 'default']);
      if (c?.namedBindings && ts.isNamespaceImport(c.namedBindings)) out.push([spec, '*']);
      if (c?.namedBindings && ts.isNamedImports(c.namedBindings)) for (const e of c.namedBindings.elements) out.push([spec, (e.propertyName ?? e.name).text]);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
      const spec = lit(node.moduleSpecifier)!;
      if (node.exportClause && ts.isNamedExports(node.exportClause)) for (const e of node.exportClause.elements) out.push([spec, (e.propertyName ?? e.name).text]);
      else out.push([spec, '*']);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      const spec = lit(node.argument.literal);
      const q = node.qualifier && ts.isIdentifier(node.qualifier) ? node.qualifier.text : '*';
      if (spec) out.push([spec, q]);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const spec = lit(node.arguments[0]);
      if (spec) out.push([spec, '*']);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** The repository-relative src file a specifier names from `from`, or undefined (a package, or not in src/). */
function resolveSpec(from: string, spec: string): string | undefined {
  if (spec === 'mobr') return 'src/index.ts';
  if (!spec.startsWith('.')) return undefined;
  const p = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec)).replace(/\.js$/, '.ts');
  return p.startsWith('src/') ? p : undefined;
}

/** How often each identifier appears in a file (a name seen once is only its declaration). */
function identifierCounts(file: string, text: string): Map<string, number> {
  const sf = parse(file, text);
  const n = new Map<string, number>();
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node)) n.set(node.text, (n.get(node.text) ?? 0) + 1);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return n;
}

/** Exports no other file imports, as `src/<file>:<name>`: those used nowhere (dead) and those used only in their own file. */
function unusedExports(texts: ReadonlyMap<string, string>): { dead: string[]; ownOnly: string[] } {
  const used = new Map<string, Set<string>>();
  for (const [f, t] of texts) {
    for (const [spec, name] of importsOf(f, t)) {
      const target = resolveSpec(f, spec);
      if (!target || target === f) continue;
      if (!used.has(target)) used.set(target, new Set());
      used.get(target)!.add(name);
    }
  }
  const dead: string[] = [];
  const ownOnly: string[] = [];
  for (const [f, t] of texts) {
    if (!f.startsWith('src/') || f === 'src/index.ts' || [...IN_FLIGHT.keys()].some((k) => f.startsWith(k))) continue; // index.ts: the public API
    const u = used.get(f);
    if (u?.has('*')) continue;
    const names = exportsOf(f, t).filter((name) => !u?.has(name) && !ALLOWED.has(`${f}:${name}`));
    const counts = names.length > 0 ? identifierCounts(f, t) : undefined;
    for (const name of names) ((counts!.get(name) ?? 0) > 1 ? ownOnly : dead).push(`${f}:${name}`);
  }
  return { dead: dead.sort(), ownOnly: ownOnly.sort() };
}

describe('exports', () => {
  it('every export in src/ is imported somewhere, used in its file, or is the public API', () => {
    const files = [...filesUnder('src'), ...filesUnder('test'), ...filesUnder('bench')];
    const texts = new Map(files.map((f) => [f, readFileSync(path.join(ROOT, f), 'utf8')]));
    texts.set('mo_br', readFileSync(path.join(ROOT, 'mo_br'), 'utf8').replaceAll('./dist/src/', './src/').replace(/^#!.*\n/, ''));
    expect(texts.size).toBeGreaterThan(100);
    const { dead, ownOnly } = unusedExports(texts);
    expect(dead).toEqual([]);
    expect(ownOnly.length, `exported but used only in their own file:\n${ownOnly.join('\n')}`).toBeLessThanOrEqual(OWN_ONLY_MAX);
    const stale = [...ALLOWED.keys()].filter((k) => {
      const [f, name] = k.split(':') as [string, string];
      return !texts.has(f) || !exportsOf(f, texts.get(f)!).includes(name);
    });
    expect(stale).toEqual([]);
  });

  it('can fail: an export nobody imports is named; named, default, namespace, re-export and type imports count', () => {
    const texts = new Map([
      ['src/a.ts', 'export function used() {}\nexport const [x, { y }] = f();\nexport function unused() {}\nfunction local() {}\nexport { local };\nexport default 1;\nexport interface T {}'],
      ['src/b.ts', "import d, { used, x } from './a.js';\nexport { y } from './a.js';\ntype Q = import('./a.js').T;\nexport type Z = 1;"],
      ['src/c.ts', 'export const c = 1;'],
      ['test/c.test.ts', "import * as all from '../src/c.js';\nimport { Z } from '../src/b.js';"],
    ]);
    expect(unusedExports(texts)).toEqual({ dead: ['src/a.ts:unused'], ownOnly: ['src/a.ts:local'] });
  });
});
