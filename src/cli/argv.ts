/**
 * The command line before commander sees it, as mo_br (Go's cobra/pflag) takes it:
 * - global flags (`--meta_path`, `--config`, `--log_file`, `--log_level`, `--json`, `--verbose`,
 *   `--quiet`, and the nightly ones: `--metrics_file`, `--on_success`, `--on_failure`, `--webhook`) anywhere, before or after the subcommand;
 * - empty arguments (mo_ctl passes `"" ""` for options it leaves out) dropped, unless one is the
 *   value of the flag before it (`--password ""`);
 * - `--` ends the flags: every argument after it is a name (a file called `--json`), kept as given;
 * - a TOML config (`--config <file>`, default `./mo_br.toml` when it exists) whose keys are long
 *   flag names: top-level keys apply to every command that has the flag, a `[<command>]` table
 *   to that command only; the command line (and a flag's environment variable) wins.
 */
import { closeSync, constants as fsc, fstatSync, openSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { deniedReason, MobrError } from '../errors.js';
import { decodeName } from '../util/names.js';

export interface GlobalFlags {
  meta_path?: string;
  config?: string;
  log_file?: string;
  log_level?: string;
  json?: boolean;
  verbose?: boolean;
  quiet?: boolean;
  metrics_file?: string;
  on_success?: string;
  on_failure?: string;
  webhook?: string;
  limit_upload?: string;
  limit_download?: string;
  /** The repository password's sources (src/cli/repo-password.ts); `repo_password` from a config file only. */
  repo_password_file?: string;
  repo_password_command?: string;
  repo_password?: string;
  repo_kdf?: string;
}

const GLOBAL_VALUE = ['meta_path', 'config', 'log_file', 'log_level', 'metrics_file', 'on_success', 'on_failure', 'webhook', 'limit_upload', 'limit_download',
  'repo_password_file', 'repo_password_command', 'repo_kdf'] as const;
/** Keys a config file may hold that are no flag: a password on the command line would be readable by every user (ps). */
const CONFIG_ONLY = ['repo_password'] as const;
const GLOBAL_BOOL = ['json', 'verbose', 'quiet'] as const;
export const GLOBAL_FLAGS: readonly string[] = [...GLOBAL_VALUE, ...GLOBAL_BOOL];
export const DEFAULT_CONFIG = 'mo_br.toml';

/** What the program knows about its commands' options (built from the commander tree). */
export interface OptionTable {
  /** Long names (without `--`) of options that take a value, over all commands. */
  valueFlags: ReadonlySet<string>;
  /** Command path ("backup", "meta rebuild") -> its long option names and their environment variables. */
  commands: ReadonlyMap<string, ReadonlyMap<string, { takesValue: boolean; env?: string }>>;
}

/** Splits the global flags out of args and drops empty arguments that are no flag's value. */
export function extractGlobals(args: readonly string[], table: OptionTable): { globals: GlobalFlags; rest: string[] } {
  const globals: GlobalFlags = {};
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const prev = rest[rest.length - 1];
    const isValue = prev !== undefined && /^--[a-z_]+$/.test(prev) && table.valueFlags.has(prev.slice(2)) && rest.length > 0 && args[i - 1] === prev;
    if (isValue) {
      rest.push(a);
      continue;
    }
    if (a === '--') {
      rest.push(...args.slice(i));
      break;
    }
    if (a === '') continue;
    const m = /^--([a-z_]+)(?:=([\s\S]*))?$/.exec(a);
    if (m && (CONFIG_ONLY as readonly string[]).includes(m[1])) {
      throw new MobrError('BAD_INPUT', `--${m[1]} is not taken on the command line (every user can read it there): give the password in MO_BR_REPO_PASSWORD, with --repo_password_file or --repo_password_command, or as repo_password in mo_br.toml`);
    }
    if (m && (GLOBAL_VALUE as readonly string[]).includes(m[1])) {
      const value = m[2] ?? args[++i];
      if (value === undefined) throw new MobrError('BAD_INPUT', `option '--${m[1]} <value>' argument missing`);
      globals[m[1] as (typeof GLOBAL_VALUE)[number]] = value;
      continue;
    }
    if (m && (GLOBAL_BOOL as readonly string[]).includes(m[1]) && m[2] === undefined) {
      globals[m[1] as (typeof GLOBAL_BOOL)[number]] = true;
      continue;
    }
    rest.push(a);
  }
  return { globals, rest };
}

