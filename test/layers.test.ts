/**
 * The architecture, checked (README "How it works"): every import in `src/` points down the
 * layers below, never up or sideways, as restic's and kopia's package rules do.
 *
 *  -2  errors.ts                                 typed errors
 *  -1  util/                                     tiny helpers (CSV, names, processes, concurrency, clock)
 *   0  hash/, chunk/, source/                    hashing, chunking, compression, a tree walk
 *   1  store/; MatrixOne's own formats (mo/layout, mo/framing, mo/frame-blocks, mo/placement)
 *  1.5 crypto/      encrypted repositories: master keys, key files (password KDF), sealing, keyed ids, secret gear
 *   2  repo/        the repository: packs, index, manifests, gc, prune, sync, stats
 *   3  workers/     the thread pool (chunk, hash, compress, decode)
 *   4  backup/      back up a tree, restore, verify
 *   5  mo/          MatrixOne orchestration: server backups, ingest, restore and export layouts
 *   6  cli/         the mo_br program;
 *      index.ts     the library entry point, beside it: neither imports the other
 * A file may import files of a lower layer, or of its own top folder (a MatrixOne format file
 * only other format files). Within cli/commands/, a command imports no other command (only
 * its own parts, named `<command>-<part>.ts`).
 *
 * Imports are read with the TypeScript compiler (any quoting, `export … from`, `import x =
 * require()`, `import()` with a string or template literal, `require` and `createRequire(…)`
 * calls, `import('…')` types); `import … from 'mobr'` inside src/ is the package's own entry
 * (src/index.ts, the top layer); a specifier that is not a literal is refused except where
 * DYNAMIC_OK says why.
 *
 * Restic's second rule: nothing outside src/repo/ reaches the repository's internals. The pack
 * format, the index files, the sealed-object framing, the store's key layout (keys, plans and
 * parts) are imported only inside repo/ (types excepted), and outside repo/ a repository's
 * `store` is used for its location, its close and its S3 counters only, and its `index` not at
 * all: the Repository's methods are the way in.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { DYNAMIC_OK, importsIn, importsOf, resolve, SRC, sources } from './helpers/src-imports.js';

const MO_FORMATS = new Set(['mo/layout.ts', 'mo/framing.ts', 'mo/frame-blocks.ts', 'mo/placement.ts']);

function layerOf(rel: string): number {
  if (rel === 'index.ts') return 6;
  if (MO_FORMATS.has(rel)) return 1;
  const top = rel.includes('/') ? rel.slice(0, rel.indexOf('/')) : rel;
  const ranks: Record<string, number> = {
    'errors.ts': -2, util: -1, hash: 0, chunk: 0, source: 0, store: 1, crypto: 1.5, repo: 2, workers: 3, backup: 4, mo: 5, cli: 6,
  };
  const r = ranks[top];
  if (r === undefined) throw new Error(`src/${rel}: a folder the layer rules do not know; add it to test/layers.test.ts and the README`);
  return r;
}

/** The repository's internal modules: imported (for more than types) only inside src/repo/. */
const REPO_INTERNALS = new Set(['repo/keys.ts', 'repo/pack.ts', 'repo/index-file.ts', 'repo/sealed.ts', 'repo/parts.ts']);
/** What of an internal module is public, and why. */
const REPO_PUBLIC = new Map<string, string[]>([
  ['repo/pack.ts', ['checkPack']], // checks a pack's bytes against its own header (the verify workers)
  ['repo/parts.ts', ['leftoverShareObjects', 'pendingPlanIds']], // take the Repository: `check`, `backup --join pending`
]);
/** Files outside repo/ still reaching in, each with its issue; the list only shrinks. */
const INTERNALS_ALLOWED = new Map<string, string>([
  ['mo/file-index.ts', 'issue #20.2 (helper mo-gc): writes the file_index into staging in the repository store'],
]);

