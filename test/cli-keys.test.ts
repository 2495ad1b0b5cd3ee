/**
 * `mo_br key list|add|remove|passwd` and the repository password's sources through ./mo_br
 * (spec/cli.md "Repository password", "Keys"). Key files use the cheap test KDF (MOBR_TEST_KDF).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { keyedRepo as keyedRepoAt } from './helpers/keyed-repo.js';
import { ensureBuilt, mobrIn as mobr } from './helpers/cli.js';
import { FsStore } from '../src/store/fs.js';
import { Repository } from '../src/repo/repository.js';
import { addKey, keyFileIds, unlockKeys } from '../src/crypto/keyfile.js';

const TEST_KDF = 'n=16,r=1,p=1';
const enc = (s: string) => new TextEncoder().encode(s);

let work: string;
beforeAll(() => {
  ensureBuilt();
  work = mkdtempSync(path.join(tmpdir(), 'mobr-cli-keys-'));
});

/** A repository folder `name` (under the test's folder) with one key file for `password`. */
const keyedRepo = (name: string, password: string) => keyedRepoAt(path.join(work, name), password);

const file = (name: string, text: string) => {
  const p = path.join(work, name);
  writeFileSync(p, text, { mode: 0o600 });
  return p;
};

/** ./mo_br key … on `repo` with `env` (MO_BR_REPO_PASSWORD, …). */
const key = (repo: string, args: string[], env: NodeJS.ProcessEnv = {}, cwd = work) =>
  mobr(['key', ...args, '--backup_dir', 'filesystem', '--backup_path', repo], cwd, { env: { MOBR_TEST_KDF: TEST_KDF, MO_BR_REPO_PASSWORD: undefined, ...env } });

describe('key commands', () => {
  it('add, then list: every key, the current one marked (table and --json)', async () => {
    const repo = await keyedRepo('life', 'first-pw');
    const add = await key(repo, ['add', '--new_password_file', file('second', 'second-pw\n')], { MO_BR_REPO_PASSWORD: 'first-pw' });
    expect(add.stderr).toBe('');
    expect(add.stdout).toMatch(new RegExp(`^key [0-9a-f]{8} added to filesystem ${repo}\n$`));
    const ids = await keyFileIds(new FsStore(repo));
    expect(ids).toHaveLength(2);
    const second = ids.find((i) => add.stdout.includes(i.slice(0, 8)))!;
    const first = ids.find((i) => i !== second)!;
    const list = await key(repo, ['list', '--json'], { MO_BR_REPO_PASSWORD: 'second-pw' });
    const doc = JSON.parse(list.stdout);
    expect(doc.schema).toBe('mobr.key.v1');
    expect(doc.keys.map((k: { id: string; current: boolean }) => [k.id, k.current]).sort()).toEqual([[first, false], [second, true]].sort());
    expect(doc.keys[0].host).not.toBe('');
    const table = await key(repo, ['list'], { MO_BR_REPO_PASSWORD: 'first-pw' });
    expect(table.stdout).toContain(`*${first.slice(0, 8)}`);
    expect(table.stdout).toContain(` ${second.slice(0, 8)}`);
  });

  it('remove: refused for the current key and the last key, another goes; passwd replaces the current key', async () => {
    const repo = await keyedRepo('remove', 'first-pw');
    const master = await unlockKeys(new FsStore(repo), enc('first-pw'));
    const second = await addKey(new FsStore(repo), master, enc('second-pw'), { kdf: { name: 'scrypt', n: 16, r: 1, p: 1 } });
    const first = (await keyFileIds(new FsStore(repo))).find((i) => i !== second)!;
    const env = { MO_BR_REPO_PASSWORD: 'first-pw' };
    const self = await key(repo, ['remove', first.slice(0, 8)], env);
    expect([self.code, self.stderr]).toEqual([2, `mo_br: key ${first.slice(0, 8)} is the one this command unlocked with: give another key's password to remove it, or use key passwd\n`]);
    const rm = await key(repo, ['remove', second.slice(0, 6)], env);
    expect([rm.code, rm.stdout]).toEqual([0, `key ${second.slice(0, 8)} removed from filesystem ${repo}\n`]);
    const last = await key(repo, ['remove', first], env);
    expect([last.code, last.stderr]).toEqual([2, `mo_br: key ${first.slice(0, 8)} is the last key of filesystem ${repo}: removing it would make the repository unreadable; add another first (key add)\n`]);
    const pw = await key(repo, ['passwd', '--new_password_file', file('third', 'third-pw')], env);
    expect(pw.stdout).toMatch(new RegExp(`^password changed: key [0-9a-f]{8} replaces key ${first.slice(0, 8)} in filesystem `));
    const old = await key(repo, ['list'], env);
    expect([old.code, old.stderr]).toEqual([4, `mo_br: wrong repository password for filesystem ${repo}: it opens none of its 1 key file\n`]);
    expect((await key(repo, ['list'], { MO_BR_REPO_PASSWORD: 'third-pw' })).code).toBe(0);
  });

  it('no password: one line saying how to give one, exit 4; no new password off a terminal: exit 2; a plain repository has no keys', async () => {
    const repo = await keyedRepo('nopw', 'pw-one');
    const none = await key(repo, ['list'], {});
    expect([none.code, none.stdout]).toEqual([4, '']);
    expect(none.stderr).toBe(`mo_br: filesystem ${repo} is encrypted: give its password in MO_BR_REPO_PASSWORD, with --repo_password_file <file> or --repo_password_command <command>, or as repo_password in mo_br.toml\n`);
    const add = await key(repo, ['add'], { MO_BR_REPO_PASSWORD: 'pw-one' });
    expect([add.code, add.stderr]).toEqual([2, 'mo_br: no new password: give --new_password_file <file> (stdin is not a terminal, so there is no prompt)\n']);
    const plain = path.join(work, 'plain');
    await Repository.init(new FsStore(plain));
    const p = await key(plain, ['list'], { MO_BR_REPO_PASSWORD: 'pw-one' });
    expect(p.code).toBe(2);
    expect(p.stderr).toMatch(/^mo_br: filesystem .* is not encrypted: it has no keys/);
  });
});

