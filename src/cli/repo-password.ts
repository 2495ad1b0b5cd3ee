/**
 * The repository password (spec/cli.md "Repository password"), restic's habits: never needed on
 * the command line. Sources, the first given wins:
 *   1. `--repo_password_file <file>` or `--repo_password_command <command>` on the command line
 *      (both at once: bad input);
 *   2. the environment: `MO_BR_REPO_PASSWORD`;
 *   3. the config file (mo_br.toml): `repo_password`, `repo_password_file` or `repo_password_command`.
 * A file or command is read once, when a repository first needs it; one
 * trailing newline is removed. Every value read joins the run's secrets (masked everywhere).
 * `--password` stays MatrixOne's database password.
 */
import { spawn } from 'node:child_process';
import { deniedReason, MobrError } from '../errors.js';
import { DEFAULT_KDF, MIN_NEW_KDF_N, checkKdf, type KdfParams } from '../crypto/keyfile.js';
import { readRegularFile, type GlobalFlags } from './argv.js';

/** `repo`: the repository a command reads or writes (sync: the source); `target`: sync's target. */
export type PasswordSide = 'repo' | 'target';

/** Where one side's password comes from: at most one of these. */
export interface PasswordSource {
  /** The password itself (environment or config file). */
  value?: string;
  file?: string;
  command?: string;
  /** For messages: `MO_BR_REPO_PASSWORD`, `--repo_password_file`, `repo_password in mo_br.toml`, … */
  from: string;
}

/** The flags and keys each side reads (names without dashes). */
const NAMES: Record<PasswordSide, { env: string; file: string; command: string; value: string }> = {
  repo: { env: 'MO_BR_REPO_PASSWORD', file: 'repo_password_file', command: 'repo_password_command', value: 'repo_password' },
  target: { env: 'MO_BR_TARGET_PASSWORD', file: 'target_password_file', command: 'target_password_command', value: 'target_password' },
};
/** Global flags (any command, before or after it). */
export const PASSWORD_FLAGS = ['repo_password_file', 'repo_password_command', 'repo_kdf'] as const;
/** Keys only a config file may hold (a password in argv would be world-readable). */
export const PASSWORD_CONFIG_KEYS = ['repo_password'] as const;
/** Environment variables holding a repository password: never passed to a hook. */
export const PASSWORD_ENV = [NAMES.repo.env, NAMES.target.env];


/** One side's source from the command line's globals, the environment and the config's values. */
export function passwordSource(
  side: PasswordSide,
  cliFlags: object,
  env: NodeJS.ProcessEnv,
  configured: object,
  configFile = 'the config file',
): PasswordSource | undefined {
  const n = NAMES[side];
  const cli = cliFlags as Record<string, unknown>;
  const config = configured as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const pick = (file: unknown, command: unknown, where: (k: string) => string): PasswordSource | undefined => {
    if (str(file) !== undefined && str(command) !== undefined) throw bothGiven(where(n.file), where(n.command));
    if (str(file) !== undefined) return { file: str(file), from: where(n.file) };
    if (str(command) !== undefined) return { command: str(command), from: where(n.command) };
    return undefined;
  };
  const flag = pick(cli[n.file], cli[n.command], (k) => `--${k}`);
  if (flag) return flag;
  if (env[n.env] !== undefined && env[n.env] !== '') return { value: env[n.env], from: n.env };
  const inConfig = (k: string) => `${k} in ${configFile}`;
  const other = str(config[n.file]) !== undefined ? n.file : str(config[n.command]) !== undefined ? n.command : undefined;
  if (str(config[n.value]) !== undefined && other !== undefined) throw bothGiven(inConfig(n.value), inConfig(other));
  if (str(config[n.value]) !== undefined) return { value: str(config[n.value]), from: inConfig(n.value) };
  return pick(config[n.file], config[n.command], inConfig);
}

const bothGiven = (a: string, b: string) => new MobrError('BAD_INPUT', `${a} and ${b} are both given: give one`);

const MAX_PASSWORD_BYTES = 64 * 1024;
const stripNewline = (s: string) => s.replace(/\r?\n$/, '');

/** Runs a password command (/bin/sh -c): its stdout, one trailing newline removed. */
function runPasswordCommand(command: string, from: string, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], { stdio: ['inherit', 'pipe', 'inherit'], signal });
    const out: Buffer[] = [];
    let size = 0;
    child.stdout.on('data', (b: Buffer) => {
      size += b.length;
      if (size <= MAX_PASSWORD_BYTES) out.push(b);
    });
    child.on('error', (e) => {
      if (signal?.aborted) reject(new MobrError('INTERRUPTED', 'interrupted'));
      else reject(new MobrError('AUTH_FAILED', `${from} could not be run: ${e.message}`));
    });
    child.on('close', (code, sig) => {
      if (code !== 0) return reject(new MobrError('AUTH_FAILED', `${from} failed (${sig ? `killed by ${sig}` : `exit ${code}`}): no repository password`));
      if (size > MAX_PASSWORD_BYTES) return reject(new MobrError('BAD_INPUT', `${from} printed over ${MAX_PASSWORD_BYTES} bytes: not a password`));
      resolve(stripNewline(Buffer.concat(out).toString('utf8')));
    });
  });
}

