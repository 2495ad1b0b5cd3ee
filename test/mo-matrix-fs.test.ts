/**
 * Issue 11's matrix, filesystem target: backend (DISK, DISK-V2) × server version (v1.1.2, before
 * 1.2; v1.2.0) through ./mo_br (one cell: test/helpers/matrix-cell.ts).
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ensureBuilt } from './helpers/cli.js';
import { cells, runCell } from './helpers/matrix-cell.js';

let work: string;

beforeAll(async () => {
  ensureBuilt();
  work = mkdtempSync(path.join(tmpdir(), 'mobr-matrix-'));
});
afterAll(async () => {
  rmSync(work, { recursive: true, force: true });
});

describe('mo_br × emulated MatrixOne, filesystem target', () => {
  it.each(cells('filesystem'))('%s, v%s, %s: backup, more rows, second backup, restore, restart, rows back', { timeout: 90_000 }, async (...cell) => {
    await runCell(work, undefined, cell);
  });
});