/**
 * argv with each argument's exact bytes. Node decodes argv as UTF-8 and replaces every byte that is
 * not valid UTF-8 with U+FFFD, so a file or folder name that is not UTF-8 cannot be named through
 * process.argv. On Linux the kernel keeps the bytes in /proc/self/cmdline (NUL-separated: node, its
 * own options, the script, the arguments): the arguments are its last ones, each decoded as
 * names are (src/util/names.ts: a stray byte becomes a lone surrogate, which fsPath turns back
 * into the byte). Each must decode, with loss, to what Node gave; if any does not (no /proc,
 * another OS, a rewritten process title), argv is returned as Node gave it.
 */
export function exactArgv(argv: readonly string[], cmdline = '/proc/self/cmdline'): string[] {
  if (!argv.slice(2).some((a) => a.includes('\uFFFD'))) return [...argv];
  let raw: Buffer;
  try {
    raw = readFileSync(cmdline);
  } catch {
    return [...argv];
  }
  const parts: Buffer[] = [];
  for (let at = 0; at < raw.length; ) {
    const end = raw.indexOf(0, at);
    parts.push(raw.subarray(at, end < 0 ? raw.length : end));
    at = end < 0 ? raw.length : end + 1;
  }
  const n = argv.length - 2;
  if (n < 0 || parts.length < n) return [...argv];
  const tail = parts.slice(parts.length - n);
  if (tail.some((b, i) => b.toString('utf8') !== argv[i + 2])) return [...argv];
  return [...argv.slice(0, 2), ...tail.map((b) => decodeName(b))];
}

/** The arguments before `--` (the end of the flags; the same array when there is none). */
export function flagPart(args: readonly string[]): readonly string[] {
  const end = args.indexOf('--');
  return end < 0 ? args : args.slice(0, end);
}

/** The command path named by args ("backup", "meta rebuild"), or undefined. */
export function commandOf(rest: readonly string[], table: OptionTable): string | undefined {
  const words = flagPart(rest).filter((a) => !a.startsWith('-'));
  if (words.length >= 2 && table.commands.has(`${words[0]} ${words[1]}`)) return `${words[0]} ${words[1]}`;
  return words.length >= 1 && table.commands.has(words[0]) ? words[0] : undefined;
}

type TomlValue = string | number | boolean | Date | TomlValue[] | { [k: string]: TomlValue };

const CONFIG_MAX_BYTES = 1 << 20;

/**
 * Reads a regular file of at most `max` bytes. A fifo, a device or a socket is refused before any
 * read (a fifo nobody writes, or /dev/zero, would block or grow forever where Ctrl-C cannot
 * reach: issue #25); the open itself does not block (O_NONBLOCK).
 */