/** Where a file outside src/repo/ reaches the repository's internals (see the header). */
function internalsReached(rel: string, text: string): string[] {
  if (rel.startsWith('repo/')) return [];
  const out: string[] = [];
  const sf = ts.createSourceFile(rel, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const at = (n: ts.Node) => `src/${rel}:${sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1}`;
  for (const i of importsIn(rel, text)) {
    const target = i.spec === undefined ? undefined : resolve(rel, i.spec);
    if (target && REPO_INTERNALS.has(target) && !i.typeOnly && !REPO_PUBLIC.has(target)) out.push(`src/${rel}:${i.line} imports src/${target}`);
  }
  const isRepo = (e: ts.Expression) => (ts.isIdentifier(e) && e.text === 'repo') || (ts.isPropertyAccessExpression(e) && e.name.text === 'repo');
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && !node.importClause?.isTypeOnly && node.importClause?.namedBindings && ts.isNamedImports(node.importClause.namedBindings)) {
      const target = resolve(rel, (node.moduleSpecifier as ts.StringLiteral).text);
      const pub = target ? REPO_PUBLIC.get(target) : undefined;
      if (pub) for (const e of node.importClause.namedBindings.elements) if (!e.isTypeOnly && !pub.includes((e.propertyName ?? e.name).text)) out.push(`${at(e)} imports ${(e.propertyName ?? e.name).text} from src/${target}`);
    }
    if (ts.isPropertyAccessExpression(node) && isRepo(node.expression) && node.name.text === 'index') out.push(`${at(node)} uses the repository's index`);
    if (ts.isPropertyAccessExpression(node) && isRepo(node.expression) && node.name.text === 'store') {
      const p = node.parent;
      const named = ts.isPropertyAccessExpression(p) && p.expression === node && (p.name.text === 'location' || p.name.text === 'close');
      const counted = ts.isCallExpression(p) && p.expression.getText(sf) === 's3Counts';
      if (!named && !counted) out.push(`${at(node)} uses the repository's store (${p.getText(sf).slice(0, 60)})`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/**
 * Library code leaves the process alone: no removing others' listeners, no writing the
 * environment, no chdir/umask/setMaxListeners (the launcher ./mo_br owns the process).
 */
function processStateTouched(rel: string, text: string): string[] {
  const sf = ts.createSourceFile(rel, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: string[] = [];
  const at = (n: ts.Node) => `src/${rel}:${sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1}`;
  const banned = new Set(['removeAllListeners', 'chdir', 'umask', 'setMaxListeners', 'setUncaughtExceptionCaptureCallback']);
  const visit = (node: ts.Node): void => {
    if (ts.isPropertyAccessExpression(node) && node.expression.getText(sf) === 'process' && banned.has(node.name.text)) out.push(`${at(node)} process.${node.name.text}`);
    if (ts.isBinaryExpression(node) && node.operatorToken.kind >= ts.SyntaxKind.FirstAssignment && node.operatorToken.kind <= ts.SyntaxKind.LastAssignment && /^process\.env\b/.test(node.left.getText(sf))) out.push(`${at(node)} writes ${node.left.getText(sf)}`);
    if (ts.isDeleteExpression(node) && /^process\.env\b/.test(node.expression.getText(sf))) out.push(`${at(node)} deletes ${node.expression.getText(sf)}`);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

describe('layers: dependencies point one way', () => {
  const files = sources();

  it('finds the source tree', () => {
    expect(files.length).toBeGreaterThan(40);
    expect(files).toContain('cli/main.ts');
  });

  it('every import points to a lower layer or the same folder', () => {
    const violations: string[] = [];
    for (const f of files) {
      for (const imp of importsOf(f)) {
        if (imp === '<dynamic>') {
          violations.push(`src/${f} imports or requires a specifier that is not a literal: name the file (or say why in DYNAMIC_OK)`);
          continue;
        }
        if (imp.startsWith('..')) {
          violations.push(`src/${f} imports ${imp}, outside src/`);
          continue;
        }
        const top = (x: string) => (x.includes('/') ? x.slice(0, x.indexOf('/')) : x);
        const sameFolder = f.includes('/') && top(imp) === top(f) && !(MO_FORMATS.has(f) && !MO_FORMATS.has(imp));
        if (sameFolder || layerOf(imp) < layerOf(f)) continue;
        violations.push(`src/${f} (layer ${layerOf(f)}) imports src/${imp} (layer ${layerOf(imp)})`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('a command imports no other command', () => {
    const violations: string[] = [];
    for (const f of files.filter((x) => x.startsWith('cli/commands/'))) {
      const own = path.posix.basename(f, '.ts');
      for (const imp of importsOf(f)) {
        if (!imp.startsWith('cli/commands/')) continue;
        if (!path.posix.basename(imp, '.ts').startsWith(`${own}-`)) violations.push(`src/${f} imports src/${imp}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('nothing outside src/repo/ reaches the repository internals (restic: internal packages)', () => {
    const found = files.filter((f) => !INTERNALS_ALLOWED.has(f)).flatMap((f) => internalsReached(f, readFileSync(path.join(SRC, f), 'utf8')));
    expect(found).toEqual([]);
  });

  it('every file allowed to reach in still does (the list only shrinks: delete an entry once fixed)', () => {
    const stale = [...INTERNALS_ALLOWED.keys()].filter((f) => !files.includes(f) || internalsReached(f, readFileSync(path.join(SRC, f), 'utf8')).length === 0);
    expect(stale).toEqual([]);
  });

  it('can fail: imports in any spelling are read, and each way into the repository is caught', () => {
    const text = [
      `import { a } from "../repo/gc.js";`,
      'const m = await import(`../cli/main.js`);',
      `export * from '../workers/pool.js';`,
      `import { openRepository } from 'mobr';`,
      `import type { X } from '../backup/backup.js';`,
      `import fs = require('../mo/ingest.js');`,
      `const req = createRequire(import.meta.url); req('../backup/restore.js');`,
      `createRequire(import.meta.url)('../mo/export.js');`,
      `const n = await import(name);`,
      `type T = import('../cli/program.js').T;`,
    ].join('\n');
    const got = importsIn('store/x.ts', text).map((i) => [i.spec ?? '<dynamic>', i.typeOnly]);
    expect(got).toEqual([
      ['../repo/gc.js', false], ['../cli/main.js', false], ['../workers/pool.js', false], ['mobr', false], ['../backup/backup.js', true],
      ['../mo/ingest.js', false], ['../backup/restore.js', false], ['../mo/export.js', false], ['<dynamic>', false], ['../cli/program.js', true],
    ]);
    expect(resolve('cli/x.ts', 'mobr')).toBe('index.ts');
    const reach = [
      `import { packKey } from '../repo/keys.js';`,
      `import { type ChunkLocation } from '../repo/index-file.js';`,
      `import { checkPack, decodePackHeader } from '../repo/pack.js';`,
      `await repo.store.get('data/ab');`,
      `this.repo.store.list('index');`,
      `repo.index.has(id);`,
      `log(repo.store.location); await repo.store.close?.(); s3Counts(b.repo.store);`,
    ].join('\n');
    expect(internalsReached('backup/x.ts', reach)).toEqual([
      'src/backup/x.ts:1 imports src/repo/keys.ts',
      'src/backup/x.ts:3 imports decodePackHeader from src/repo/pack.ts',
      "src/backup/x.ts:4 uses the repository's store (repo.store.get)",
      "src/backup/x.ts:5 uses the repository's store (this.repo.store.list)",
      "src/backup/x.ts:6 uses the repository's index",
    ]);
    expect(internalsReached('repo/x.ts', reach)).toEqual([]);
  });

  it('library code changes no process-wide state (listeners, environment, cwd, umask)', () => {
    expect(files.flatMap((f) => processStateTouched(f, readFileSync(path.join(SRC, f), 'utf8')))).toEqual([]);
    const planted = `process.removeAllListeners('warning');\nprocess.env.X ??= '1';\ndelete process.env.Y;\nprocess.off('SIGINT', h);`;
    expect(processStateTouched('cli/x.ts', planted)).toEqual(['src/cli/x.ts:1 process.removeAllListeners', 'src/cli/x.ts:2 writes process.env.X', 'src/cli/x.ts:3 deletes process.env.Y']);
  });

  it('can fail: an upward import is caught', () => {
    expect(layerOf('repo/sync.ts')).toBeLessThan(layerOf('workers/pool.ts'));
    expect(layerOf('mo/layout.ts')).toBeLessThan(layerOf('repo/manifest.ts'));
  });
});
