/**
 * The project files a file of src/ imports, read with the TypeScript compiler (any quoting,
 * `export … from`, `import x = require()`, `import()` with a string or template literal, `require`
 * and `createRequire(…)` calls, `import('…')` types): shared by test/layers (the layer rules) and
 * test/import-cycles (no cycle).
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';

export const SRC = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'src');

export function sources(dir = SRC, rel = ''): string[] {
  return readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const r = rel ? `${rel}/${e.name}` : e.name;
    return e.isDirectory() ? sources(dir, r) : e.name.endsWith('.ts') ? [r] : [];
  });
}

/** Files whose non-literal import or require is known: why it cannot name a project file. */
export const DYNAMIC_OK = new Map<string, string>([
  ['util/native.ts', 'requires the N-API binding its caller names (package names only)'],
  ['chunk/zstd.ts', "requires @bokuweb/zstd-wasm's own module.js by path (its WASM heap, which the package does not export)"],
]);

/** An import of a file: its specifier (undefined when not a literal), whether only types, and where. */
export interface Import {
  spec: string | undefined;
  typeOnly: boolean;
  line: number;
}

/** Every import of a source text, read with the compiler (see the header). */
export function importsIn(file: string, text: string): Import[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: Import[] = [];
  const requires = new Set(['require']);
  const add = (node: ts.Node, spec: ts.Node | undefined, typeOnly: boolean) =>
    out.push({ spec: spec && (ts.isStringLiteral(spec) || ts.isNoSubstitutionTemplateLiteral(spec)) ? spec.text : undefined, typeOnly, line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1 });
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const c = node.importClause;
      const named = c?.namedBindings && ts.isNamedImports(c.namedBindings) ? c.namedBindings.elements : undefined;
      const typeOnly = !!c && (c.isTypeOnly || (!c.name && !!named && named.length > 0 && named.every((e) => e.isTypeOnly)));
      add(node, node.moduleSpecifier, typeOnly);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier) add(node, node.moduleSpecifier, node.isTypeOnly);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) add(node, node.moduleReference.expression, node.isTypeOnly);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node, node.argument.literal, true);
    else if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer && ts.isCallExpression(node.initializer) && node.initializer.expression.getText(sf) === 'createRequire') requires.add(node.name.text);
    else if (ts.isCallExpression(node) && (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && requires.has(node.expression.text)))) add(node, node.arguments[0], false);
    else if (ts.isCallExpression(node) && ts.isCallExpression(node.expression) && node.expression.expression.getText(sf) === 'createRequire') add(node, node.arguments[0], false);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** The src-relative .ts file an import names; undefined for a package (node:fs, @aws-sdk/…). */
export function resolve(from: string, spec: string): string | undefined {
  if (spec === 'mobr' || spec.startsWith('mobr/')) return 'index.ts'; // the package's own entry
  if (!spec.startsWith('.')) return undefined;
  return path.posix.normalize(path.posix.join(path.posix.dirname(from), spec)).replace(/\.js$/, '.ts');
}

/** Project files a file imports, as src-relative .ts paths; a non-literal specifier as '<dynamic>'. */
export function importsOf(rel: string): string[] {
  return importsIn(rel, readFileSync(path.join(SRC, rel), 'utf8')).flatMap((i) => {
    if (i.spec === undefined) return DYNAMIC_OK.has(rel) ? [] : ['<dynamic>'];
    const r = resolve(rel, i.spec);
    return r === undefined ? [] : [r];
  });
}
