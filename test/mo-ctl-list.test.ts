/**
 * mo_ctl reads the --path (or S3 --filepath) of an incremental backup's base from `mo_br list`
 * with a shell pipeline (matrixorigin/mo_ctl_standalone bin/auto_backup.sh, main at e3dacf9:
 * `grep -A 4` since 298fd94, 2025-03; `grep -A 1` from de77664, 2024-07; mo_ctl's own install
 * takes main). Runs those pipelines exactly, through sh, against ./mo_br list: for the newest
 * backup (mo_ctl's default base), one in the middle and an S3 one, the base's path comes out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ensureBuilt, ROOT } from './helpers/cli.js';

/** mo_ctl's lines, the mo_br command aside (bin/auto_backup.sh at e3dacf9, lines 361 and, before 298fd94, `grep -A 1`). */
const MO_CTL_HEAD = `./mo_br list --meta_path "$META" | grep -A 4 "$ID" | tail -n 1 | awk -F "|" '{print $4}' | awk '{print $1}' | sed 's/ //g'`;
const MO_CTL_2024 = `./mo_br list --meta_path "$META" | grep -A 1 "$ID" | tail -n 1 | awk -F  "|" '{print $4}' | sed 's/ //g'`;

const FS = ['0193a1b2-0000-7000-8000-000000000001', '0193a1b2-0000-7000-8000-000000000002', '0193a1b2-0000-7000-8000-000000000003'];
const S3 = '0193a1b2-0000-7000-8000-000000000004';
const dated = (i: number) => `/data/mo-backup/202612/2026120${i}_010000`;

let work: string;
let meta: string;
beforeAll(() => {
  ensureBuilt();
  work = mkdtempSync(path.join(tmpdir(), 'mobr-moctl-list-'));
  meta = path.join(work, 'mo_br.meta');
  // lines as MatrixOne's mo_br writes them (spec/meta.md, columns 1-8)
  const line = (id: string, where: string, i: number) => `${id},12 MB,${where},2026-12-0${i} 01:00:00 +0800,2.5s,2026-12-0${i} 01:00:03 +0800,179${i}000000000000000-1,full\n`;
  writeFileSync(
    meta,
    FS.map((id, i) => line(id, `BackupDir: filesystem  Path: ${dated(i + 1)}`, i + 1)).join('') +
      line(S3, 'BackupDir: s3  Endpoint: http://minio.minio-tenant.svc.cluster.local  Bucket: matrix-qa  FilePath: /mo-backup/202612/20261204_010000  Region: us-east-1', 4),
  );
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const run = (pipeline: string, id: string) => execFileSync('sh', ['-c', pipeline], { cwd: ROOT, env: { ...process.env, META: meta, ID: id }, encoding: 'utf8' }).trim();

describe("mo_ctl's base path from `mo_br list`", () => {
  it('grep -A 4 (mo_ctl main): the newest filesystem backup, one in the middle, an S3 one', () => {
    expect(run(MO_CTL_HEAD, FS[2])).toBe(dated(3));
    expect(run(MO_CTL_HEAD, FS[0])).toBe(dated(1));
    expect(run(MO_CTL_HEAD, S3)).toBe('/mo-backup/202612/20261204_010000');
  });

  it('grep -A 1 (mo_ctl before 2025-03): a filesystem backup', () => {
    expect(run(MO_CTL_2024, FS[2])).toBe(dated(3));
  });
});
