/**
 * `key add` and `key passwd` without --new_password_file, on a real pseudo-terminal (`script`
 * from util-linux): they ask for the new password twice on the terminal, never echo it, and the
 * key file they write opens with what was typed; two different answers, an empty one or Ctrl-C
 * change nothing (spec/cli.md "Keys"). Key files use the cheap test KDF.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { keyedRepo as keyedRepoAt } from './helpers/keyed-repo.js';
import { ensureBuilt, MO_BR } from './helpers/cli.js';
import { hasScript } from './helpers/tty.js';
import { keyFileIds, unlockKey } from '../src/crypto/keyfile.js';
import { FsStore } from '../src/store/fs.js';

const enc = (s: string) => new TextEncoder().encode(s);
let work: string;
beforeAll(() => {
  ensureBuilt();
  work = mkdtempSync(path.join(tmpdir(), 'mobr-key-prompt-'));
});

/** A repository folder `name` (under the test's folder) with one key file for `password`. */
const keyedRepo = (name: string, password: string) => keyedRepoAt(path.join(work, name), password);

/**
 * Runs `./mo_br key <args>` on a pseudo-terminal and types `answers` (each once the terminal shows
 * the next prompt; a string ends with Enter, as a terminal in raw mode sends it: \r). Returns all
 * the terminal showed.
 */
function onTerminalTyping(repo: string, args: string[], answers: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  const argv = [process.execPath, MO_BR, 'key', ...args, '--backup_dir', 'filesystem', '--backup_path', repo];
  const cmd = argv.map((a) => `'${a}'`).join(' ');
  const full = { ...process.env, MOBR_TEST_KDF: 'n=16,r=1,p=1', MO_BR_REPO_PASSWORD: undefined, ...env };
  const p = spawn('script', ['-qfec', cmd, '/dev/null'], { cwd: work, env: full, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let prompts = 0;
  p.stdout.on('data', (d) => {
    out += d;
    const seen = out.match(/new repository password: |enter it again: /g)?.length ?? 0;
    for (; prompts < seen; prompts++) if (prompts < answers.length) p.stdin.write(answers[prompts]);
  });
  const timer = setTimeout(() => p.kill('SIGKILL'), 20_000);
  return new Promise((resolve) => p.on('close', (code) => (clearTimeout(timer), p.stdin.destroy(), resolve({ code, out }))));
}

describe.skipIf(!hasScript)('key add and key passwd prompt on a terminal', () => {
  it('key add: asked twice, not echoed; the new key opens with what was typed', async () => {
    const repo = await keyedRepo('add', 'old-pw');
    const r = await onTerminalTyping(repo, ['add'], ['Typed-Secret-1\r', 'Typed-Secret-1\r'], { MO_BR_REPO_PASSWORD: 'old-pw' });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('new repository password: ');
    expect(r.out).toContain('enter it again: ');
    expect(r.out).toMatch(/key [0-9a-f]{8} added to filesystem /);
    expect(r.out).not.toContain('Typed-Secret'); // no echo, no output of it
    expect(await keyFileIds(new FsStore(repo))).toHaveLength(2);
    const { keyId } = await unlockKey(new FsStore(repo), enc('Typed-Secret-1'));
    expect(r.out).toContain(keyId.slice(0, 8));
  });

  it('key passwd: the typed password replaces the current one', async () => {
    const repo = await keyedRepo('passwd', 'old-pw');
    const r = await onTerminalTyping(repo, ['passwd'], ['New-Typed-2\r', 'New-Typed-2\r'], { MO_BR_REPO_PASSWORD: 'old-pw' });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/password changed: key [0-9a-f]{8} replaces key [0-9a-f]{8}/);
    expect(r.out).not.toContain('New-Typed');
    expect(await keyFileIds(new FsStore(repo))).toHaveLength(1);
    await unlockKey(new FsStore(repo), enc('New-Typed-2'));
    await expect(unlockKey(new FsStore(repo), enc('old-pw'))).rejects.toThrow(/wrong repository password/);
  });

  it('both answers typed at once (a paste): neither is echoed or lost', async () => {
    const repo = await keyedRepo('paste', 'old-pw');
    const r = await onTerminalTyping(repo, ['add'], ['Both-At-Once\rBoth-At-Once\r'], { MO_BR_REPO_PASSWORD: 'old-pw' });
    expect(r.code, r.out).toBe(0);
    expect(r.out).not.toContain('Both-At');
    await unlockKey(new FsStore(repo), enc('Both-At-Once'));
  });

  it('two different answers or an empty one: exit 2, one line, nothing written', async () => {
    const repo = await keyedRepo('refused', 'old-pw');
    const env = { MO_BR_REPO_PASSWORD: 'old-pw' };
    const differ = await onTerminalTyping(repo, ['add'], ['one-pw\r', 'two-pw\r'], env);
    expect(differ.code).toBe(2);
    expect(differ.out).toContain('mo_br: the two passwords differ; nothing changed');
    const empty = await onTerminalTyping(repo, ['passwd'], ['\r'], env);
    expect(empty.code).toBe(2);
    expect(empty.out).toContain('mo_br: the new password is empty');
    expect(await keyFileIds(new FsStore(repo))).toHaveLength(1);
  });

  it('Ctrl-C at the prompt: exit 130, one line, no stack trace, nothing written', async () => {
    const repo = await keyedRepo('ctrl-c', 'old-pw');
    const env = { MO_BR_REPO_PASSWORD: 'old-pw' };
    const ctrlC = await onTerminalTyping(repo, ['add'], ['half\u0003'], env);
    expect(ctrlC.code).toBe(130);
    expect(ctrlC.out).toContain('interrupted (no new password)');
    expect(ctrlC.out).not.toMatch(/\n\s+at /); // no stack trace
    expect(await keyFileIds(new FsStore(repo))).toHaveLength(1);
    await unlockKey(new FsStore(repo), enc('old-pw'));
  });
});
