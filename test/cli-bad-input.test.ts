/**
 * Bad input, table-driven, through mo_br's run() in this process (mobrIn; `--version` through the
 * real launcher, ./mo_br): each row prints exactly one line on stderr (`mo_br: ...`), exits with
 * its code, and changes nothing on disk (the whole work folder, meta file and repository
 * included, is hashed before and after).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ensureBuilt, mobrIn, mobrSync } from './helpers/cli.js';

const mobr = (args: string[], cwd: string) => mobrIn(args, cwd, { env: { NO_COLOR: '1' } });

function treeHash(dir: string): string {
  const h = createHash('sha256');
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      h.update(`${path.relative(dir, p)}\0`);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) h.update(readFileSync(p));
    }
  };
  walk(dir);
  return h.digest('hex');
}

const UNKNOWN_ID = '00000000-0000-11ef-0000-000000000000';

describe('bad input: one stderr line, an exit code, nothing changed', () => {
  let work: string;
  let id: string;
  beforeAll(async () => {
    ensureBuilt();
    work = mkdtempSync(path.join(tmpdir(), 'mobr-cli-bad-'));
    mkdirSync(path.join(work, 'mo-data/shared'), { recursive: true });
    writeFileSync(path.join(work, 'mo-data/shared/obj'), 'some bytes of a TAE object\n'.repeat(1000));
    writeFileSync(path.join(work, 'corrupt.meta'), '{"format":"mobr.meta","version":1,"records":[],"sha256":"00"}\n');
    writeFileSync(path.join(work, 'not-a-dir'), 'a file\n');
    mkdirSync(path.join(work, 'busy/mo-data'), { recursive: true });
    writeFileSync(path.join(work, 'busy/mo-data/x'), 'x');
    const r = await mobr(['backup', '--backup_dir', 'filesystem', '--path', 'repo', '--data_dir', 'mo-data', '--meta_path', 'mo_br.meta'], work);
    expect(r.stderr).toBe('');
    id = /Backup ID\n {4}(\S+)\n/.exec(r.stdout)![1];
  });

  const M = ['--meta_path', 'mo_br.meta'];
  const rows: { name: string; args: () => string[]; code: number; says: RegExp; asRoot?: boolean }[] = [
    { name: 'unknown flag', args: () => ['list', '--bogus', ...M], code: 2, says: /unknown option '--bogus'/ },
    { name: 'misspelt flag gets a suggestion', args: () => ['backup', '--backup-dir', 'filesystem', ...M], code: 2, says: /unknown option.*Did you mean --backup_dir/ },
    { name: 'unknown command', args: () => ['lst'], code: 2, says: /unknown command 'lst'/ },
    { name: 'no command', args: () => [], code: 2, says: /missing command/ },
    { name: 'missing argument', args: () => ['delete', ...M], code: 2, says: /missing required argument 'ID'/ },
    { name: 'missing --backup_dir', args: () => ['backup', '--path', 'repo', '--data_dir', 'mo-data', ...M], code: 2, says: /missing --backup_dir/ },
    { name: 'missing --path', args: () => ['backup', '--backup_dir', 'filesystem', '--data_dir', 'mo-data', ...M], code: 2, says: /missing --path/ },
    { name: 'missing --host and --data_dir', args: () => ['backup', '--backup_dir', 'filesystem', '--path', 'repo', ...M], code: 2, says: /missing --host/ },
    { name: 'bad --backup_dir', args: () => ['backup', '--backup_dir', 'tape', '--path', 'repo', '--data_dir', 'mo-data', ...M], code: 2, says: /bad --backup_dir "tape"/ },
    { name: 'bad --backup_type', args: () => ['backup', '--backup_dir', 'filesystem', '--path', 'repo', '--data_dir', 'mo-data', '--backup_type', 'diff', ...M], code: 2, says: /bad --backup_type/ },
    { name: 'incremental without --base_id', args: () => ['backup', '--backup_dir', 'filesystem', '--path', 'repo', '--data_dir', 'mo-data', '--backup_type', 'incremental', ...M], code: 2, says: /missing --base_id/ },
    { name: 'incremental on an unknown base', args: () => ['backup', '--backup_dir', 'filesystem', '--path', 'repo', '--data_dir', 'mo-data', '--backup_type', 'incremental', '--base_id', UNKNOWN_ID, ...M], code: 3, says: /no backup with ID/ },
    { name: 'bad --parallelism', args: () => ['backup', '--backup_dir', 'filesystem', '--path', 'repo', '--data_dir', 'mo-data', '--parallelism', 'many', ...M], code: 2, says: /bad --parallelism/ },
    { name: 'missing --data_dir folder', args: () => ['backup', '--backup_dir', 'filesystem', '--path', 'repo', '--data_dir', 'nowhere', ...M], code: 3, says: /does not exist/ },
    { name: 'unknown ID (list)', args: () => ['list', UNKNOWN_ID, ...M], code: 3, says: /no backup with ID/ },
    { name: 'unknown ID (check)', args: () => ['check', UNKNOWN_ID, ...M], code: 3, says: /no backup with ID/ },
    { name: 'unknown ID (delete)', args: () => ['delete', UNKNOWN_ID, ...M], code: 3, says: /no backup with ID/ },
    { name: 'unknown ID (restore)', args: () => ['restore', UNKNOWN_ID, '--restore_dir', 'filesystem', '--restore_path', 'out', ...M], code: 3, says: /no backup with ID/ },
    { name: 'not an ID', args: () => ['list', 'x/y', ...M], code: 2, says: /bad backup ID/ },
    { name: 'bad endpoint', args: () => ['backup', '--backup_dir', 's3', '--endpoint', 'ftp//x', '--bucket', 'b1', '--data_dir', 'mo-data', ...M], code: 2, says: /bad --endpoint/ },
    { name: 'unreachable S3 endpoint', args: () => ['backup', '--backup_dir', 's3', '--endpoint', 'http://127.0.0.1:1', '--bucket', 'b1', '--access_key_id', 'AKIAEXAMPLE', '--secret_access_key', 'SECRETEXAMPLE', '--data_dir', 'mo-data', ...M], code: 5, says: /cannot reach/ },
    { name: 'unreachable MatrixOne', args: () => ['backup', '--host', '127.0.0.1', '--port', '1', '--user', 'dump', '--password', '111', '--backup_dir', 'filesystem', '--path', 'repo', ...M], code: 5, says: /cannot connect to MatrixOne at 127\.0\.0\.1:1/ },
    { name: 'server backup without --user', args: () => ['backup', '--host', '127.0.0.1', '--port', '6001', '--backup_dir', 'filesystem', '--path', 'repo', ...M], code: 2, says: /missing --user/ },
    { name: 'bad --port', args: () => ['backup', '--host', '127.0.0.1', '--port', '99999', '--backup_dir', 'filesystem', '--path', 'repo', ...M], code: 2, says: /bad --port/ },
    { name: 'restore without --restore_dir', args: () => ['restore', id, ...M], code: 2, says: /missing --restore_dir/ },
    { name: 'restore path under a file', args: () => ['restore', id, '--restore_dir', 'filesystem', '--restore_path', 'not-a-dir/x', ...M], code: 2, says: /not a folder/ },
    { name: 'restore path is a file', args: () => ['restore', id, '--restore_dir', 'filesystem', '--restore_path', 'not-a-dir', ...M], code: 2, says: /not a folder/ },
    { name: 'restore over an existing mo-data', args: () => ['restore', id, '--restore_dir', 'filesystem', '--restore_path', 'busy', ...M], code: 2, says: /already exists/ },
    { name: 'restore path not writable', args: () => ['restore', id, '--restore_dir', 'filesystem', '--restore_path', 'locked/here', ...M], code: 4, says: /: (permission denied|read-only file system)$/m, asRoot: false },
    { name: 'corrupt meta (list)', args: () => ['list', '--meta_path', 'corrupt.meta'], code: 6, says: /corrupt\.meta is damaged \(checksum mismatch\)/ },
    { name: 'corrupt meta (backup writes nothing)', args: () => ['backup', '--backup_dir', 'filesystem', '--path', 'repo2', '--data_dir', 'mo-data', '--meta_path', 'corrupt.meta'], code: 6, says: /is damaged/ },
    { name: 'meta path is a folder', args: () => ['list', '--meta_path', 'repo'], code: 2, says: /is a folder/ },
    { name: 'check without ID or --backup_dir', args: () => ['check', ...M], code: 2, says: /give a backup ID/ },
    { name: 'check a folder holding no repository', args: () => ['check', '--backup_dir', 'filesystem', '--backup_path', 'mo-data', ...M], code: 3, says: /no mobr repository/ },
    { name: 'bad boolean value', args: () => ['list', '--not_check_data=maybe', ...M], code: 2, says: /bad value for --not_check_data/ },
  ];

  // As root every folder is writable: the permission row locks a folder by its mode for other
  // users, and by mounting a read-only tmpfs over it for root (EROFS, said as "read-only file system"), so it runs either way.
  const isRoot = process.getuid?.() === 0;
  for (const row of rows) {
    it(row.name, async (t) => {
      let mounted = '';
      if (row.asRoot === false) {
        mkdirSync(path.join(work, 'locked'), { recursive: true });
        chmodSync(path.join(work, 'locked'), 0o500);
        if (isRoot) {
          mounted = path.join(work, 'locked');
          if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', mounted]).status !== 0) t.skip('root cannot mount a read-only tmpfs here, and modes do not stop root');
        }
      }
      try {
        await runRow(row);
      } finally {
        if (mounted) spawnSync('umount', [mounted]);
      }
    });
  }
  async function runRow(row: (typeof rows)[number]): Promise<void> {
    {
      const before = treeHash(work);
      const r = await mobr(row.args(), work);
      expect(r.code, r.stderr).toBe(row.code);
      expect(r.stderr).toMatch(/^mo_br: [^\n]+\n$/);
      expect(r.stderr).toMatch(row.says);
      expect(r.stderr).not.toMatch(/SECRETEXAMPLE|\bat .*\.js:\d+/);
      expect(treeHash(work)).toBe(before);
    }
  }

  it('--help and --version exit 0 on stdout', async () => {
    const h = await mobr(['--help'], work);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/Examples:/);
    expect(h.stderr).toBe('');
    const v = mobrSync(['--version'], work);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    const b = await mobr(['backup', '--help'], work);
    for (const f of ['--backup_dir', '--path', '--endpoint', '--access_key_id', '--secret_access_key', '--bucket', '--filepath', '--region', '--compression', '--role_arn', '--is_minio', '--parallelism', '--meta_path', '--backup_type', '--base_id', '--host', '--port', '--user', '--password', '--data_dir', '--json']) {
      expect(b.stdout).toContain(f);
    }
  });
});