describe('repository password sources', () => {
  it('the environment, a file, a command and mo_br.toml each unlock; the command line wins over the environment, which wins over the config', async () => {
    const repo = await keyedRepo('sources', 'src-pw');
    const ok = async (args: string[], env: NodeJS.ProcessEnv, cwd = work) => {
      const r = await key(repo, ['list', ...args], env, cwd);
      return `${r.code} ${r.stderr}`;
    };
    expect(await ok([], { MO_BR_REPO_PASSWORD: 'src-pw' })).toBe('0 ');
    expect(await ok(['--repo_password_file', file('pwfile', 'src-pw\n')], { MO_BR_REPO_PASSWORD: 'wrong-pw' })).toBe('0 ');
    expect(await ok(['--repo_password_command', 'printf "src-pw\\n"'], {})).toBe('0 ');
    const cfgDir = mkdtempSync(path.join(work, 'cfg-'));
    writeFileSync(path.join(cfgDir, 'mo_br.toml'), 'repo_password = "src-pw"\n');
    expect(await ok([], {}, cfgDir)).toBe('0 ');
    expect(await ok([], { MO_BR_REPO_PASSWORD: 'wrong-pw' }, cfgDir)).toMatch(/^4 mo_br: wrong repository password/);
    writeFileSync(path.join(cfgDir, 'mo_br.toml'), '[key]\nrepo_password_command = "echo src-pw"\n');
    expect(await ok([], {}, cfgDir)).toBe('0 ');
  });

  it('refusals: the password in argv, a file and a command at once, a failing command, an empty password', async () => {
    const repo = await keyedRepo('refusals', 'ref-pw');
    const argv = await key(repo, ['list', '--repo_password', 'ref-pw'], {});
    expect(argv.code).toBe(2);
    expect(argv.stderr).toBe('mo_br: --repo_password is not taken on the command line (every user can read it there): give the password in MO_BR_REPO_PASSWORD, with --repo_password_file or --repo_password_command, or as repo_password in mo_br.toml\n');
    const both = await key(repo, ['list', '--repo_password_file', 'x', '--repo_password_command', 'y'], {});
    expect([both.code, both.stderr]).toEqual([2, 'mo_br: --repo_password_file and --repo_password_command are both given: give one\n']);
    const failing = await key(repo, ['list', '--repo_password_command', 'exit 3'], {});
    expect([failing.code, failing.stderr]).toEqual([4, 'mo_br: --repo_password_command failed (exit 3): no repository password\n']);
    const empty = await key(repo, ['list', '--repo_password_file', file('empty', '\n')], {});
    expect([empty.code, empty.stderr]).toEqual([2, 'mo_br: the repository password from --repo_password_file is empty\n']);
  });

  it('--repo_kdf: stored in the key files key add writes; too cheap or malformed is exit 2; a missing password file exit 3', async () => {
    const repo = await keyedRepo('kdf', 'kdf-pw');
    const env = { MO_BR_REPO_PASSWORD: 'kdf-pw' };
    const add = await key(repo, ['add', '--repo_kdf', 'n=16384,r=1,p=1', '--new_password_file', file('kdf2', 'other-pw')], env);
    expect(add.code).toBe(0);
    const list = JSON.parse((await key(repo, ['list', '--json'], env)).stdout);
    expect(list.keys.map((k: { kdf: { n: number } }) => k.kdf.n).sort()).toEqual([16, 16384]);
    const cheap = await key(repo, ['add', '--repo_kdf', 'n=1024,r=8,p=1', '--new_password_file', file('kdf3', 'x-pw')], env);
    expect([cheap.code, cheap.stderr]).toEqual([2, 'mo_br: bad --repo_kdf: n=1024 is too cheap for a password; at least n=16384\n']);
    const bad = await key(repo, ['add', '--repo_kdf', 'n=1000,r=8,p=1', '--new_password_file', file('kdf3', 'x-pw')], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^mo_br: bad --repo_kdf "n=1000,r=8,p=1": want n=<power of two>/);
    const missing = await key(repo, ['list', '--repo_password_file', path.join(work, 'no-such-file')], {});
    expect([missing.code, missing.stderr]).toEqual([3, `mo_br: --repo_password_file ${path.join(work, 'no-such-file')} does not exist\n`]);
  });

  it('the password from each source reaches no output, log, --json document or hook environment', async () => {
    const repo = await keyedRepo('secret', 'Sekr1t-Pa55-word');
    const cfgDir = mkdtempSync(path.join(work, 'secret-cfg-'));
    writeFileSync(path.join(cfgDir, 'mo_br.toml'), 'repo_password = "Sekr1t-Pa55-word"\n');
    const sources: [string[], NodeJS.ProcessEnv, string][] = [
      [[], { MO_BR_REPO_PASSWORD: 'Sekr1t-Pa55-word' }, work],
      [['--repo_password_file', file('secret-pw', 'Sekr1t-Pa55-word\n')], {}, work],
      [['--repo_password_command', 'echo Sekr1t-Pa55-word'], {}, work],
      [[], {}, cfgDir],
    ];
    for (const [i, [args, env, cwd]] of sources.entries()) {
      const log = path.join(work, `secret-${i}.log`);
      const hookEnv = path.join(work, `secret-${i}.env`);
      const r = await key(repo, ['list', '--json', ...args, '--log_file', log, '--log_level', 'debug', '--on_success', `env > ${hookEnv}`], env, cwd);
      expect(r.code).toBe(0);
      const seen = [r.stdout, r.stderr, readFileSync(log, 'utf8'), readFileSync(hookEnv, 'utf8')].join('\n');
      expect(seen).toContain('"current": true');
      expect(seen).not.toContain('Sekr1t');
      expect(readFileSync(hookEnv, 'utf8')).not.toContain('MO_BR_REPO_PASSWORD');
    }
  });
});
