/**
 * Running `mo_br`, a drop-in for MatrixOne's mo_br (spec/mo_br.md); its commands are program.ts.
 * Global flags (--meta_path, --config, --log_file, --log_level, --json, --verbose, --quiet) go
 * before or after the subcommand, and a TOML config supplies any long flag (argv.ts). Every
 * failure ends in exit.ts: one stderr line `mo_br: <message>` and an exit code.
 */
import { Command, CommanderError } from 'commander';
import { onCleanupFailure } from '../util/best-effort.js';
import { MobrError } from '../errors.js';
import { lockNotices } from '../repo/lock.js';
import { lockTimeHooks } from './test-pause.js';
import { applyConfig, commandOf, exactArgv, extractGlobals, flagPart, readConfig, type GlobalFlags } from './argv.js';
import type { Output } from './context.js';
import { EXIT_OK, messageFor, reportError } from './exit.js';
import type { Runner } from './flag-groups.js';
import { quietOnEpipe, watchInterrupts } from './interrupt.js';
import { Logger, parseLogLevel } from './log.js';
import { Catalog, catalogFiles, defaultMetaPath } from './meta.js';
import { checkMetaPath } from './meta-path.js';
import { buildProgram } from './program.js';
import { intFlag } from './context.js';
import { setDefaultRateLimits } from '../store/open.js';
import { AfterRun } from './after-run.js';
import { systemClock } from '../util/clock.js';
import type { Summary } from './summary.js';
import { Progress } from './progress.js';
import { optionTable } from './tree.js';
import { setUpPasswords } from './repo-password.js';

export interface RunIo {
  stdout: Output;
  stderr: NodeJS.WriteStream | Output;
  /** Fires on SIGINT/SIGTERM (interrupt.ts): long commands stop and clean up. */
  signal?: AbortSignal;
  /** process.argv[1]: the launcher, beside which mo_br.meta lives by default. */
  launcher?: string;
}

/** Boolean flags; `--flag=true|false` is rewritten for them as Go's pflag accepts it. */
const BOOLEAN_FLAGS = ['raw', 'repair', 'unrecorded', 'is_minio', 'backup_is_minio', 'restore_is_minio', 'target_is_minio', 'not_check_data', 'not_delete_data', 'dry_run', 'json', 'long', 'verbose', 'quiet'];
/** Flags whose values are masked in any message. */
const SECRET_FLAGS = ['password', 'new_admin_password', 'newaccountpwd', 'secret_access_key', 'backup_secret_access_key', 'restore_secret_access_key', 'target_secret_access_key', 'access_key_id', 'backup_access_key_id', 'restore_access_key_id', 'target_access_key_id'];

/** Go-style `--flag=true` for boolean flags; commander wants `--flag` alone. */
export function normaliseArgs(args: string[]): string[] {
  const flags = flagPart(args);
  const out: string[] = [];
  for (const a of flags) {
    const m = /^--([a-z_]+)=(.*)$/.exec(a);
    if (m && BOOLEAN_FLAGS.includes(m[1])) {
      const v = m[2].toLowerCase();
      if (['true', 't', '1'].includes(v)) out.push(`--${m[1]}`);
      else if (!['false', 'f', '0'].includes(v)) throw new MobrError('BAD_INPUT', `bad value for --${m[1]}: ${JSON.stringify(m[2].slice(0, 20))} (true or false)`);
      continue;
    }
    out.push(a);
  }
  return [...out, ...args.slice(flags.length)]; // after `--`: names, as given
}

function secretsIn(args: string[]): string[] {
  const secrets: string[] = [];
  args.forEach((a, i) => {
    for (const f of SECRET_FLAGS) {
      if (a === `--${f}` && i + 1 < args.length) secrets.push(args[i + 1]);
      else if (a.startsWith(`--${f}=`)) secrets.push(a.slice(f.length + 3));
    }
  });
  return secrets;
}

/** "missing command: backup, list, … or dump", from the program's own commands. */
function missingCommand(program: Command): string {
  const names = program.commands.map((c) => c.name()).filter((n) => !['help', 'version', 'completion'].includes(n));
  return `missing command: ${names.slice(0, -1).join(', ')} or ${names.at(-1)} (see mo_br --help)`;
}

/** Commander's own errors as one line ("unknown option '--x' (Did you mean --y?)"). */
function commanderMessage(e: CommanderError, program: Command): string {
  if (e.code === 'commander.help' || e.code === 'commander.executeSubCommandAsync') return missingCommand(program);
  return e.message.replace(/^error:\s*/, '').replace(/\s*\n\s*/g, ' ').trim();
}

