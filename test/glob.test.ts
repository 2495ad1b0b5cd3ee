/**
 * Globs never backtrack (issue #26.4, #24.10; spec/browse.md §1): the NFA matcher agrees with
 * the former regular-expression compiler (test/helpers/glob-regex-reference.ts) on random
 * patterns and paths, matches a pathological pattern against a 20,000-character name at once,
 * refuses bad patterns as bad input naming them (exit 2 through ./mo_br), and a long search
 * stops when its signal fires.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compileGlob, filterYielding } from '../src/repo/glob.js';
import { isMobrError } from '../src/errors.js';
import { compileRegexGlob } from './helpers/glob-regex-reference.js';
import { ensureBuilt, mobrSync } from './helpers/cli.js';

describe('the NFA glob matcher', () => {
  it('agrees with the regular-expression reference (fast-check)', () => {
    const atom = fc.constantFrom('a', 'b', '.', '*', '?', '[ab]', '[!a]', '[a-b]', '[^b.]', '\\*', '\\[', '-', '[a\\-]', '[]a]');
    const pseg = fc.oneof(fc.constant('**'), fc.array(atom, { minLength: 1, maxLength: 4 }).map((a) => a.join('')));
    const seg = fc.array(fc.constantFrom('a', 'b', '.', '*', '-', '[', ']'), { minLength: 1, maxLength: 5 }).map((a) => a.join(''));
    fc.assert(
      fc.property(fc.boolean(), fc.array(pseg, { minLength: 1, maxLength: 4 }), fc.array(seg, { minLength: 1, maxLength: 4 }), fc.boolean(), (anchored, ps, ss, tree) => {
        const pattern = `${anchored ? '/' : ''}${ps.join('/')}`;
        const path = ss.join('/');
        const mode = tree ? 'tree' : 'exact';
        expect(compileGlob(pattern, mode).test(path)).toBe(compileRegexGlob(pattern, mode).test(path));
      }),
      { numRuns: 1500 },
    );
  });

  it('matches a pathological pattern against a 20,000-character name without backtracking', () => {
    const name = 'a'.repeat(20_000); // the regular expression took minutes on it
    for (const p of ['*a*a*a*a*a*a*a*a*a*a*b', '**/*a*a*a*a*a*a*a*a*c', '/?*?*?*?*?*?*?*?*?*?*x']) {
      expect(compileGlob(p, 'exact').test(name)).toBe(false);
      expect(compileGlob(p, 'tree').test(`dir/${name}`)).toBe(false);
    }
    expect(compileGlob('*a*a*a*a*a*a*a*a*a*a*a', 'exact').test(name)).toBe(true);
  });

  it.each([
    ['[z-a]', /range z-a is reversed/],
    ['d00[/]e', /'\/' inside \[ \]/],
    ['*'.repeat(100_000), /longer than 4096 characters/],
  ])('refuses %j as bad input naming it', (pattern, why) => {
    let err: unknown;
    try {
      compileGlob(pattern, 'exact');
    } catch (e) {
      err = e;
    }
    expect(isMobrError(err, 'BAD_INPUT')).toBe(true);
    expect((err as Error).message).toMatch(/^bad glob "/);
    expect((err as Error).message).toContain(JSON.stringify(pattern.slice(0, 20)).slice(0, -1));
    expect((err as Error).message).toMatch(why);
  });

  it('a long search stops when its signal fires', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort('SIGINT'), 50);
    const items = Array.from({ length: 2_000_000 }, (_, i) => i);
    const slow = (x: number) => {
      let s = 0;
      for (let k = 0; k < 200; k++) s += (x * k) % 7;
      return s < 0;
    };
    await expect(filterYielding(items, slow, ac.signal)).rejects.toThrow(/interrupted \(SIGINT\)/);
  });
});

describe('bad globs through ./mo_br', () => {
  it('find and restore --include exit 2 with one line naming the pattern', () => {
    ensureBuilt();
    for (const [args, want] of [
      [['find', '[z-a]', '--backup_dir', 'filesystem', '--backup_path', '/nonexistent-mobr'], /bad glob "\[z-a\]": range z-a is reversed/],
      [['find', 'd00[/]e', '--backup_dir', 'filesystem', '--backup_path', '/nonexistent-mobr'], /bad glob "d00\[\/\]e": '\/' inside/],
      [['find', 'x'.repeat(100_000), '--backup_dir', 'filesystem', '--backup_path', '/nonexistent-mobr'], /bad glob "x{80}…": longer than 4096/],
    ] as const) {
      const r = mobrSync([...args], '/tmp');
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(want);
    }
  });
});