/** Reads the password a source names (a file or a command: once, when first needed). */
export async function readPassword(s: PasswordSource, signal?: AbortSignal): Promise<string> {
  let pw: string;
  if (s.value !== undefined) pw = s.value;
  else if (s.file !== undefined) {
    try {
      pw = stripNewline(readRegularFile(s.file, `${s.from}`, MAX_PASSWORD_BYTES));
    } catch (e) {
      if (e instanceof MobrError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new MobrError('NOT_FOUND', `${s.from} ${s.file} does not exist`);
      if (deniedReason(e)) throw new MobrError('ACCESS_DENIED', `cannot read ${s.from} ${s.file}: ${deniedReason(e)}`);
      throw new MobrError('IO', `cannot read ${s.from} ${s.file}: ${code ?? (e as Error).message}`);
    }
  } else pw = await runPasswordCommand(s.command ?? '', s.from, signal);
  if (pw === '') throw new MobrError('BAD_INPUT', `the repository password from ${s.from} is empty`);
  return pw;
}

/**
 * The run's repository passwords: each side's source, read once when first asked for; every
 * value read is added to `secrets` (the array the logger, errors and hooks mask with).
 */
export class RepoPasswords {
  readonly #read = new Map<PasswordSide, Promise<string>>();
  constructor(
    readonly sources: Partial<Record<PasswordSide, PasswordSource>>,
    private readonly secrets: string[],
    private readonly signal?: AbortSignal,
    /** --repo_kdf: scrypt parameters for the key files this run writes. */
    readonly kdf?: string,
  ) {
    for (const s of Object.values(sources)) if (s?.value !== undefined) secrets.push(s.value);
  }

  /** A side's source from a command's own flags (sync's --target_password_file|command): it wins over the environment. */
  setSource(side: PasswordSide, s: PasswordSource | undefined): void {
    if (!s) return;
    this.sources[side] = s;
    this.#read.delete(side);
  }

  /** Whether a password is at hand. */
  has(side: PasswordSide = 'repo'): boolean {
    return this.sources[side] !== undefined;
  }

  /** The side's password as bytes; undefined when none is at hand. */
  async get(side: PasswordSide = 'repo'): Promise<Uint8Array | undefined> {
    const own = this.sources[side];
    if (!own) return undefined;
    let p = this.#read.get(side);
    if (!p) {
      p = readPassword(own, this.signal).then((pw) => (this.secrets.push(pw), pw));
      this.#read.set(side, p);
    }
    return new TextEncoder().encode(await p);
  }
}

/** The scrypt parameters for a new key file (--repo_kdf, else the default; see kdfParams). */
export function newKdf(): KdfParams {
  return kdfParams(current.kdf);
}

/** How to give a password, for the "encrypted: give a password" line. */
export const HOW_TO_GIVE =
  'give its password in MO_BR_REPO_PASSWORD, with --repo_password_file <file> or --repo_password_command <command>, or as repo_password in mo_br.toml';

/**
 * `--repo_kdf n=<2^k>,r=<r>,p=<p>`: scrypt parameters for new key files (at least n = 2^14; the
 * test hook MOBR_TEST_KDF gives the default without that floor, spec/cli.md "Test hooks").
 */
export function kdfParams(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): KdfParams {
  const test = env.MOBR_TEST_KDF;
  const text = flag ?? test;
  if (text === undefined || text === '') return DEFAULT_KDF;
  const m = /^n=(\d+),r=(\d+),p=(\d+)$/.exec(text.replace(/\s+/g, ''));
  const k: KdfParams = { name: 'scrypt', n: Number(m?.[1]), r: Number(m?.[2]), p: Number(m?.[3]) };
  const what = flag !== undefined ? '--repo_kdf' : 'MOBR_TEST_KDF';
  try {
    if (!m) throw new Error();
    checkKdf(k, what);
  } catch {
    const want = `n=<power of two>,r=<r>,p=<p> with 128·n·r at most 1 GiB, p at most 16 (default n=${DEFAULT_KDF.n},r=${DEFAULT_KDF.r},p=${DEFAULT_KDF.p})`;
    throw new MobrError('BAD_INPUT', `bad ${what} ${JSON.stringify(text.slice(0, 40))}: want ${want}`);
  }
  if (flag !== undefined && k.n < MIN_NEW_KDF_N) {
    throw new MobrError('BAD_INPUT', `bad --repo_kdf: n=${k.n} is too cheap for a password; at least n=${MIN_NEW_KDF_N}`);
  }
  return k;
}

let current = new RepoPasswords({}, []);
/**
 * The run's passwords, once the command line (`cli`: its globals alone) and the config (`merged`:
 * the globals with the config's values) are read. Every password variable in the environment
 * joins the secrets, used or not.
 */
export function setUpPasswords(cli: GlobalFlags, merged: GlobalFlags, configFile: string | undefined, secrets: string[], signal?: AbortSignal): void {
  for (const k of PASSWORD_ENV) if (process.env[k]) secrets.push(process.env[k]!);
  const from = configFile ?? 'the config file';
  const sources = { repo: passwordSource('repo', cli, process.env, merged, from), target: passwordSource('target', cli, process.env, merged, from) };
  repoPasswords(new RepoPasswords(sources, secrets, signal, merged.repo_kdf));
}

/** The run's passwords (main.ts sets them once the command line and config are read). */
export function repoPasswords(p?: RepoPasswords): RepoPasswords {
  if (p) current = p;
  return current;
}
