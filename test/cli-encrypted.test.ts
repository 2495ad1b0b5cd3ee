/**
 * Encrypted repositories through ./mo_br (spec/cli.md "Repository password", "Encryption"): a new
 * repository is encrypted whenever a password is at hand, the seed's commands keep making plain
 * ones and the summary says so once, `--encryption`, a wrong or missing password (one line, exit
 * 4), and the password from each source in no output, log, catalog or --json.
 * Key files use the cheap test KDF (MOBR_TEST_KDF).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ensureBuilt, mobrIn as mobr } from './helpers/cli.js';

let work: string;
beforeAll(() => {
  ensureBuilt();
  work = mkdtempSync(path.join(tmpdir(), 'mobr-cli-enc-'));
  mkdirSync(path.join(work, 'mo-data/shared'), { recursive: true });
  writeFileSync(path.join(work, 'mo-data/shared/obj'), 'object bytes '.repeat(1000));
});

const run = (args: string[], env: NodeJS.ProcessEnv = {}, cwd = work) =>
  mobr([...args, '--meta_path', path.join(work, 'm.meta')], cwd, { env: { MOBR_TEST_KDF: 'n=16,r=1,p=1', MO_BR_REPO_PASSWORD: undefined, ...env } });
const backup = (repo: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}, cwd = work) =>
  run(['backup', '--backup_dir', 'filesystem', '--path', path.join(work, repo), '--data_dir', path.join(work, 'mo-data'), ...extra], env, cwd);
const at = (repo: string) => ['--backup_dir', 'filesystem', '--backup_path', path.join(work, repo)];
const magic = (repo: string) => readFileSync(path.join(work, repo, 'config')).subarray(0, 4).toString('latin1');

describe('a new repository', () => {
  it('is encrypted when a password is at hand; list needs it: none or a wrong one is one line, exit 4', async () => {
    const b = await backup('enc', [], { MO_BR_REPO_PASSWORD: 'enc-pw-1' });
    expect([b.code, b.stderr]).toEqual([0, '']);
    expect(magic('enc')).toBe('MOBS');
    expect(readdirSync(path.join(work, 'enc', 'keys'))).toHaveLength(1);
    const ok = await run(['list', ...at('enc')], { MO_BR_REPO_PASSWORD: 'enc-pw-1' });
    expect(ok.code).toBe(0);
    const none = await run(['list', ...at('enc')]);
    expect([none.code, none.stdout]).toEqual([4, '']);
    expect(none.stderr).toBe(`mo_br: filesystem ${path.join(work, 'enc')} is encrypted: give its password in MO_BR_REPO_PASSWORD, with --repo_password_file <file> or --repo_password_command <command>, or as repo_password in mo_br.toml\n`);
    const wrong = await run(['list', ...at('enc'), '--json'], { MO_BR_REPO_PASSWORD: 'not-it' });
    expect(wrong.code).toBe(4);
    expect(wrong.stderr).toBe(`mo_br: wrong repository password for filesystem ${path.join(work, 'enc')}: it opens none of its 1 key file\n`);
    expect(JSON.parse(wrong.stdout).error).toMatchObject({ exit: 4, detail: 'WRONG_PASSWORD' });
  });

  it("the seed's commands (no password) make a plain one, and only the backup that made it says so in its summary", async () => {
    const first = await backup('plain', ['--verbose']);
    expect(first.code).toBe(0);
    expect(magic('plain')).toBe('MOBR');
    const note = '  note       this new repository is not encrypted; to encrypt a new one, give a repository password (MO_BR_REPO_PASSWORD, --repo_password_file or --repo_password_command)\n';
    expect(first.stderr.split(note)).toHaveLength(2);
    const second = await backup('plain', ['--verbose'], { MO_BR_REPO_PASSWORD: 'later-pw' }); // an existing plain repository stays plain
    expect(second.code).toBe(0);
    expect(second.stderr).toContain('summary: backup');
    expect(second.stderr).not.toContain('not encrypted');
    expect(magic('plain')).toBe('MOBR');
  });

  it('--encryption none with a password makes a plain one; a cipher without a password, or an unknown one, is exit 2 with nothing written', async () => {
    const none = await backup('none', ['--encryption', 'none'], { MO_BR_REPO_PASSWORD: 'unused-pw' });
    expect(none.code).toBe(0);
    expect(magic('none')).toBe('MOBR');
    const cipher = await backup('cipher', ['--encryption', 'aes-256-gcm']);
    expect([cipher.code, cipher.stdout]).toEqual([2, '']);
    expect(cipher.stderr).toBe('mo_br: --encryption aes-256-gcm needs a repository password: give one in MO_BR_REPO_PASSWORD, with --repo_password_file <file> or --repo_password_command <command>, or as repo_password in mo_br.toml\n');
    const bad = await backup('bad', ['--encryption', 'rot13'], { MO_BR_REPO_PASSWORD: 'x-pw' });
    expect([bad.code, bad.stderr]).toEqual([2, 'mo_br: bad --encryption "rot13": none or aes-256-gcm\n']);
    expect(readdirSync(work)).not.toContain('cipher');
    expect(readdirSync(work)).not.toContain('bad');
  });
});

describe('the repository password', () => {
  const pw = 'Zq7-secret-Pw';
  const sources: [string, string[], NodeJS.ProcessEnv, boolean][] = [
    ['MO_BR_REPO_PASSWORD', [], { MO_BR_REPO_PASSWORD: pw }, false],
    ['--repo_password_file', ['--repo_password_file', 'pw.txt'], {}, false],
    ['--repo_password_command', ['--repo_password_command', `printf '%s\\n' ${pw}`], {}, false],
    ['repo_password in mo_br.toml', [], {}, true],
  ];
  it.each(sources)('from %s: backup, list and check work, and it is in no output, log, catalog, --json or hook environment', async (name, args, env, toml) => {
    const dir = mkdtempSync(path.join(work, 'secret-'));
    if (toml) writeFileSync(path.join(dir, 'mo_br.toml'), `repo_password = "${pw}"\n`);
    writeFileSync(path.join(dir, 'pw.txt'), `${pw}\n`, { mode: 0o600 });
    const repo = path.relative(work, path.join(dir, 'repo'));
    const log = ['--log_file', path.join(dir, 'log'), '--log_level', 'debug', '--on_success', `env > ${path.join(dir, 'env')}`];
    const b = await backup(repo, [...args, ...log, '--verbose'], env, dir);
    expect(b.code).toBe(0);
    expect(magic(repo)).toBe('MOBS');
    const l = await run(['list', ...at(repo), '--json', ...args, ...log], env, dir);
    expect(JSON.parse(l.stdout).backups).toHaveLength(1);
    const c = await run(['check', ...at(repo), ...args, ...log], env, dir);
    expect(c.code).toBe(0);
    const seen = [b.stdout, b.stderr, l.stdout, l.stderr, c.stdout, c.stderr, readFileSync(path.join(dir, 'log'), 'utf8'), readFileSync(path.join(dir, 'env'), 'utf8')];
    seen.push(readFileSync(path.join(work, 'm.meta'), 'utf8'));
    expect(seen.join('\n')).toContain(path.basename(dir)); // the texts were read
    for (const text of seen) expect(text, name).not.toContain(pw);
  });
});
