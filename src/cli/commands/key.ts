/**
 * `mo_br key list|add|remove|passwd --backup_dir … --backup_path …` (spec/cli.md "Keys"): the key
 * files of an encrypted repository (src/crypto/keyfile.ts). Every subcommand first unlocks with
 * the repository password (that key file is the *current* one). `key add` and `key passwd` take
 * the new password from `--new_password_file`, or a prompt (twice, not echoed) when stdin is a
 * terminal; otherwise they refuse. Locks (spec/gc.md §2, src/repo/key-change.ts): `key add` in a
 * shared session (adding races with nothing), `key remove` and `key passwd` in the exclusive one,
 * so two removals can never race the repository down to no key, each write fenced; `key list`
 * reads only.
 */
import { MobrError } from '../../errors.js';
import { findKeyFile, listKeys, unlockKey } from '../../crypto/keyfile.js';
import type { MasterKey } from '../../crypto/master.js';
import { addKeyFile, removeKeyFile, replaceKeyFile } from '../../repo/key-change.js';
import { openStore } from '../../store/open.js';
import type { Store } from '../../store/store.js';
import { bestEffort } from '../../util/best-effort.js';
import { printJson, type CliContext } from '../context.js';
import { backupSideLocation, credentialsOf, type RepoFlags } from '../resolve.js';
import { newKdf, readPassword, repoPasswords, HOW_TO_GIVE } from '../repo-password.js';
import { renderTable } from '../table.js';
import { promptNewPassword } from '../prompt.js';

export interface KeyFlags extends RepoFlags {
  new_password_file?: string;
}

interface Unlocked {
  store: Store;
  where: string;
  master: MasterKey;
  current: string;
}

/** Opens the repository's store and unlocks its keys with the run's password. */
async function unlocked(flags: KeyFlags, ctx: CliContext): Promise<Unlocked> {
  if (!flags.backup_dir) throw new MobrError('BAD_INPUT', 'missing --backup_dir (filesystem or s3) and the repository\'s location (--backup_path …)');
  const store = openStore(backupSideLocation(flags), { credentials: credentialsOf(flags) });
  const where = store.location;
  try {
    if (!(await store.has('config'))) throw new MobrError('NO_REPO', `no mobr repository at ${where}`);
    const keys = await listKeys(store);
    if (keys.length === 0) {
      const how = 'a plain repository stays plain; sync it into a new repository with a password to get an encrypted copy';
      throw new MobrError('BAD_INPUT', `${where} is not encrypted: it has no keys (${how})`);
    }
    const pw = await repoPasswords().get('repo');
    if (!pw) throw new MobrError('PASSWORD_NEEDED', `${where} is encrypted: ${HOW_TO_GIVE}`);
    const { master, keyId } = await unlockKey(store, pw);
    ctx.log?.debug('unlocked', { key: keyId.slice(0, 8) });
    return { store, where, master, current: keyId };
  } catch (e) {
    await bestEffort(async () => store.close?.(), `close ${where}`);
    throw e;
  }
}

/** The new password: --new_password_file, else a prompt on a terminal, else refused. */
async function newPassword(flags: KeyFlags): Promise<Uint8Array> {
  let pw: string;
  if (flags.new_password_file !== undefined) pw = await readPassword({ file: flags.new_password_file, from: '--new_password_file' });
  else if (process.stdin.isTTY) pw = await promptNewPassword();
  else throw new MobrError('BAD_INPUT', 'no new password: give --new_password_file <file> (stdin is not a terminal, so there is no prompt)');
  return new TextEncoder().encode(pw);
}

async function run<T>(flags: KeyFlags, ctx: CliContext, fn: (u: Unlocked) => Promise<T>): Promise<T> {
  const u = await unlocked(flags, ctx);
  try {
    return await fn(u);
  } finally {
    await bestEffort(async () => u.store.close?.(), `close ${u.where}`);
  }
}

export async function runKeyList(flags: KeyFlags, ctx: CliContext): Promise<void> {
  await run(flags, ctx, async ({ store, where, current }) => {
    const keys = await listKeys(store);
    if (ctx.json) {
      const json = keys.map(({ id, ...k }) => ({ id, current: id === current, ...k }));
      printJson(ctx, 'key', { repository: where, keys: json });
      return;
    }
    const kdf = (k: (typeof keys)[number]) => (k.damaged ? `damaged: ${k.damaged}` : `scrypt n=${k.kdf.n},r=${k.kdf.r},p=${k.kdf.p}`);
    const created = (k: (typeof keys)[number]) => k.created.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
    const rows = keys.map((k) => [`${k.id === current ? '*' : ' '}${k.id.slice(0, 8)}`, created(k), k.host, k.user, kdf(k)]);
    ctx.stdout.write(renderTable([' ID', 'Created', 'Host', 'User', 'KDF'], rows));
  });
}

export async function runKeyAdd(flags: KeyFlags, ctx: CliContext): Promise<void> {
  const kdf = newKdf();
  await run(flags, ctx, async ({ store, where, master }) => {
    const pw = await newPassword(flags);
    const id = await addKeyFile(store, master, pw, { kdf, signal: ctx.signal });
    if (ctx.json) printJson(ctx, 'key', { repository: where, added: id });
    else ctx.stdout.write(`key ${id.slice(0, 8)} added to ${where}\n`);
  });
}

export async function runKeyRemove(prefix: string, flags: KeyFlags, ctx: CliContext): Promise<void> {
  await run(flags, ctx, async ({ store, where, current }) => {
    const id = await findKeyFile(store, prefix);
    await removeKeyFile(store, id, current, { signal: ctx.signal });
    if (ctx.json) printJson(ctx, 'key', { repository: where, removed: id });
    else ctx.stdout.write(`key ${id.slice(0, 8)} removed from ${where}\n`);
  });
}

export async function runKeyPasswd(flags: KeyFlags, ctx: CliContext): Promise<void> {
  const kdf = newKdf();
  await run(flags, ctx, async ({ store, where, master, current }) => {
    const pw = await newPassword(flags);
    const id = await replaceKeyFile(store, master, pw, current, { kdf, signal: ctx.signal });
    if (ctx.json) printJson(ctx, 'key', { repository: where, added: id, removed: current });
    else ctx.stdout.write(`password changed: key ${id.slice(0, 8)} replaces key ${current.slice(0, 8)} in ${where}\n`);
  });
}
