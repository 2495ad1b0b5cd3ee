/**
 * `mo_br sync --reencrypt` (spec/sync.md §8) through ./mo_br: a plain repository into a new
 * encrypted one (the target's password from MO_BR_TARGET_PASSWORD), an encrypted one into a
 * repository of another key set (refused without --reencrypt, with a hint), and back to plain
 * with --encryption none. Each copy checks and dumps byte for byte with its own password; the
 * passwords reach no output. Key files use the cheap test KDF.
 */
import { mkdtempSync, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, mobrIn as mobr } from './helpers/cli.js';
import { pseudoRandom } from './helpers/tree.js';

const KDF = { MOBR_TEST_KDF: 'n=16,r=1,p=1', MO_BR_REPO_PASSWORD: undefined, MO_BR_TARGET_PASSWORD: undefined };
// text (dump's output is read as a string here): random hex and a marker
const data = Buffer.from(Buffer.from(pseudoRandom(5, 45_000)).toString('hex') + 'REENCRYPT-PLAIN-TEXT;'.repeat(200));
let work: string;
let plain: string;
let id: string;

const at = (repo: string) => ['--backup_dir', 'filesystem', '--backup_path', repo];
const sync = (from: string, to: string, extra: string[], env: NodeJS.ProcessEnv) =>
  mobr(['sync', ...at(from), '--target_dir', 'filesystem', '--target_path', to, ...extra, '--meta_path', path.join(work, 'm.meta')], work, { env: { ...KDF, ...env } });

/** check and dump of the copy with `password` (undefined: a plain copy). */
async function expectReadable(repo: string, password: string | undefined): Promise<void> {
  const env = { ...KDF, MO_BR_REPO_PASSWORD: password };
  const check = await mobr(['check', id, ...at(repo)], work, { env });
  expect({ code: check.code, stderr: check.stderr }).toEqual({ code: 0, stderr: '' });
  const dump = await mobr(['dump', id, 'f.dat', ...at(repo)], work, { env });
  expect(dump.code, dump.stderr).toBe(0);
  expect(dump.stdout === data.toString()).toBe(true);
}

const magic = async (repo: string) => (await fsp.readFile(path.join(repo, 'config'))).subarray(0, 4).toString();

beforeAll(async () => {
  ensureBuilt();
  work = mkdtempSync(path.join(tmpdir(), 'mobr-reencrypt-cli-'));
  plain = path.join(work, 'plain');
  await fsp.mkdir(path.join(work, 'src'));
  await fsp.writeFile(path.join(work, 'src', 'f.dat'), data);
  const b = await mobr(['backup', '--data_dir', path.join(work, 'src'), '--backup_dir', 'filesystem', '--path', plain, '--json', '--meta_path', path.join(work, 'm.meta')], work, { env: KDF });
  expect(b.code, b.stderr).toBe(0);
  id = JSON.parse(b.stdout).id;
}, 30_000);

describe('sync --reencrypt through ./mo_br', () => {
  it('plain -> a new encrypted repository, with the target password; no plaintext there; a second run sends nothing', async () => {
    const enc = path.join(work, 'enc-a');
    const hookEnv = path.join(work, 'hook.env');
    const s = await sync(plain, enc, ['--reencrypt', '--on_success', `env > ${hookEnv}`], { MO_BR_TARGET_PASSWORD: 'Target-Pw-A' });
    expect(s.code, s.stderr).toBe(0);
    expect(s.stdout).toMatch(/copied 1 backups \(0 already there\)/);
    expect(s.stdout + s.stderr + (await fsp.readFile(hookEnv, 'utf8'))).not.toContain('Target-Pw-A');
    expect(await magic(enc)).toBe('MOBS');
    await expectReadable(enc, 'Target-Pw-A');
    for (const f of await fsp.readdir(path.join(enc, 'data'), { recursive: true })) {
      const p = path.join(enc, 'data', f);
      if ((await fsp.stat(p)).isFile()) expect((await fsp.readFile(p)).includes('REENCRYPT-PLAIN-TEXT')).toBe(false);
    }
    const again = await sync(plain, enc, ['--reencrypt'], { MO_BR_TARGET_PASSWORD: 'Target-Pw-A' });
    expect(again.stdout).toMatch(/copied 0 backups \(1 already there\), 0 packs sent/);
  }, 40_000);

  const a2 = () => path.join(work, 'enc-a2');
  const b = () => path.join(work, 'enc-b');
  it('encrypted -> another key set: refused without --reencrypt (with the hint); a wrong target password is exit 4', async () => {
    expect((await sync(plain, a2(), ['--reencrypt'], { MO_BR_REPO_PASSWORD: 'Pw-A' })).code).toBe(0); // the repository password, no target one
    const made = await mobr(['backup', '--data_dir', path.join(work, 'src'), '--backup_dir', 'filesystem', '--path', b(), '--meta_path', path.join(work, 'b.meta')], work, { env: { ...KDF, MO_BR_REPO_PASSWORD: 'Pw-B' } });
    expect(made.code, made.stderr).toBe(0);
    const refused = await sync(a2(), b(), [], { MO_BR_REPO_PASSWORD: 'Pw-A' });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/share a master key; sync --reencrypt re-chunks and re-seals them for the target\n$/);
    const wrong = await sync(a2(), b(), ['--reencrypt'], { MO_BR_REPO_PASSWORD: 'Pw-A', MO_BR_TARGET_PASSWORD: 'not-B' });
    expect([wrong.code, wrong.stderr]).toEqual([4, `mo_br: wrong repository password for filesystem ${b()}: it opens none of its 1 key file\n`]);
  }, 40_000);

  it('encrypted -> another key set with --reencrypt: copied, and the copy reads with the target password', async () => {
    const ok = await sync(a2(), b(), ['--reencrypt'], { MO_BR_REPO_PASSWORD: 'Pw-A', MO_BR_TARGET_PASSWORD: 'Pw-B' });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/copied 1 backups/);
    await expectReadable(b(), 'Pw-B');
  }, 40_000);

  it('encrypted -> plain only with --encryption none (and --encryption only with --reencrypt)', async () => {
    const a = path.join(work, 'enc-a');
    const out = path.join(work, 'plain-again');
    const alone = await sync(a, out, ['--encryption', 'none'], { MO_BR_REPO_PASSWORD: 'Target-Pw-A' });
    expect([alone.code, alone.stderr]).toEqual([2, 'mo_br: --encryption chooses what sync --reencrypt makes of a new target; without --reencrypt a new target is a copy of the source\n']);
    await expect(fsp.stat(out)).rejects.toThrow(/ENOENT/);
    const s = await sync(a, out, ['--reencrypt', '--encryption', 'none'], { MO_BR_REPO_PASSWORD: 'Target-Pw-A' });
    expect(s.code, s.stderr).toBe(0);
    expect(await magic(out)).toBe('MOBR');
    await expectReadable(out, undefined);
  }, 40_000);
});
