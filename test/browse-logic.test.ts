/**
 * The pure parts of ls/find/diff/restore --include/stats --html (spec/browse.md): globs against an
 * independent segment matcher, selection, manifest diff, "added bytes", growth series, read plans.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compileGlob } from '../src/repo/glob.js';
import { entriesUnder, selectEntries, selectManifest } from '../src/repo/select.js';
import { addedBytes, chunkSet, diffManifests } from '../src/repo/diff.js';
import { growthSeries } from '../src/repo/growth.js';
import { readPlan } from '../src/repo/read-plan.js';
import type { FileEntry, Manifest } from '../src/repo/manifest.js';
import type { ChunkLocation } from '../src/repo/index-file.js';
import { isMobrError } from '../src/errors.js';

/** Reference: wildcard match of one segment (* any run, ? one character), by backtracking. */
function segMatch(p: string, s: string): boolean {
  if (p === '') return s === '';
  if (p[0] === '*') return segMatch(p.slice(1), s) || (s !== '' && segMatch(p, s.slice(1)));
  return s !== '' && (p[0] === '?' || p[0] === s[0]) && segMatch(p.slice(1), s.slice(1));
}
function segsMatch(p: string[], s: string[], tree: boolean): boolean {
  if (p.length === 0) return s.length === 0 || tree;
  if (p[0] === '**') return s.some((_, k) => segsMatch(p.slice(1), s.slice(k), tree)) || segsMatch(p.slice(1), [], tree);
  return s.length > 0 && segMatch(p[0], s[0]) && segsMatch(p.slice(1), s.slice(1), tree);
}
function reference(pattern: string, path: string, tree: boolean): boolean {
  const anchored = pattern.startsWith('/');
  const p = pattern.replace(/^\/+/, '').split('/');
  const s = path.split('/');
  if (anchored) return segsMatch(p, s, tree);
  return s.some((_, k) => segsMatch(p, s.slice(k), tree));
}

const file = (path: string, size = 1, chunks: number[] = [], extra: Partial<FileEntry> = {}): FileEntry => ({
  path,
  kind: 'file',
  size,
  mode: 0o644,
  mtimeMs: 1_700_000_000_000,
  sha256: new Uint8Array(32).fill(size & 0xff),
  chunks: Uint8Array.from(chunks.flatMap((c) => Array.from({ length: 32 }, () => c))),
  ...extra,
});
const dir = (path: string): FileEntry => ({ path, kind: 'dir', size: 0, mode: 0o755, mtimeMs: 1_700_000_000_000 });
const manifest = (id: string, completedAt: number, files: FileEntry[]): Manifest => ({
  version: 1, id, type: 'full', startedAt: completedAt - 1, completedAt, source: { kind: 'cold' }, files, logicalSize: files.reduce((s, f) => s + f.size, 0), addedBytes: 0,
});
const hex = (c: number) => c.toString(16).padStart(2, '0').repeat(32);
/** Chunk c is stored in 10*c bytes, plain 100*c. */
const lookup = (h: string): ChunkLocation | undefined => {
  const c = parseInt(h.slice(0, 2), 16);
  return c === 0xff ? undefined : { pack: `p${c % 3}`, offset: 0, length: 10 * c, rawLength: 100 * c, codec: 0 };
};

