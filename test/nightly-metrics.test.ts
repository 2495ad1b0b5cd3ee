/**
 * --metrics_file, --on_success / --on_failure and --webhook through ./mo_br (issue #24, nightly
 * operations). The metrics file is read by a Prometheus text-format parser from npm
 * (parse-prometheus-text-format), not by our own code.
 */
import { promises as fsp } from 'node:fs';
import { createServer } from 'node:http';
import * as path from 'node:path';
import parsePrometheus from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, mobr, mobrIn } from './helpers/cli.js';
import { listenOnLoopback } from './helpers/listen.js';
import { pseudoRandom, tempDir, writeTree } from './helpers/tree.js';

let root: string;
const SECRET = 'pw-n1ghtly-s3cret';
const env = { MO_BR_PASSWORD: SECRET, AWS_SECRET_ACCESS_KEY: 'aws-n1ghtly-s3cret', NO_COLOR: '1' };

type Family = { name: string; type: string; metrics: { value: string; labels?: Record<string, string> }[] };

/** The file as Prometheus reads it; each family and each series once. */
async function readMetrics(file: string): Promise<Family[]> {
  const text = await fsp.readFile(file, 'utf8');
  const families = parsePrometheus(text) as Family[];
  const names = families.map((f) => f.name);
  expect(new Set(names).size).toBe(names.length);
  for (const f of families) {
    const keys = f.metrics.map((m) => JSON.stringify(m.labels));
    expect(new Set(keys).size).toBe(keys.length);
  }
  return families;
}

function value(fams: Family[], name: string, labels: Record<string, string>): number | undefined {
  const m = fams.find((f) => f.name === name)?.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
  return m === undefined ? undefined : Number(m.value);
}