export function readRegularFile(p: string, what: string, max: number): string {
  const fd = openSync(p, fsc.O_RDONLY | fsc.O_NONBLOCK | fsc.O_NOCTTY);
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new MobrError('BAD_INPUT', `${what} ${p} is a folder`);
    if (!st.isFile()) throw new MobrError('BAD_INPUT', `${what} ${p} is not a regular file (a fifo, device or socket); give a file`);
    if (st.size > max) throw new MobrError('BAD_INPUT', `${what} ${p} is ${st.size} bytes; at most ${max} are read`);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/** Reads the config file: `file` given (must exist), else `./mo_br.toml` if present. */
export async function readConfig(file: string | undefined, cwd = process.cwd()): Promise<{ file: string; data: Record<string, TomlValue> } | undefined> {
  const explicit = file !== undefined && file !== '';
  const p = path.resolve(cwd, explicit ? file : DEFAULT_CONFIG);
  let text: string;
  try {
    text = readRegularFile(p, 'config file', CONFIG_MAX_BYTES);
  } catch (e) {
    if (e instanceof MobrError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (!explicit && code === 'ENOENT') return undefined;
    if (code === 'ENOENT') throw new MobrError('NOT_FOUND', `config file ${p} does not exist`, { cause: e });
    if (deniedReason(e)) throw new MobrError('ACCESS_DENIED', `cannot read config file ${p}: ${deniedReason(e)}`, { cause: e });
    if (code === 'EISDIR') throw new MobrError('BAD_INPUT', `config file ${p} is a folder`, { cause: e });
    throw new MobrError('IO', `cannot read config file ${p}: ${(e as Error).message}`, { cause: e });
  }
  // the TOML parser loads only when there is a config file to parse (most runs have none)
  const { parse: parseToml } = await import('smol-toml');
  try {
    return { file: p, data: parseToml(text) as Record<string, TomlValue> };
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    throw new MobrError('BAD_INPUT', `config file ${p} is not valid TOML: ${msg}`, { cause: e });
  }
}

function scalar(v: TomlValue, key: string, file: string): string | boolean {
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return String(v);
  throw new MobrError('BAD_INPUT', `config file ${file}: ${key} must be a string, number or boolean`);
}

/**
 * Merges a config into the globals and the command's args (see the file comment). Unknown keys
 * (no command has that flag) are refused, so a typo does not silently do nothing.
 */
export function applyConfig(cfg: { file: string; data: Record<string, TomlValue> }, command: string | undefined, globals: GlobalFlags, rest: string[], table: OptionTable, env: NodeJS.ProcessEnv = process.env): { globals: GlobalFlags; rest: string[] } {
  const known = new Set<string>([...GLOBAL_FLAGS, ...CONFIG_ONLY]);
  for (const opts of table.commands.values()) for (const k of opts.keys()) known.add(k);
  const top: Record<string, string | boolean> = {};
  const perCommand = new Map<string, Record<string, string | boolean>>();
  for (const [k, v] of Object.entries(cfg.data)) {
    if (typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)) {
      // [meta], [key]: a command with subcommands names the options of them all
      const cmds = [...table.commands.keys()].filter((c) => c === k || c.startsWith(`${k} `));
      if (cmds.length === 0) throw new MobrError('BAD_INPUT', `config file ${cfg.file}: unknown table [${k}] (a table is named after a command: ${[...new Set([...table.commands.keys()].map((c) => c.split(' ')[0]))].join(', ')})`);
      const t: Record<string, string | boolean> = {};
      for (const [kk, vv] of Object.entries(v)) {
        if (!cmds.some((c) => table.commands.get(c)!.has(kk)) && !known.has(kk)) throw new MobrError('BAD_INPUT', `config file ${cfg.file}: [${k}] has unknown key ${kk} (keys are long flag names, like backup_dir)`);
        t[kk] = scalar(vv, `${k}.${kk}`, cfg.file);
      }
      perCommand.set(k, t);
      continue;
    }
    if (!known.has(k)) throw new MobrError('BAD_INPUT', `config file ${cfg.file}: unknown key ${k} (keys are long flag names, like backup_dir)`);
    top[k] = scalar(v, k, cfg.file);
  }
  const merged = { ...top, ...(command ? perCommand.get(command) ?? perCommand.get(command.split(' ')[0]) : {}) };
  const g: GlobalFlags = { ...globals };
  for (const k of [...GLOBAL_VALUE, ...CONFIG_ONLY]) if (g[k] === undefined && typeof merged[k] === 'string') g[k] = merged[k] as string;
  for (const k of GLOBAL_BOOL) if (g[k] === undefined && merged[k] === true) g[k] = true;
  const flags = flagPart(rest);
  const out = [...flags];
  const opts = command ? table.commands.get(command) : undefined;
  if (opts) {
    const given = (k: string) => flags.some((a) => a === `--${k}` || a.startsWith(`--${k}=`));
    for (const [k, v] of Object.entries(merged)) {
      const o = opts.get(k);
      if (!o || GLOBAL_FLAGS.includes(k) || (CONFIG_ONLY as readonly string[]).includes(k) || given(k) || (o.env && env[o.env])) continue;
      if (!o.takesValue) {
        if (v === true || v === 'true') out.push(`--${k}`);
      } else out.push(`--${k}`, String(v));
    }
  }
  // the config's flags go before `--`: after it they would be names
  return { globals: g, rest: [...out, ...rest.slice(flags.length)] };
}
