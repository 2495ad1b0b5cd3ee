/**
 * What the tests load.
 * - The emulator stands in for a real MatrixOne: it must not share code with mobr, or a mistake
 *   made once would hide itself on both sides. No file under test/emulator/ may import src/.
 * - A test exercises the source it tests (issue #21.3): it loads src/ (in a child process through
 *   tsx's loader, as src/workers/pool.ts loads its worker), never the compiled dist/src/, which a
 *   change to src/ leaves stale until the next build. DIST_LOADERS names the files that load
 *   dist/src/ all the same, each with why; the list only shrinks.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { ROOT } from './helpers/cli.js';

const DIR = path.join(ROOT, 'test', 'emulator');
const SRC = path.join(ROOT, 'src');

/** Every module specifier of a TS file: static imports/exports, dynamic import(), require(). */
function specifiers(text: string): string[] {
  const out: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)(['"`])([^'"`]+)\1/g;
  for (const m of text.matchAll(re)) out.push(m[2]!);
  return out;
}

describe('the emulator is independent of mobr', () => {
  it('no file under test/emulator/ imports from src/ (or from dist/, the built src)', () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(10);
    const bad: string[] = [];
    for (const f of files) {
      for (const s of specifiers(readFileSync(path.join(DIR, f), 'utf8'))) {
        const target = s.startsWith('.') ? path.resolve(DIR, s) : s;
        if (target.startsWith(SRC + path.sep) || target.startsWith(path.join(ROOT, 'dist') + path.sep) || /(^|\/)(src|dist)\//.test(s)) bad.push(`${f}: ${s}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('the check sees an import of src/ when there is one', () => {
    expect(specifiers("import { frame } from '../../src/mo/framing.js';\nconst x = await import('../../src/x.js');")).toEqual(['../../src/mo/framing.js', '../../src/x.js']);
  });
});

/** test-relative file -> why it loads dist/src/ rather than src/. */
const DIST_LOADERS = new Map<string, string>([
  ['cli-bundle.test.ts', 'the bundle and the launcher\'s choice between it and dist/src/ are what it tests'],
  ['package.test.ts', 'the files the tarball ships'],
  ['cli-ids.test.ts', "README's library example, run as the installed package runs it"],
  ['unused-exports.test.ts', "reads the launcher's text, which names dist/src/"],
  ['cli-meta.test.ts', 'six processes adding to one catalog (it builds dist/ when src/cli/meta.ts is newer)'],
  ['gc-concurrent.test.ts', 'a backup process and a gc process, 20 rounds each (tsx in each would add its start-up)'],
  ['emulator-independence.test.ts', "this guard's planted examples"],
]);

/** Where a test file's code (not its comments) names dist/src/: in a string or template literal. */
function distMentions(file: string, text: string): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: string[] = [];
  const visit = (n: ts.Node): void => {
    if ((ts.isStringLiteralLike(n) || ts.isTemplateLiteralToken(n)) && /(^|[/'"`])dist\/src(\/|$)/.test(n.text)) out.push(`${file}:${sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1}`);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

const testFiles = (dir = path.join(ROOT, 'test'), rel = ''): string[] =>
  readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const r = rel ? `${rel}/${e.name}` : e.name;
    return e.isDirectory() ? testFiles(dir, r) : e.name.endsWith('.ts') ? [r] : [];
  });

describe('tests exercise the source, not dist/', () => {
  const found = testFiles().map((f) => [f, distMentions(f, readFileSync(path.join(ROOT, 'test', f), 'utf8'))] as const);

  it('no test file loads dist/src/ except those DIST_LOADERS names', () => {
    expect(found.length).toBeGreaterThan(100);
    expect(found.filter(([f, at]) => at.length > 0 && !DIST_LOADERS.has(f)).flatMap(([, at]) => at)).toEqual([]);
  });

  it('every file DIST_LOADERS names still loads it (the list only shrinks)', () => {
    const loading = new Set(found.filter(([, at]) => at.length > 0).map(([f]) => f));
    expect([...DIST_LOADERS.keys()].filter((f) => !loading.has(f))).toEqual([]);
  });

  it('can fail: dist/src/ in a string or a template is seen, in a comment or another dist/ it is not', () => {
    const text = [
      "const DIST = path.resolve(here, '../dist/src');",
      'await import(`${ROOT}/dist/src/index.js`);',
      '// the compiled dist/src/ is stale',
      "const single = path.join(ROOT, 'dist/mo_br.mjs');",
      'const lib = `${ROOT}/src/repo/x.js`;',
    ].join('\n');
    expect(distMentions('x.test.ts', text)).toEqual(['x.test.ts:1', 'x.test.ts:2']);
  });
});
