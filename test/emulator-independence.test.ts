/**
 * The emulator stands in for a real MatrixOne: it must not share code with mobr, or a mistake
 * made once would hide itself on both sides. No file under test/emulator/ may import src/.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
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