/** Runs mo_br with args (without node and script); returns the exit code. */
export async function run(args: string[], io: RunIo): Promise<number> {
  const secrets = secretsIn(args);
  if (process.env.MO_BR_PASSWORD) secrets.push(process.env.MO_BR_PASSWORD);
  // --json anywhere: every outcome, errors included, is a JSON document on stdout.
  let jsonOut = flagPart(args).some((a) => a === '--json' || /^--json=(true|t|1)$/i.test(a)) ? io.stdout : undefined;
  let failure: unknown;
  lockNotices((m) => io.stderr.write(`mo_br: warning: ${m}\n`));
  lockTimeHooks();
  onCleanupFailure((what, e) => log?.warn(`${what} failed`, { error: messageFor(e, secrets) }));
  let globals: GlobalFlags = {};
  let log: Logger | undefined;
  // A command that printed its result document and then failed (check finding damage) prints
  // that document only (spec/json.md): stdout stays one JSON document.
  let printed = false;
  const stdout = { write: (s: string) => ((printed = true), io.stdout.write(s)) };
  let after: AfterRun | undefined;
  const runCommand: Runner = async (fn, opts) => {
    const metaFile = globals.meta_path ? globals.meta_path : defaultMetaPath(['node', io.launcher ?? process.argv[1]]);
    try {
      await after?.before(opts, metaFile);
      await checkMetaPath(metaFile);
      const onSummary = (s: Summary) => void after?.summaries.push(s);
      await fn({ stdout, stderr: io.stderr, json: globals.json === true, catalog: new Catalog(metaFile, (m) => io.stderr.write(`mo_br: warning: ${m}\n`)), log, verbose: globals.verbose === true, quiet: globals.quiet === true, signal: io.signal, onSummary, metricsFile: globals.metrics_file });
    } catch (e) {
      failure = e;
    }
  };
  const t0 = performance.now(); // monotonic: the run's duration, whatever the wall clock does
  const program = buildProgram(io.stdout, runCommand);
  try {
    const table = optionTable(program);
    const extracted = extractGlobals(normaliseArgs(args), table);
    let rest = extracted.rest;
    globals = extracted.globals;
    const command = commandOf(rest, table);
    const config = await readConfig(globals.config);
    if (config) ({ globals, rest } = applyConfig(config, command, globals, rest, table));
    setUpPasswords(extracted.globals, globals, config?.file, secrets, io.signal);
    secrets.push(...secretsIn(rest));
    jsonOut = globals.json ? io.stdout : undefined;
    Progress.quiet = globals.quiet === true;
    Progress.every = process.env.MOBR_TEST_PROGRESS_EVERY === '1'; // test hook (spec/cli.md)
    setDefaultRateLimits({ uploadKiBs: intFlag(globals.limit_upload, '--limit_upload'), downloadKiBs: intFlag(globals.limit_download, '--limit_download') });
    const level = parseLogLevel(globals.log_level);
    const metaFile = globals.meta_path ? globals.meta_path : defaultMetaPath(['node', io.launcher ?? process.argv[1]]);
    log = new Logger(level, command ?? '', io.stderr, globals.log_file, secrets, catalogFiles(metaFile));
    log.debug('start', { flags: rest.filter((a) => a.startsWith('--')).map((a) => a.split('=')[0]).join(','), config: config?.file });
    if (rest.length === 0) throw new MobrError('BAD_INPUT', missingCommand(program));
    // `mo_br nosuch --help` is an unknown command, not the top-level help with exit 0
    if (command === undefined && rest[0] !== undefined && !rest[0].startsWith('-') && rest[0] !== 'help' && rest.some((x) => x === '--help' || x === '-h')) {
      throw new MobrError('BAD_INPUT', `unknown command '${rest[0]}' (see mo_br --help)`);
    }
    after = new AfterRun(globals, command, systemClock.now(), t0);
    await program.parseAsync(rest, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0) return finish(log, EXIT_OK, t0);
      failure = new MobrError('BAD_INPUT', commanderMessage(e, program));
    } else failure = e;
  }
  if (failure === undefined) {
    await after?.after(EXIT_OK, undefined, secrets, io.stderr);
    return finish(log, EXIT_OK, t0);
  }
  const code = reportError(failure, io.stderr, secrets, printed ? undefined : jsonOut);
  await after?.after(code, failure, secrets, io.stderr);
  // On the console the `mo_br: …` line already said it; a log file gets it as a structured line.
  if (log && !log.toConsole) log.error(messageFor(failure, secrets), { exit: code });
  return finish(log, code, t0);
}

function finish(log: Logger | undefined, code: number, t0: number): number {
  log?.info('done', { exit: code, seconds: (performance.now() - t0) / 1000 });
  log?.close();
  return code;
}

/** Entry point used by the ./mo_br launcher. */
export async function main(argv: string[] = process.argv): Promise<void> {
  // What the process prints besides (runtime and SDK warnings) is the launcher's (./mo_br) to
  // decide, not this module's: a library caller keeps its own 'warning' listeners.
  const stdoutOpen = quietOnEpipe(process.stdout);
  const interrupts = watchInterrupts();
  let code: number;
  try {
    code = await run(exactArgv(argv).slice(2), { stdout: process.stdout, stderr: process.stderr, launcher: argv[1], signal: interrupts.signal });
  } catch (e) {
    code = reportError(e, process.stderr);
  }
  // interrupted: 130 / 143 (a command that still finished whole keeps its 0)
  if (code !== 0) code = interrupts.exitCode() ?? code;
  // Let stdout drain (pipes), then exit even if a socket (S3, MySQL) keeps the loop alive.
  if (stdoutOpen()) await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit(code);
}
