/**
 * The one output-path rule (issue #26.1, #26.6; spec/reliability.md §9) through ./mo_br: an
 * output (`stats --html`, `--log_file`, `export --path`, `restore --restore_path`, the catalog)
 * is a new regular file or one it may replace; a link is followed, never replaced; a device or
 * fifo is written through, never replaced; nothing lands in a repository or on the catalog.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ensureBuilt, MO_BR, mobr } from '../helpers/cli.js';
import { until } from '../helpers/until.js';

let work: string;
const M = () => ['--meta_path', path.join(work, 'mo_br.meta')];
const REPO = () => ['--backup_dir', 'filesystem', '--backup_path', path.join(work, 'repo')];
const mo = (args: string[]) => mobr(args, work);
const isRoot = process.getuid?.() === 0;

beforeAll(async () => {
  ensureBuilt();
  work = mkdtempSync(path.join(tmpdir(), 'mobr-outputs-'));
  mkdirSync(path.join(work, 'mo-data/etc'), { recursive: true });
  writeFileSync(path.join(work, 'mo-data/etc/tn.toml'), '[tn]\n');
  const b = await mo(['backup', '--backup_dir', 'filesystem', '--path', 'repo', '--data_dir', 'mo-data', ...M()]);
  expect(b.code, b.stderr).toBe(0);
}, 20_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('stats --html follows the output rule', () => {
  it('refuses the repository config, the catalog and a file it did not write, and leaves them as they were', async () => {
    writeFileSync(path.join(work, 'notes.txt'), 'mine');
    const config = readFileSync(path.join(work, 'repo/config'));
    const meta = readFileSync(path.join(work, 'mo_br.meta'));
    const runs = await Promise.all(['repo/config', 'mo_br.meta', 'notes.txt', 'repo/backups/page.html'].map((f) => mo(['stats', '--html', f, ...REPO(), ...M()])));
    for (const [i, r] of runs.entries()) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(['inside the mobr repository', 'is the meta file', 'already exists and is not a file mobr wrote', 'inside the mobr repository'][i]!);
    }
    expect(readFileSync(path.join(work, 'repo/config'))).toEqual(config);
    expect(readFileSync(path.join(work, 'mo_br.meta'))).toEqual(meta);
    expect(readFileSync(path.join(work, 'notes.txt'), 'utf8')).toBe('mine');
    const list = await mo(['list', ...M()]);
    expect(list.code, list.stderr).toBe(0);
  });

  it('writes a new page, replaces its own page, and writes through a link without replacing it', async () => {
    expect((await mo(['stats', '--html', 'page.html', ...REPO(), ...M()])).code).toBe(0);
    const first = readFileSync(path.join(work, 'page.html'), 'utf8');
    expect(first).toContain('<meta name="generator" content="mobr stats --html">');
    const again = await mo(['stats', '--html', 'page.html', ...REPO(), ...M()]);
    expect(again.code, again.stderr).toBe(0);
    symlinkSync('page.html', path.join(work, 'link.html'));
    const viaLink = await mo(['stats', '--html', 'link.html', ...REPO(), ...M()]);
    expect(viaLink.code, viaLink.stderr).toBe(0);
    expect(lstatSync(path.join(work, 'link.html')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(path.join(work, 'link.html'))).toBe('page.html');
    symlinkSync('repo/config', path.join(work, 'cfg-link'));
    const toConfig = await mo(['stats', '--html', 'cfg-link', ...REPO(), ...M()]);
    expect(toConfig.code).toBe(2);
    expect(toConfig.stderr).toMatch(/inside the mobr repository/);
  });

  it('writes through a fifo: opened once, without blocking; the reader gets the page and the fifo stays a fifo', async () => {
    const fifo = path.join(work, 'page.fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = spawn('cat', [fifo]);
    let got = '';
    reader.stdout.on('data', (d) => (got += d));
    const done = new Promise((r) => reader.on('close', r));
    // cat must be in its open of the fifo first (waiting for a writer): a fifo nobody reads is
    // refused (exit 2, "no process reads"). /proc/<pid>/wchan says so; where the kernel hides it,
    // a refusal is taken as "not yet" and the command run again. Whatever happens, cat is not left
    // waiting on the fifo, so a failure fails here instead of hanging the test.
    const wchan = () => { try { return readFileSync(`/proc/${reader.pid}/wchan`, 'utf8'); } catch { return ''; } };
    await until(() => wchan() === 'wait_for_partner' || !/^[a-z_]/.test(wchan()), 10_000, 'cat to open the fifo');
    // Under strace, which shows each open of the fifo: a probe opened and closed before the real
    // open let cat see end-of-file and leave, and the real (blocking) open then waited forever (a
    // CI hang at load: issue #25's "nothing that ignores Ctrl-C").
    const trace = path.join(work, 'fifo.strace');
    const stats = () => new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const p = spawn('strace', ['-f', '-qq', '-e', 'trace=openat', '-o', trace, process.execPath, MO_BR, 'stats', '--html', fifo, ...REPO(), ...M()], { cwd: work });
      let stderr = '';
      p.stderr.on('data', (d) => (stderr += d));
      p.on('close', (code) => resolve({ code, stderr }));
    });
    let r = await stats();
    for (let i = 0; i < 50 && r.code === 2 && /no process reads/.test(r.stderr); i++) {
      await new Promise((res) => setTimeout(res, 100));
      r = await stats();
    }
    if (r.code !== 0) reader.kill();
    await done;
    expect(r.code, r.stderr).toBe(0);
    expect(got).toContain('mobr repository statistics');
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    const opens = readFileSync(trace, 'utf8').split('\n').filter((l) => l.includes(`"${fifo}"`) && /O_WRONLY/.test(l));
    expect(opens, 'the opens of the fifo for writing').toHaveLength(1);
    expect(opens[0]).toMatch(/O_NONBLOCK/);
  });

  it.skipIf(!isRoot)('as root, a character device of its own (made with mknod, like /dev/null) is written through, never replaced', async () => {
    const dev = path.join(work, 'null-dev');
    execFileSync('mknod', ['-m', '666', dev, 'c', '1', '3']); // the null device's numbers, in our own temp folder
    const r = await mo(['stats', '--html', dev, ...REPO(), ...M()]);
    expect(r.code, r.stderr).toBe(0);
    const st = lstatSync(dev);
    expect(st.isCharacterDevice()).toBe(true);
    expect(st.rdev).not.toBe(0);
    const log = await mo(['list', '--log_file', dev, '--log_level', 'debug', ...M()]);
    expect(log.code, log.stderr).toBe(0);
    expect(lstatSync(dev).isCharacterDevice()).toBe(true);
  });
});

describe('other outputs follow the same rule', () => {
  it('--log_file never writes into a repository or onto the catalog', async () => {
    const config = readFileSync(path.join(work, 'repo/config'));
    const runs = await Promise.all(['repo/config', 'repo/locks/x.log', 'mo_br.meta.sha256'].map((f) => mo(['list', '--log_file', f, '--log_level', 'debug', ...M()])));
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/--log_file .* (is inside the mobr repository|is the meta file)/);
    }
    expect(readFileSync(path.join(work, 'repo/config'))).toEqual(config);
    expect((await mo(['check', ...REPO(), ...M()])).code).toBe(0);
  });

  it('export --path (a flag or ./mo_br.toml) and restore --restore_path never point inside a repository', async () => {
    mkdirSync(path.join(work, 'repo/backups/x'));
    mkdirSync(path.join(work, 'cfg'));
    writeFileSync(path.join(work, 'cfg/mo_br.toml'), `path = ${JSON.stringify(path.join(work, 'repo/index/y'))}\n`);
    const [flag, toml, rest] = await Promise.all([
      mo(['export', 'any-id', '--path', 'repo/backups/x', ...REPO(), ...M()]),
      mobr(['export', 'any-id', ...REPO(), ...M()], path.join(work, 'cfg')),
      mo(['restore', 'any-id', '--restore_dir', 'filesystem', '--restore_path', 'repo/locks', ...REPO(), ...M()]),
    ]);
    for (const r of [flag, toml, rest]) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/is inside the mobr repository/);
    }
    rmSync(path.join(work, 'repo/backups/x'), { recursive: true });
    const list = await mo(['list', ...REPO()]);
    expect(list.code, list.stderr).toBe(0);
  });
});
