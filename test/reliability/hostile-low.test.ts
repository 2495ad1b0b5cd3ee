/**
 * Issue #26's low items, through ./mo_br (spec/reliability.md §9): what a stray object, a bad clock,
 * a short secret or a control character in a path must not break or reveal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../helpers/tree.js';
import { ensureBuilt, mobr } from './cli.js';

let work: string;
beforeAll(async () => {
  ensureBuilt();
  work = await tempDir('mobr-hostile-low-');
});
afterAll(async () => {
  await fsp.rm(work, { recursive: true, force: true });
});

async function backupOnce(name: string): Promise<{ repo: string; M: string[]; src: string }> {
  const repo = path.join(work, name, 'repo');
  const src = path.join(work, name, 'src');
  const M = ['--meta_path', path.join(work, name, 'mo_br.meta')];
  await fsp.mkdir(src, { recursive: true });
  await fsp.writeFile(path.join(src, 'a'), 'hello\n');
  const r = await mobr(['backup', '--backup_dir', 'filesystem', '--path', repo, '--data_dir', src, ...M], work);
  expect(r.code, r.stderr).toBe(0);
  return { repo, M, src };
}

describe('a stray folder in backups/ (#26.13)', () => {
  it('check and check --repair name it and check the real backups (exit 1, damage), as for a stray file', async () => {
    const { repo, M } = await backupOnce('stray');
    await fsp.writeFile(path.join(repo, 'backups/strayfile'), 'x');
    await fsp.mkdir(path.join(repo, 'backups/strayfolder'));
    await fsp.writeFile(path.join(repo, 'backups/strayfolder/y'), 'y');
    for (const extra of [[], ['--repair']]) {
      const r = await mobr(['check', ...extra, '--backup_dir', 'filesystem', '--backup_path', repo, ...M], work);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stdout).toContain('check: a\n');
      expect(r.stdout).toMatch(/manifest of backup strayfolder\/y FAILED: .*not a backup ID/);
      expect(r.stdout).toMatch(/manifest of backup strayfile FAILED/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});

describe('a clock before 1970 (#26.9)', () => {
  it('backup refuses up front with one line (exit 2): no repository, no catalog record', async () => {
    const dir = path.join(work, 'clock');
    await fsp.mkdir(path.join(dir, 'src'), { recursive: true });
    await fsp.writeFile(path.join(dir, 'src/a'), 'hello\n');
    await fsp.writeFile(path.join(dir, 'skew'), String(-(Date.now() + 86_400_000))); // a day before 1970
    const repo = path.join(dir, 'repo');
    const meta = path.join(dir, 'mo_br.meta');
    const r = await mobr(['backup', '--backup_dir', 'filesystem', '--path', repo, '--data_dir', path.join(dir, 'src'), '--meta_path', meta], work, {
      env: { MOBR_TEST_CLOCK_SKEW_FILE: path.join(dir, 'skew') },
    });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^mo_br: the system clock reads 1969-12-31T.*before 1970/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    await expect(fsp.access(meta)).rejects.toThrow();
    await expect(fsp.access(repo)).rejects.toThrow();
  });
});

describe('masking short secrets (#26.10)', () => {
  it('masks a secret where it stands as a value, never inside a host:port or a bucket name', async () => {
    const port = await closedPort();
    const dir = path.join(work, 'mask');
    await fsp.mkdir(dir, { recursive: true });
    const M = ['--meta_path', path.join(dir, 'mo_br.meta')];
    const srv = await mobr(['backup', '--host', '127.0.0.1', '--port', String(port), '--user', 'dump', '--password', String(port).slice(-3), '--backup_dir', 'filesystem', '--path', path.join(dir, 'r'), ...M], work);
    expect(srv.code, srv.stderr).toBe(5);
    expect(srv.stderr).toContain(`127.0.0.1:${port}: connection refused`); // the password is the port's last 3 digits
    const s3 = await mobr(['backup', '--data_dir', dir, '--backup_dir', 's3', '--endpoint', `http://127.0.0.1:${port}`, '--access_key_id', 'bucket1', '--secret_access_key', 'sec1234', '--bucket', 'bucket1', '--filepath', 'x', ...M], work);
    expect(s3.code, s3.stderr).toBe(5);
    expect(s3.stderr).toContain('bucket1/x');
    expect(s3.stderr).not.toContain('***');
  });
});

/** A TCP port nobody listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('a control character in a repository path (#26.12)', () => {
  it('backup refuses a --path with a newline (exit 2, one line): nothing written, no catalog line', async () => {
    const dir = path.join(work, 'ctl');
    await fsp.mkdir(path.join(dir, 'src'), { recursive: true });
    await fsp.writeFile(path.join(dir, 'src/a'), 'hello\n');
    const meta = path.join(dir, 'mo_br.meta');
    const r = await mobr(['backup', '--backup_dir', 'filesystem', '--path', path.join(dir, 'r\nx'), '--data_dir', path.join(dir, 'src'), '--meta_path', meta], work);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^mo_br: bad --path ".*r\\nx": a control character/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    await expect(fsp.access(meta)).rejects.toThrow();
    await expect(fsp.access(path.join(dir, 'r\nx'))).rejects.toThrow();
  });

  it('sync refuses such a --target_path and meta rebuild such a --backup_path, the same way', async () => {
    const { repo, M } = await backupOnce('ctl-more');
    const dir = path.dirname(repo);
    const catalog = await fsp.readFile(M[1], 'utf8');
    const sync = await mobr(['sync', '--backup_dir', 'filesystem', '--backup_path', repo, '--target_dir', 'filesystem', '--target_path', path.join(dir, 'c\tx'), ...M], work);
    expect(sync.code, sync.stderr).toBe(2);
    expect(sync.stderr).toMatch(/^mo_br: bad --target_path ".*c\\tx": a control character/);
    expect(sync.stderr.trim().split('\n')).toHaveLength(1);
    await expect(fsp.access(path.join(dir, 'c\tx'))).rejects.toThrow();
    // a real repository reached through a path with a newline (a link): its records would carry it
    await fsp.symlink(repo, path.join(dir, 'l\nx'));
    const rebuild = await mobr(['meta', 'rebuild', '--backup_dir', 'filesystem', '--backup_path', path.join(dir, 'l\nx'), ...M], work);
    expect(rebuild.code, rebuild.stderr).toBe(2);
    expect(rebuild.stderr).toMatch(/^mo_br: bad --backup_path ".*l\\nx": a control character/);
    expect(rebuild.stderr.trim().split('\n')).toHaveLength(1);
    expect(await fsp.readFile(M[1], 'utf8')).toBe(catalog);
  });
});
