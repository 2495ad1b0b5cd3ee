/**
 * `stats --html --metrics_file <file>` shows the last check of each repository (issue #24, "the
 * growth report": check status). The metrics file is the one `check --metrics_file` writes
 * (metrics.ts); this reads what stats makes of it (stats-health.ts), for the two ways a check
 * labels its series: by place (no source) and by ID (`check <ID>`, `check latest`: the backup's
 * source), and for a check that stopped before its end after an earlier one passed.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeMetrics, type RunOutcome } from '../src/cli/metrics.js';
import { lastCheck } from '../src/cli/stats-health.js';
import { tempDir } from './helpers/tree.js';

let root: string;
const REPO = '/backups/mo';

beforeAll(async () => {
  root = await tempDir('mobr-stats-last-check-');
});
afterAll(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

/** One `check` run as main.ts reports it to writeMetrics. */
function checkRun(at: number, o: { exitCode: number; damaged?: number; source?: string; repository?: string }): RunOutcome {
  const summaries = o.damaged === undefined ? [] : [{
    command: 'check', subject: 'b1', bytes: [], durationNs: 1e8, repository: o.repository ?? REPO, source: o.source ?? '', fileCount: 5, damaged: o.damaged,
  }];
  return { command: 'check', exitCode: o.exitCode, startedMs: at, durationSeconds: 0.1, summaries, repository: o.repository ?? REPO, source: summaries.length ? '' : o.source ?? '' };
}

describe('the last check in stats', () => {
  it('a check by ID (series labelled with its source) is found, the newest of all sources wins', async () => {
    const file = path.join(root, 'by-id.prom');
    const meta = path.join(root, 'mo_br.meta');
    await writeMetrics(file, checkRun(1_000_000, { exitCode: 1, damaged: 2, source: 'cold /srv/a' }), meta);
    expect(await lastCheck(file, REPO)).toEqual({ at: 1_000_100, ok: false, damaged: 2, exitCode: 1 });
    await writeMetrics(file, checkRun(2_000_000, { exitCode: 0, damaged: 0, source: 'matrixone 10.0.0.5:6001' }), meta);
    await writeMetrics(file, checkRun(1_500_000, { exitCode: 0, damaged: 0, repository: '/elsewhere' }), meta);
    expect(await lastCheck(file, REPO)).toEqual({ at: 2_000_100, ok: true, damaged: 0, exitCode: 0 });
    expect(await lastCheck(file, '/backups')).toBeUndefined(); // a prefix of another repository's name is not it
  });

  it('a check that stopped before its end is a failed check, not the earlier pass', async () => {
    const file = path.join(root, 'stopped.prom');
    const meta = path.join(root, 'mo_br.meta');
    await writeMetrics(file, checkRun(1_000_000, { exitCode: 0, damaged: 0 }), meta);
    expect(await lastCheck(file, REPO)).toMatchObject({ ok: true });
    await writeMetrics(file, checkRun(3_000_000, { exitCode: 5 }), meta); // unreachable: no summary, check_ok stays 1
    expect(await fsp.readFile(file, 'utf8')).toContain(`mobr_check_ok{command="check",repository="${REPO}",source=""} 1`);
    expect(await lastCheck(file, REPO)).toEqual({ at: 3_000_100, ok: false, damaged: 0, exitCode: 5 });
  });
});