describe('globs', () => {
  it.each([
    ['*.ckp', 'ckp/meta_0-1.ckp', true],
    ['*.ckp', 'ckp/meta.ckpx', false],
    ['/ckp/*', 'ckp/a', true],
    ['/ckp/*', 'x/ckp/a', false],
    ['ckp/*', 'x/ckp/a', true],
    ['tae/**/x', 'tae/x', true],
    ['tae/**/x', 'tae/a/b/x', true],
    ['tae/**', 'tae/a/b', true],
    ['**', 'anything/at/all', true],
    ['a?c', 'abc', true],
    ['a?c', 'a/c', false],
    ['[a-c]x', 'bx', true],
    ['[!a-c]x', 'bx', false],
    ['[!a-c]x', 'dx', true],
    ['\\*', '*', true],
    ['\\*', 'a', false],
    ['数据/*', 'x/数据/y', true],
    ['a b', 'a b', true],
    ['a.b', 'aXb', false],
  ])('%s on %s: %s', (pattern, path, want) => {
    expect(compileGlob(pattern, 'exact').test(path)).toBe(want);
  });

  it('tree mode takes what is below a matching folder; exact mode does not', () => {
    expect(compileGlob('tae/ckp', 'tree').test('tae/ckp/meta')).toBe(true);
    expect(compileGlob('tae/ckp', 'exact').test('tae/ckp/meta')).toBe(false);
    expect(compileGlob('tae/ck', 'tree').test('tae/ckp/meta')).toBe(false);
  });

  it.each(['', '/', '[abc', 'a\\', '[]'])('refuses %j in one line', (p) => {
    let err: unknown;
    try {
      compileGlob(p, 'exact');
    } catch (e) {
      err = e;
    }
    expect(isMobrError(err, 'BAD_INPUT')).toBe(true);
    expect((err as Error).message).toMatch(/^bad glob /);
  });

  it('agrees with an independent segment matcher (fast-check)', () => {
    const seg = fc.constantFrom('a', 'b', 'ab', 'ba', 'aab');
    const pseg = fc.constantFrom('a', 'b', '*', '?', '**', 'a*', '*b', '?b', 'a*b', 'ab');
    fc.assert(
      fc.property(fc.boolean(), fc.array(pseg, { minLength: 1, maxLength: 4 }), fc.array(seg, { minLength: 1, maxLength: 5 }), fc.boolean(), (anchored, ps, ss, tree) => {
        const pattern = `${anchored ? '/' : ''}${ps.join('/')}`;
        const path = ss.join('/');
        expect(compileGlob(pattern, tree ? 'tree' : 'exact').test(path)).toBe(reference(pattern, path, tree));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('selection', () => {
  const files = [dir('tae'), dir('tae/ckp'), file('tae/ckp/m1'), file('tae/obj1'), dir('etc'), file('etc/tn.toml'), file('top')];
  it('includes a folder with everything below it, and the folders above what it takes', () => {
    expect(selectEntries(files, { include: ['tae/ckp'], exclude: [] }).map((f) => f.path)).toEqual(['tae', 'tae/ckp', 'tae/ckp/m1']);
    expect(selectEntries(files, { include: ['*.toml'], exclude: [] }).map((f) => f.path)).toEqual(['etc', 'etc/tn.toml']);
  });
  it('excludes win over includes; no include means everything', () => {
    expect(selectEntries(files, { include: [], exclude: ['tae'] }).map((f) => f.path)).toEqual(['etc', 'etc/tn.toml', 'top']);
    expect(selectEntries(files, { include: ['tae'], exclude: ['obj*'] }).map((f) => f.path)).toEqual(['tae', 'tae/ckp', 'tae/ckp/m1']);
  });
  it('selectManifest recomputes the logical size; ls [path] takes a file or a folder', async () => {
    const m = manifest('b1', 1, [file('a', 5), file('b/c', 7)]);
    expect((await selectManifest(m, { include: ['c'], exclude: [] })).logicalSize).toBe(7);
    expect(entriesUnder(files, 'tae/ckp/').map((f) => f.path)).toEqual(['tae/ckp', 'tae/ckp/m1']);
    expect(entriesUnder(files, 'top').map((f) => f.path)).toEqual(['top']);
    expect(entriesUnder(files, 'ta')).toEqual([]);
  });
  it('the selected files are exactly those whose path or a parent matches (fast-check)', () => {
    const pathArb = fc.array(fc.constantFrom('a', 'b', 'c.x'), { minLength: 1, maxLength: 3 }).map((s) => s.join('/'));
    fc.assert(
      fc.property(fc.uniqueArray(pathArb, { maxLength: 12 }), fc.array(fc.constantFrom('a', 'b', '*.x', '/a/b', '**/c.x'), { maxLength: 2 }), fc.array(fc.constantFrom('b', 'c.x', '/a'), { maxLength: 2 }), (paths, include, exclude) => {
        const fs = paths.map((p) => file(p));
        const got = selectEntries(fs, { include, exclude }).filter((f) => f.kind === 'file').map((f) => f.path);
        const want = paths.filter((p) => (include.length === 0 || include.some((g) => reference(g, p, true))) && !exclude.some((g) => reference(g, p, true)));
        expect(got).toEqual(want);
      }),
      { numRuns: 500 },
    );
  });
});

describe('diff and added bytes', () => {
  const a = manifest('a', 100, [file('same', 3, [1]), file('gone', 4, [2]), file('grows', 5, [3]), file('chmod', 6, [4])]);
  const b = manifest('b', 200, [file('same', 3, [1]), file('grows', 9, [3, 5]), file('chmod', 6, [4], { mode: 0o600 }), file('new', 2, [6, 0xff])]);
  it('added, removed, changed (content or metadata only)', () => {
    const d = diffManifests(a, b);
    expect(d.added.map((f) => f.path)).toEqual(['new']);
    expect(d.removed.map((f) => f.path)).toEqual(['gone']);
    expect(d.changed.map((c) => [c.path, c.what])).toEqual([['chmod', 'metadata'], ['grows', 'content']]);
  });
  it('added bytes: chunks B names that no backup completed before it names, missing ones counted apart', () => {
    const older = manifest('o', 50, [file('x', 1, [5])]);
    const later = manifest('z', 300, [file('y', 1, [6])]);
    const r = addedBytes(b, [a, b, older, later], lookup);
    // chunks of b: 1,3,4 (in a), 5 (in older), 6 and 0xff are new; 0xff is in no index
    expect(r).toEqual({ chunks: 2, storedBytes: 60, rawBytes: 600, unindexed: 1, olderBackups: ['a', 'o'] });
    expect(addedBytes(a, [a, b], lookup).storedBytes).toBe(10 + 20 + 30 + 40);
  });
  it('added bytes against a brute-force union (fast-check)', () => {
    const man = fc.record({ t: fc.integer({ min: 0, max: 5 }), chunks: fc.array(fc.integer({ min: 1, max: 20 }), { maxLength: 6 }) });
    fc.assert(
      fc.property(fc.array(man, { minLength: 1, maxLength: 6 }), (specs) => {
        const ms = specs.map((s, i) => manifest(`m${i}`, s.t, [file('f', 1, s.chunks)]));
        for (const target of ms) {
          const before = ms.filter((m) => m !== target && (m.completedAt < target.completedAt || (m.completedAt === target.completedAt && m.id < target.id)));
          const seen = new Set(before.flatMap((m) => [...chunkSet(m)]));
          const fresh = [...chunkSet(target)].filter((h) => !seen.has(h));
          expect(addedBytes(target, ms, lookup).storedBytes).toBe(fresh.reduce((s, h) => s + lookup(h)!.length, 0));
        }
        const g = growthSeries(ms, lookup);
        const union = new Set(ms.flatMap((m) => [...chunkSet(m)]));
        const total = [...union].reduce((s, h) => s + lookup(h)!.length, 0);
        expect(g.points.at(-1)!.cumulativeStored).toBe(total);
        expect(g.points.reduce((s, p) => s + p.addedBytes, 0)).toBe(total);
        for (const p of g.points) expect(p.addedBytes).toBe(addedBytes(ms.find((m) => m.id === p.id)!, ms, lookup).storedBytes);
      }),
      { numRuns: 300 },
    );
  });
});

describe('growth series and read plans', () => {
  it('orders by completion, sums running totals, counts unique bytes', () => {
    const m1 = manifest('m1', 2000, [file('a', 100, [1, 2])]);
    const m0 = manifest('m0', 1000, [file('a', 100, [1])]);
    const g = growthSeries([m1, m0], lookup);
    expect(g.points.map((p) => [p.id, p.storedSize, p.addedBytes, p.uniqueBytes, p.cumulativeLogical, p.cumulativeStored])).toEqual([
      ['m0', 10, 10, 0, 100, 10],
      ['m1', 30, 20, 20, 200, 30],
    ]);
    expect(g.dedupRatio).toBeCloseTo(200 / 30);
    expect(growthSeries([], lookup)).toEqual({ points: [], dedupRatio: 1 });
  });
  it('a read plan counts distinct chunks, packs and stored bytes', () => {
    expect(readPlan([file('a', 7, [1, 2, 1]), file('b', 3, [2, 4, 0xff]), dir('d')], lookup)).toEqual({ files: 2, bytes: 10, chunks: 4, packs: 2, storedBytes: 70, missingChunks: 1 });
  });
});

describe('stats --html page', () => {
  it('one line per series with a point per backup, escaped text, nothing external', async () => {
    const { renderStatsHtml } = await import('../src/cli/stats-html.js');
    const { growthSeries: g } = await import('../src/repo/growth.js');
    const ms = [manifest('m0', Date.UTC(2026, 0, 1), [file('a', 100, [1])]), manifest('m1', Date.UTC(2026, 0, 9), [file('a', 100, [1, 2])]), manifest('m2', Date.UTC(2026, 0, 20), [file('b', 50, [3])])];
    const growth = g(ms, lookup);
    const stats = { backups: [], logicalSize: 250, liveBytes: 60, packBytes: 70, packs: 3, dedupRatio: 250 / 60 };
    const html = renderStatsHtml([{ where: 'Path: /x/<script>', stats, growth }], Date.UTC(2026, 0, 21));
    const lines = [...html.matchAll(/<polyline points="([^"]+)" class="(\w+)"/g)];
    expect(lines.map((m) => m[2])).toEqual(['total', 'stored', 'total', 'stored', 'added']);
    expect(html).not.toMatch(/logical/i); // one vocabulary (#24.6): the page's classes and series say total, as its words do
    for (const m of lines) expect(m[1].split(' ')).toHaveLength(3);
    expect(html).toContain('Path: /x/&#60;script&#62;');
    expect(html).not.toMatch(/<script|src=|href=|url\(/);
    expect(html).toContain('>2026-01-01</text>');
    expect(html).toContain('>2026-01-20</text>');
    expect(html.match(/<tr><td>2026-/g)).toHaveLength(3);
  });
});
