/**
 * mo_br's global flags through ./mo_br: --meta_path before or after the subcommand, --config
 * (./mo_br.toml by default; the command line wins), --log_file / --log_level (structured lines,
 * no secret), empty arguments ignored, `completion bash|zsh|fish`, `version`, and --json errors.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ensureBuilt, mobrIn as mobr, MO_BR } from './helpers/cli.js';
import { applyConfig, extractGlobals, type OptionTable } from '../src/cli/argv.js';

const backupId = (stdout: string) => /Backup ID\n {4}([0-9a-f-]{36})\n/.exec(stdout)![1];

let work: string;
beforeAll(() => {
  ensureBuilt();
  work = mkdtempSync(path.join(tmpdir(), 'mobr-cli-globals-'));
  mkdirSync(path.join(work, 'mo-data/shared'), { recursive: true });
  writeFileSync(path.join(work, 'mo-data/shared/obj'), 'object bytes '.repeat(1000));
});

describe('global flags', () => {
  it('--meta_path before or after the subcommand, and empty arguments, as mo_ctl passes them', async () => {
    const b = await mobr(['--meta_path', 'm1.meta', 'backup', '--backup_dir', 'filesystem', '--path', 'repo', '--data_dir', 'mo-data', '', ''], work);
    expect(b.stderr).toBe('');
    expect(b.code).toBe(0);
    const id = backupId(b.stdout);
    const before = await mobr(['--meta_path', 'm1.meta', 'list'], work);
    const after = await mobr(['list', '--meta_path', 'm1.meta'], work);
    const eq = await mobr(['list', '--meta_path=m1.meta', '', '--json'], work);
    expect(before.code).toBe(0);
    expect(before.stdout).toContain(`| ${id} |`);
    expect(after.stdout).toBe(before.stdout);
    expect(JSON.parse(eq.stdout).backups[0].id).toBe(id);
  });

  it('an empty argument that is a flag value is kept (--password "")', () => {
    const table: OptionTable = { valueFlags: new Set(['password', 'path']), commands: new Map() };
    expect(extractGlobals(['backup', '--password', '', '', '--json', '--path', 'x', ''], table)).toEqual({ globals: { json: true }, rest: ['backup', '--password', '', '--path', 'x'] });
    expect(extractGlobals(['--meta_path', '', 'list'], table)).toEqual({ globals: { meta_path: '' }, rest: ['list'] });
  });

  it('config precedence: the command line, then the flag\'s environment variable, then the file', () => {
    const table: OptionTable = { valueFlags: new Set(['password', 'user']), commands: new Map([['backup', new Map([['password', { takesValue: true, env: 'MO_BR_PASSWORD' }], ['user', { takesValue: true }], ['is_minio', { takesValue: false }]])]]) };
    const cfg = { file: 'c.toml', data: { password: 'from-file', user: 'u-file', is_minio: true, log_level: 'info' } };
    expect(applyConfig(cfg, 'backup', {}, ['backup'], table, {})).toEqual({ globals: { log_level: 'info' }, rest: ['backup', '--password', 'from-file', '--user', 'u-file', '--is_minio'] });
    expect(applyConfig(cfg, 'backup', { log_level: 'debug' }, ['backup', '--user=cli'], table, { MO_BR_PASSWORD: 'env' })).toEqual({ globals: { log_level: 'debug' }, rest: ['backup', '--user=cli', '--is_minio'] });
  });

  it('--config: any long flag as a key, [command] tables, ./mo_br.toml by default, the command line wins', async () => {
    const dir = path.join(work, 'cfg');
    mkdirSync(dir);
    writeFileSync(
      path.join(dir, 'mo_br.toml'),
      `meta_path = "c.meta"\nlog_level = "info"\nlog_file = "mo_br.log"\n\n[backup]\nbackup_dir = "filesystem"\npath = "repo-from-config"\ndata_dir = ${JSON.stringify(path.join(work, 'mo-data'))}\n\n[list]\nnot_check_data = true\n`,
    );
    const b = await mobr(['backup'], dir);
    expect(b.stderr).toBe('');
    expect(b.code).toBe(0);
    const id = backupId(b.stdout);
    expect(existsSync(path.join(dir, 'repo-from-config/backups', id))).toBe(true);
    expect(readFileSync(path.join(dir, 'c.meta'), 'utf8')).toContain(id);
    const wins = await mobr(['backup', '--path', 'repo-from-flag'], dir);
    expect(wins.code).toBe(0);
    expect(existsSync(path.join(dir, 'repo-from-flag/backups', backupId(wins.stdout)))).toBe(true);
    // --config names another file; a missing one is an error, a bad key too.
    writeFileSync(path.join(dir, 'other.toml'), 'meta_path = "other.meta"\n');
    const other = JSON.parse((await mobr(['list', '--config', 'other.toml', '--json'], dir)).stdout);
    expect(other.backups).toEqual([]);
    const missing = await mobr(['list', '--config', 'nope.toml'], dir);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/^mo_br: config file \S+nope\.toml does not exist\n$/);
    writeFileSync(path.join(dir, 'typo.toml'), 'backup_dri = "s3"\n');
    const typo = await mobr(['list', '--config', 'typo.toml'], dir);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toBe(`mo_br: config file ${path.join(dir, 'typo.toml')}: unknown key backup_dri (keys are long flag names, like backup_dir)\n`);
    writeFileSync(path.join(dir, 'table.toml'), '[bakup]\npath = "x"\n');
    const table = await mobr(['list', '--config', 'table.toml'], dir);
    expect(table.code).toBe(2);
    expect(table.stderr).toMatch(/^mo_br: config file \S+table\.toml: unknown table \[bakup\] \(a table is named after a command: backup, /);
    writeFileSync(path.join(dir, 'broken.toml'), 'meta_path = "unterminated\n');
    const broken = await mobr(['list', '--config', 'broken.toml'], dir);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/^mo_br: config file \S+broken\.toml is not valid TOML: .+\n$/);
    expect((statSync(path.join(dir, 'mo_br.log')).mode & 0o777).toString(8)).toBe('600');
  });

  it('--log_file / --log_level: structured lines with time, level, command and backup ID, never a secret', async () => {
    const log = path.join(work, 'mo_br.log');
    const b = await mobr(['backup', '--backup_dir', 'filesystem', '--path', 'repo', '--data_dir', 'mo-data', '--meta_path', 'm2.meta', '--log_file', log, '--log_level', 'debug', '--password', 'Sekr1t-pw'], work);
    expect(b.code).toBe(0);
    expect(b.stderr).toBe('');
    const id = backupId(b.stdout);
    const lines = readFileSync(log, 'utf8').trimEnd().split('\n');
    for (const l of lines) expect(l).toMatch(/^time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=(debug|info|warn|error) command=backup /);
    expect(lines.some((l) => l.includes(`backup_id=${id}`) && l.includes('level=info'))).toBe(true);
    expect(lines.at(-1)).toMatch(/ msg=done exit=0 seconds=[\d.]+$/);
    const bad = await mobr(['restore', '00000000-0000-1000-8000-000000000000', '--restore_dir', 'filesystem', '--restore_path', 'x', '--meta_path', 'm2.meta', '--log_file', log, '--backup_secret_access_key', 'Sekr1t-key'], work);
    expect(bad.code).toBe(3);
    const all = readFileSync(log, 'utf8');
    expect(all).toMatch(/level=error command=restore msg="no backup with ID 00000000-0000-1000-8000-000000000000 in [^"]+" exit=3\n/);
    expect(all).not.toContain('Sekr1t');
    // the default level is error: a good run logs nothing; a bad level is refused
    const quietLog = path.join(work, 'quiet.log');
    expect((await mobr(['list', '--meta_path', 'm2.meta', '--log_file', quietLog], work)).code).toBe(0);
    expect(existsSync(quietLog) ? readFileSync(quietLog, 'utf8') : '').toBe('');
    const lvl = await mobr(['list', '--log_level', 'loud'], work);
    expect(lvl.code).toBe(2);
    expect(lvl.stderr).toBe('mo_br: bad --log_level "loud": use debug, info, warn or error\n');
  });

  it('--log_file console (mo_br\'s documented default) logs to the console: no file named console', async () => {
    const dir = mkdtempSync(path.join(work, 'console-'));
    const r = await mobr(['list', '--meta_path', path.join(work, 'm2.meta'), '--log_file', 'console', '--log_level', 'info'], dir);
    expect(r.code).toBe(0);
    expect(existsSync(path.join(dir, 'console'))).toBe(false);
    expect(r.stderr).toMatch(/^time=\S+ level=info command=list .*msg=done exit=0/m);
  });

  it('--json: usage errors and failures are JSON documents with the exit code', async () => {
    const r = await mobr(['list', '--bogus', '--json'], work);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ schema: 'mobr.error.v1', error: { code: 'BAD_INPUT', exit: 2 } });
    expect(Object.keys(JSON.parse(r.stdout))[0]).toBe('schema');
    writeFileSync(path.join(work, 'bad.meta'), 'x');
    writeFileSync(path.join(work, 'bad.meta.sha256'), '0'.repeat(64));
    const c = await mobr(['--json', 'list', '--meta_path', 'bad.meta'], work);
    expect(c.code).toBe(6);
    expect(JSON.parse(c.stdout).error).toMatchObject({ code: 'CORRUPT', exit: 6, detail: 'CORRUPT_META' });
    expect(c.stderr).toMatch(/^mo_br: meta file \S+bad\.meta does not match its checksum file/);
  });
});

describe('version and completion', () => {
  it('version: version, commit, Node version, platform (text and JSON)', async () => {
    const v = await mobr(['version'], work);
    expect(v.code).toBe(0);
    const pkg = JSON.parse(readFileSync(path.join(MO_BR, '../package.json'), 'utf8')) as { version: string };
    expect(v.stdout).toMatch(new RegExp(`^mo_br \\(mobr\\) version ${pkg.version.replace(/\./g, '\\.')}\\ncommit: ([0-9a-f]{40}|unknown)\\nnode: ${process.version}\\nplatform: ${process.platform}/${process.arch}\\n$`));
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: path.dirname(MO_BR), encoding: 'utf8' }).trim();
    expect(v.stdout).toContain(`commit: ${head}\n`);
    const j = JSON.parse((await mobr(['version', '--json'], work)).stdout);
    expect(j).toEqual({ schema: 'mobr.version.v1', version: pkg.version, commit: head, node: process.version, platform: `${process.platform}/${process.arch}` });
  });

  it('completion bash completes commands and each command’s flags; zsh and fish scripts; a bad shell is refused', async () => {
    const script = path.join(work, 'mo_br.bash');
    const b = await mobr(['completion', 'bash'], work);
    expect(b.code).toBe(0);
    writeFileSync(script, b.stdout);
    const complete = (words: string[]) =>
      execFileSync('bash', ['-c', `source ${script}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _mo_br; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8' }).trim().split('\n').sort();
    expect(complete(['mo_br', 're'])).toEqual(['restore']);
    expect(complete(['mo_br', 'backup', '--ba'])).toEqual(['--backup_dir', '--backup_type', '--base_id']);
    expect(complete(['mo_br', 'list', '--me'])).toEqual(['--meta_path', '--metrics_file']);
    expect(complete(['mo_br', 'meta', ''])).toEqual(['rebuild']);
    expect(complete(['mo_br', 'completion', 'b'])).toEqual(['']);
    const z = await mobr(['completion', 'zsh'], work);
    expect(z.stdout.startsWith('#compdef mo_br\n')).toBe(true);
    const f = await mobr(['completion', 'fish'], work);
    expect(f.stdout).toContain("complete -c mo_br -n \"__fish_seen_subcommand_from restore\" -l restore_dir -r");
    expect(f.stdout).toContain('complete -c mo_br -l log_level -r');
    const bad = await mobr(['completion', 'tcsh'], work);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('mo_br: bad shell "tcsh": use bash, zsh or fish\n');
    const help = await mobr(['--help'], work);
    for (const s of ['--config <file>', '--log_file <file>', '--log_level <level>', 'completion <shell>', 'version ']) expect(help.stdout).toContain(s);
    expect(help.stdout).not.toMatch(/logical/i); // one vocabulary (#24.6): stats says total, as its output does
    expect(f.stdout).not.toMatch(/logical/i);
  });
});