beforeAll(async () => {
  ensureBuilt();
  root = await tempDir('mobr-nightly-metrics-');
  await writeTree(path.join(root, 'data'), [
    { path: 'a.bin', data: pseudoRandom(1, 200_000), mode: 0o644 },
    { path: 'd/b.bin', data: pseudoRandom(2, 50_000), mode: 0o644 },
  ]);
  await fsp.mkdir(path.join(root, 'prom'));
});
afterAll(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

describe('--metrics_file and the hooks', () => {
  const repo = () => path.join(root, 'repo');
  const labels = () => ({ command: 'backup', repository: repo(), source: `cold ${path.join(root, 'data')}` });
  const base = () => ['--meta_path', path.join(root, 'mo_br.meta'), '--metrics_file', path.join(root, 'prom', 'mobr.prom')];

  it('a backup writes its metrics (text format, temp file renamed) and runs --on_success with the summary, no secret', async () => {
    const hookOut = path.join(root, 'hook-env.txt');
    const t0 = Date.now() / 1000;
    const r = await mobr([...base(), 'backup', '--data_dir', 'data', '--backup_dir', 'filesystem', '--path', 'repo', '--on_success', `env > ${hookOut}`], root, { env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const id = /[0-9a-f-]{36}/.exec(r.stdout)![0];
    const fams = await readMetrics(path.join(root, 'prom', 'mobr.prom'));
    expect(await fsp.readFile(path.join(root, 'prom', 'mobr.prom'), 'utf8')).not.toMatch(/logical/i); // one vocabulary (#24.6): HELP says total
    expect(fams.find((f) => f.name === 'mobr_last_success_timestamp_seconds')?.type).toBe('GAUGE');
    const last = value(fams, 'mobr_last_success_timestamp_seconds', labels())!;
    expect(last).toBeGreaterThanOrEqual(Math.floor(t0));
    expect(last).toBeLessThanOrEqual(Date.now() / 1000);
    expect(value(fams, 'mobr_last_exit_code', labels())).toBe(0);
    expect(value(fams, 'mobr_files', labels())).toBe(2);
    expect(value(fams, 'mobr_total_bytes', labels())).toBe(250_000);
    expect(value(fams, 'mobr_read_bytes', labels())).toBe(250_000); // a first backup reads every byte
    const added = value(fams, 'mobr_added_bytes', labels())!;
    expect(added).toBeGreaterThan(0);
    expect(value(fams, 'mobr_dedup_ratio', labels())).toBeCloseTo(250_000 / added, 3);
    expect(value(fams, 'mobr_duration_seconds', labels())).toBeGreaterThan(0);
    expect(await fsp.readdir(path.join(root, 'prom'))).toEqual(['mobr.prom']); // no temp file left
    const hookEnv = await fsp.readFile(hookOut, 'utf8');
    expect(hookEnv).toContain('MOBR_STATUS=success');
    expect(hookEnv).toContain(`MOBR_BACKUP_ID=${id}`);
    const summary = JSON.parse(/^MOBR_SUMMARY=(.*)$/m.exec(hookEnv)![1]);
    expect(summary).toMatchObject({ schema: 'mobr.hook.v1', command: 'backup', exitCode: 0, repository: repo(), summaries: [{ files: 2, bytes: { read: 250_000 } }] });
    expect(hookEnv).not.toContain(SECRET);
    expect(hookEnv).not.toContain('aws-n1ghtly-s3cret');
  });

  it('a failed run keeps the last success time, sets its exit code, runs --on_failure and POSTs to --webhook', async () => {
    const posts: unknown[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        posts.push({ method: req.method, type: req.headers['content-type'], body: JSON.parse(body) });
        res.end('ok');
      });
    });
    const port = await listenOnLoopback(server);
    try {
      const before = value(await readMetrics(path.join(root, 'prom', 'mobr.prom')), 'mobr_last_success_timestamp_seconds', labels());
      const hookOut = path.join(root, 'hook-fail.txt');
      const r = await mobr([...base(), 'backup', '--data_dir', 'data', '--backup_dir', 'filesystem', '--path', 'repo', '--parallelism', '0', '--password', 'argv-s3cret', '--on_failure', `env > ${hookOut}`, '--webhook', `http://127.0.0.1:${port}/hook`], root, { env });
      expect(r.code).toBe(2);
      const fams = await readMetrics(path.join(root, 'prom', 'mobr.prom'));
      expect(value(fams, 'mobr_last_exit_code', labels())).toBe(2);
      expect(value(fams, 'mobr_last_success_timestamp_seconds', labels())).toBe(before);
      expect(value(fams, 'mobr_last_run_timestamp_seconds', labels())!).toBeGreaterThan(before!);
      const hookEnv = await fsp.readFile(hookOut, 'utf8');
      expect(hookEnv).toContain('MOBR_STATUS=failure');
      expect(hookEnv).toContain('MOBR_EXIT_CODE=2');
      expect(hookEnv).toMatch(/^MOBR_ERROR=bad --parallelism/m);
      expect(hookEnv).not.toContain('argv-s3cret');
      expect(posts).toEqual([{ method: 'POST', type: 'application/json', body: expect.objectContaining({ schema: 'mobr.hook.v1', command: 'backup', status: 'failure', exitCode: 2 }) }]);
    } finally {
      server.close();
    }
  });

  it('a job that has never succeeded has a success time of 0 (an alert on its age fires), until it succeeds', async () => {
    const file = path.join(root, 'prom', 'never.prom');
    const args = (...more: string[]) => ['--meta_path', path.join(root, 'never.meta'), '--metrics_file', file, 'backup', '--data_dir', 'data', '--backup_dir', 'filesystem', '--path', 'repo-never', ...more];
    const never = { ...labels(), repository: path.join(root, 'repo-never') };
    expect((await mobrIn(args('--parallelism', '0'), root, { env })).code).toBe(2);
    let fams = await readMetrics(file);
    expect(value(fams, 'mobr_last_success_timestamp_seconds', never)).toBe(0);
    expect(value(fams, 'mobr_last_exit_code', never)).toBe(2);
    expect((await mobrIn(args(), root, { env })).code).toBe(0);
    const good = value(await readMetrics(file), 'mobr_last_success_timestamp_seconds', never)!;
    expect(good).toBeGreaterThan(0);
    expect((await mobrIn(args('--parallelism', '0'), root, { env })).code).toBe(2); // a later failure keeps the real time
    fams = await readMetrics(file);
    expect(value(fams, 'mobr_last_success_timestamp_seconds', never)).toBe(good);
    expect(value(fams, 'mobr_last_exit_code', never)).toBe(2);
  });

  it('a check adds its own series (check_ok) beside the backup series', async () => {
    const r = await mobr([...base(), 'check', '--backup_dir', 'filesystem', '--backup_path', 'repo'], root, { env });
    expect(r.code).toBe(0);
    const fams = await readMetrics(path.join(root, 'prom', 'mobr.prom'));
    const check = { command: 'check', repository: repo() };
    expect(value(fams, 'mobr_check_ok', check)).toBe(1);
    expect(value(fams, 'mobr_check_damaged_files', check)).toBe(0);
    expect(value(fams, 'mobr_files', check)).toBe(2);
    expect(value(fams, 'mobr_files', labels())).toBe(2); // the backup's series are still there
  });

  it('a metrics file in a folder that does not exist is bad input before anything runs', async () => {
    const r = await mobr(['--meta_path', path.join(root, 'other.meta'), '--metrics_file', path.join(root, 'nope', 'm.prom'), 'backup', '--data_dir', 'data', '--backup_dir', 'filesystem', '--path', 'repo2'], root, { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`mo_br: --metrics_file ${path.join(root, 'nope', 'm.prom')}: the folder ${path.join(root, 'nope')} does not exist\n`);
    await expect(fsp.stat(path.join(root, 'repo2'))).rejects.toThrow();
    // the output-path rule: a file mobr did not write is not replaced, nor is one inside a repository
    await fsp.writeFile(path.join(root, 'notes.txt'), 'mine');
    const other = await mobr(['--meta_path', path.join(root, 'other.meta'), '--metrics_file', 'notes.txt', 'list'], root, { env });
    expect([other.code, other.stderr]).toEqual([2, `mo_br: --metrics_file ${path.join(root, 'notes.txt')} already exists and is not a file mobr wrote; remove it or give a new name\n`]);
    const inside = await mobr(['--meta_path', path.join(root, 'other.meta'), '--metrics_file', 'repo/m.prom', 'list'], root, { env });
    expect(inside.code).toBe(2);
    expect(inside.stderr).toMatch(/^mo_br: --metrics_file .* is inside the mobr repository/);
  });
});
