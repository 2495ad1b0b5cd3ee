/**
 * The architecture, checked (README "How it works"): every import in `src/` points down the
 * layers below, never up or sideways, as restic's and kopia's package rules do.
 *
 *  -2  errors.ts                                 typed errors
 *  -1  util/                                     tiny helpers (CSV, names, processes, concurrency, clock)
 *   0  hash/, chunk/, source/                    hashing, chunking, compression, a tree walk
 *   1  store/; MatrixOne's own formats (mo/layout, mo/framing, mo/placement)
 *   2  repo/        the repository: packs, index, manifests, gc, prune, sync, stats
 *   3  workers/     the thread pool (chunk, hash, compress, decode)
 *   4  backup/      back up a tree, restore, verify
 *   5  mo/          MatrixOne orchestration: server backups, ingest, restore and export layouts
 *   6  cli/         the mo_br program;
 *      index.ts     the library entry point, beside it: neither imports the other
 * A file may import files of a lower layer, or of its own top folder (a MatrixOne format file
 * only other format files). Within cli/commands/, a command imports no other command (only
 * its own parts, named `<command>-<part>.ts`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'src');
const MO_FORMATS = new Set(['mo/layout.ts', 'mo/framing.ts', 'mo/placement.ts']);

function layerOf(rel: string): number {
  if (rel === 'index.ts') return 6;
  if (MO_FORMATS.has(rel)) return 1;
  const top = rel.includes('/') ? rel.slice(0, rel.indexOf('/')) : rel;
  const ranks: Record<string, number> = { 'errors.ts': -2, util: -1, hash: 0, chunk: 0, source: 0, store: 1, repo: 2, workers: 3, backup: 4, mo: 5, cli: 6 };
  const r = ranks[top];
  if (r === undefined) throw new Error(`src/${rel}: a folder the layer rules do not know; add it to test/layers.test.ts and the README`);
  return r;
}

function sources(dir = SRC, rel = ''): string[] {
  return readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const r = rel ? `${rel}/${e.name}` : e.name;
    return e.isDirectory() ? sources(dir, r) : e.name.endsWith('.ts') ? [r] : [];
  });
}

/** Relative imports of a file (static, `export … from`, and dynamic `import('…')`), as src-relative .ts paths. */
function importsOf(rel: string): string[] {
  const text = readFileSync(path.join(SRC, rel), 'utf8');
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]!);
  return specs.map((s) => path.posix.normalize(path.posix.join(path.posix.dirname(rel), s)).replace(/\.js$/, '.ts'));
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

  it('can fail: an upward import is caught', () => {
    expect(layerOf('repo/sync.ts')).toBeLessThan(layerOf('workers/pool.ts'));
    expect(layerOf('mo/layout.ts')).toBeLessThan(layerOf('repo/manifest.ts'));
  });
});
