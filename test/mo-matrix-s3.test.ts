/**
 * Issue 11's matrix, s3 target: backend (DISK, DISK-V2) × server version (v1.1.2, before
 * 1.2; v1.2.0) through ./mo_br (one cell: test/helpers/matrix-cell.ts).
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ensureBuilt } from './helpers/cli.js';
import { cells, runCell } from './helpers/matrix-cell.js';
import { startS3Server, type S3Server } from './helpers/s3server.js';

let work: string;
let s3: S3Server;
beforeAll(async () => {
  ensureBuilt();
  work = mkdtempSync(path.join(tmpdir(), 'mobr-matrix-'));
  s3 = await startS3Server();
});
afterAll(async () => {
  await s3?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('mo_br × emulated MatrixOne, s3 target', () => {
  it.each(cells('s3'))('%s, v%s, %s: backup, more rows, second backup, restore, restart, rows back', { timeout: 90_000 }, async (...cell) => {
    await runCell(work, s3, cell);
  });
});
