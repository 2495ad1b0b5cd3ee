/**
 * The `mo_br` program: a drop-in for MatrixOne's mo_br (spec/mo_br.md).
 * Flags are exactly mo_br's (with underscores); ours on top: --data_dir (cold backup), --json,
 * --version. Global flags (--meta_path, --config, --log_file, --log_level, --json, --verbose,
 * --quiet) go before or after the subcommand, and a TOML config supplies any long flag
 * (argv.ts). Every failure ends in exit.ts: one stderr line `mo_br: <message>` and an exit code.
 */
import { lockNotices } from '../repo/lock.js';
import { Command, CommanderError, Option } from 'commander';
import { MobrError } from '../errors.js';
import { Catalog, defaultMetaPath } from './meta.js';
import { quietOnEpipe, watchInterrupts } from './interrupt.js';
import { checkMetaPath } from './meta-path.js';
import { EXIT_OK, messageFor, reportError } from './exit.js';
import type { CliContext, Output } from './context.js';
// Each command's module (and what it needs: mysql2, the worker pool, zstd, the AWS SDK) loads when
// that command runs, so `--version`, `--help` and argument errors start fast.
import type { BackupFlags } from './commands/backup.js';
import type { ListFlags } from './commands/inspect.js';
import type { DeleteFlags } from './commands/delete.js';
import type { RestoreFlags } from './commands/restore.js';
import type { PruneFlags } from './commands/prune.js';
import type { SyncFlags } from './commands/sync.js';
import type { StatsFlags } from './commands/stats.js';
import type { ExportFlags } from './commands/export.js';
import type { RepoFlags } from './resolve.js';
import { addBrowseCommands } from './browse-commands.js';
import { applyConfig, commandOf, extractGlobals, readConfig, type GlobalFlags } from './argv.js';
import { Logger, parseLogLevel } from './log.js';
import { completionScript } from './completion.js';
import { completionCommands, globalFlags, optionTable } from './tree.js';
import { buildInfo, packageVersion, versionText } from './version.js';
import { printJson } from './context.js';
import { Progress } from './progress.js';

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
const SECRET_FLAGS = ['password', 'secret_access_key', 'backup_secret_access_key', 'restore_secret_access_key', 'target_secret_access_key', 'access_key_id', 'backup_access_key_id', 'restore_access_key_id', 'target_access_key_id'];

/** Go-style `--flag=true` for boolean flags; commander wants `--flag` alone. */
export function normaliseArgs(args: string[]): string[] {
  const out: string[] = [];
  for (const a of args) {
    const m = /^--([a-z_]+)=(.*)$/.exec(a);
    if (m && BOOLEAN_FLAGS.includes(m[1])) {
      const v = m[2].toLowerCase();
      if (['true', 't', '1'].includes(v)) out.push(`--${m[1]}`);
      else if (!['false', 'f', '0'].includes(v)) throw new MobrError('BAD_INPUT', `bad value for --${m[1]}: ${JSON.stringify(m[2].slice(0, 20))} (true or false)`);
      continue;
    }
    out.push(a);
  }
  return out;
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

const collect = (v: string, prev: string[]): string[] => [...prev, v];

const s3Flags = (cmd: Command, prefix: string, what: string): Command =>
  cmd
    .option(`--${prefix}endpoint <url>`, `URL of the S3 service ${what}`)
    .option(`--${prefix}access_key_id <id>`, `S3 access key ID ${what}`)
    .option(`--${prefix}secret_access_key <key>`, `S3 secret access key ${what}`)
    .option(`--${prefix}bucket <bucket>`, `S3 bucket ${what}`)
    .option(`--${prefix}filepath <path>`, `folder inside the bucket ${what}`)
    .option(`--${prefix}region <region>`, `S3 region ${what}`)
    .option(`--${prefix}compression <format>`, `S3 compression format ${what} (accepted; mobr compresses chunks itself)`)
    .option(`--${prefix}role_arn <arn>`, `role to assume ${what}`)
    .option(`--${prefix}is_minio`, `the S3 service ${what} is MinIO`);

type Runner = (fn: (ctx: CliContext) => Promise<void>, opts?: unknown) => Promise<void>;

function buildProgram(io: RunIo, run: Runner): Command {
  const program = new Command('mo_br')
    .description('the backup and restore tool for the matrixone (mobr: deduplicating, content-addressed)')
    .version(packageVersion(), '--version', 'print the version (mo_br version: the build)')
    .helpOption('-h, --help', 'show help')
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({ writeOut: (s) => void io.stdout.write(s), writeErr: () => undefined, outputError: () => undefined })
    .configureHelp({ showGlobalOptions: true })
    // Global flags: taken out of the command line wherever they are (argv.ts); declared here for --help.
    .option('--meta_path <file>', 'the meta file (default: mo_br.meta beside mo_br)')
    .option('--config <file>', 'a TOML file of flags: any long flag name as a key (default: ./mo_br.toml if it exists)')
    .option('--log_file <file>', 'append log lines to this file (default: the console, stderr)')
    .option('--log_level <level>', 'debug, info, warn or error (default: error)')
    .option('--json', 'print the result as JSON (and no progress); errors too')
    .option('--verbose', 'print the summary (backup, restore, check, sync) on stderr even when it is not a terminal')
    .option('--quiet', 'no progress, no summary: only the result and errors');
  program.addHelpText('after', `
Examples:
  mo_br backup --backup_dir filesystem --path /backups/mo --data_dir /srv/matrixone/mo-data
  mo_br backup --host 127.0.0.1 --port 6001 --user dump --password 111 --backup_dir filesystem --path /backups/mo
  mo_br list
  mo_br list 25536ff0-126f-11ef-9902-26dd28356ef3
  mo_br check 25536ff0-126f-11ef-9902-26dd28356ef3
  mo_br restore 25536ff0-126f-11ef-9902-26dd28356ef3 --restore_dir filesystem --restore_path /srv/matrixone
  mo_br delete 25536ff0-126f-11ef-9902-26dd28356ef3
  mo_br list --backup_dir filesystem --backup_path /backups/mo          (no meta file needed)
  mo_br restore 25536ff0-126f-11ef-9902-26dd28356ef3 --backup_dir filesystem --backup_path /backups/mo --restore_dir filesystem --restore_path /srv/matrixone
  mo_br meta rebuild --backup_dir filesystem --backup_path /backups/mo  (a new host after a disaster)
  mo_br --meta_path /data/mo_br.meta list --log_file mo_br.log --log_level info
  mo_br version
  source <(mo_br completion bash)

Config: --config <file> (default ./mo_br.toml if it exists) is TOML; keys are long flag names
(backup_dir = "filesystem"), [backup]/[restore]/... tables apply to one command; the command line wins.

Exit codes: 0 ok, 1 check failed, 2 bad input, 3 not found, 4 auth/access, 5 unreachable,
6 corrupt, 7 locked, 8 server error, 9 not available, 10 local I/O, 70 internal,
130/143 interrupted by SIGINT/SIGTERM.
`);

  // --meta_path and --json are global flags now (shown under Global Options); kept for callers.
  const common = (cmd: Command): Command => cmd;

  const backup = program.command('backup').description('backup the matrixone data')
    .option('--host <ip>', 'IP of the MatrixOne to back up')
    .addOption(new Option('--port <port>', 'its port').default('6001'))
    .option('--user <user>', 'user')
    // argv is world-readable (ps, /proc/<pid>/cmdline): the environment variable keeps the password out of it
    .addOption(new Option('--password <password>', "the user's password").env('MO_BR_PASSWORD'))
    .option('--backup_dir <type>', 'where the backup goes: s3 or filesystem')
    .option('--path <dir>', 'backup folder (filesystem)');
  s3Flags(backup, '', 'to back up to');
  backup
    .option('--parallelism <n>', "parallelism: the server's BACKUP copy, mobr's chunking/hashing workers and S3 requests (default: the machine's cores; S3 at least 4)")
    .option('--backup_type <type>', 'incremental for an incremental backup')
    .option('--base_id <id>', 'ID of the backup an incremental backup builds on')
    .option('--data_dir <mo-data>', 'cold backup: the mo-data folder of a stopped MatrixOne (no server connection)')
    .option('--dry_run', 'say what would be read and written; write nothing (no repository, no meta file record)');
  common(backup).action((opts: BackupFlags & { meta_path?: string; json?: boolean }) => run(async (ctx) => (await import('./commands/backup.js')).runBackup(opts, ctx), opts));

  const backupSide = (cmd: Command): Command => {
    cmd.option('--backup_dir <type>', 'where the backups are: s3 or filesystem (without the meta file, or without an ID)').option('--backup_path <dir>', 'backup folder (filesystem)');
    return s3Flags(cmd, 'backup_', 'where the backup is');
  };

  const list = program.command('list').description('search the backup (the meta file, or every backup of a repository with --backup_dir)').argument('[ID]', 'a backup ID: also checks its files exist')
    .option('--access_key_id <id>', 'S3 access key ID of the backup')
    .option('--secret_access_key <key>', 'S3 secret access key of the backup')
    .option('--not_check_data', 'show the meta file only; do not look at the backup data');
  backupSide(list);
  common(list).action((id: string | undefined, opts: ListFlags & { meta_path?: string; json?: boolean }) => run(async (ctx) => (await import('./commands/inspect.js')).runList(id, opts, ctx), opts));

  const del = program.command('delete').description('delete the backup').argument('<ID>', 'the backup to delete')
    .option('--access_key_id <id>', 'S3 access key ID of the backup')
    .option('--secret_access_key <key>', 'S3 secret access key of the backup')
    .option('--not_delete_data', 'remove the record from the meta file only; keep the backup data')
    .option('--safety <level>', 'full (default): keep for 1 h unreferenced data a backup running meanwhile may need; none: free everything unreferenced now');
  backupSide(del);
  common(del).action((id: string, opts: DeleteFlags & { meta_path?: string; json?: boolean }) => run(async (ctx) => (await import('./commands/delete.js')).runDelete(id, opts, ctx), opts));

  const restore = program.command('restore').description('restore the matrixone data').argument('[ID]', 'the backup to restore');
  backupSide(restore)
    .option('--restore_dir <type>', 'where to restore: filesystem (or s3)')
    .option('--restore_path <dir>', 'the MatrixOne folder; mo-data is recreated inside it');
  s3Flags(restore, 'restore_', 'to restore to');
  restore
    .option('--dn_config_path <file>', 'the TN (DN) config whose SHARED fileservice decides where and how TAE files are written (default: the launch configs, else DISK at mo-data/shared)')
    .addOption(new Option('--checksum [n]', 'copy parallelism of tae files (default 1); files are always checked by SHA-256'))
    .option('--parallelism <n>', 'parallelism')
    .option('--include <glob>', 'restore only the files matching this glob (repeatable; * ? [..] in a segment, ** across)', collect, [])
    .option('--exclude <glob>', 'leave out the files matching this glob (repeatable)', collect, [])
    .option('--dry_run', 'say what would be read and written; write nothing');
  common(restore).action((id: string | undefined, opts: RestoreFlags & { meta_path?: string; json?: boolean }) => run(async (ctx) => (await import('./commands/restore.js')).runRestore(id, opts, ctx), opts));

  const check = program.command('check').description('check the backup').argument('[ID]', 'the backup to check');
  backupSide(check).option('--repair', 'first rebuild the index from pack headers (lost or damaged index objects), then check');
  common(check).action((id: string | undefined, opts: RepoFlags & { repair?: boolean; meta_path?: string; json?: boolean }) => run(async (ctx) => (await import('./commands/inspect.js')).runCheck(id, opts, ctx), opts));

  const prune = program
    .command('prune')
    .description('remove the backups a retention policy does not keep, then free their data')
    .option('--keep_last <n>', 'keep the n newest backups')
    .option('--keep_daily <n>', 'keep the newest backup of each of the last n days')
    .option('--keep_weekly <n>', 'keep the newest backup of each of the last n weeks')
    .option('--keep_monthly <n>', 'keep the newest backup of each of the last n months')
    .option('--dry_run', 'list what would be removed; change nothing')
    .option('--safety <level>', 'full (default): keep for 1 h unreferenced data a backup running meanwhile may need; none: free everything unreferenced now')
    .option('--unrecorded', 'also apply the policy to backups in the repository that the meta file in use does not record')
    .option('--access_key_id <id>', 'S3 access key ID')
    .option('--secret_access_key <key>', 'S3 secret access key');
  backupSide(prune);
  common(prune).action((opts: PruneFlags & { meta_path?: string; json?: boolean }) => run(async (ctx) => (await import('./commands/prune.js')).runPrune(opts, ctx), opts));
  const sync = program.command('sync').description('copy backups to another repository (offsite), sending only what it lacks').argument('[ID...]', 'backups to copy (default: all)');
  backupSide(sync)
    .option('--access_key_id <id>', 'S3 access key ID of the source')
    .option('--secret_access_key <key>', 'S3 secret access key of the source')
    .option('--target_dir <type>', 'where to copy: s3 or filesystem')
    .option('--target_path <dir>', 'target folder (filesystem)');
  s3Flags(sync, 'target_', 'to copy to');
  common(sync).action((ids: string[], opts: SyncFlags & { meta_path?: string; json?: boolean }) => run(async (ctx) => (await import('./commands/sync.js')).runSync(ids, opts, ctx), opts));
  const stats = program
    .command('stats')
    .description('logical and stored sizes, dedup ratio, bytes unique to each backup')
    .argument('[ID]', 'a backup ID')
    .option('--access_key_id <id>', 'S3 access key ID')
    .option('--secret_access_key <key>', 'S3 secret access key')
    .option('--html <file>', 'also write a self-contained page: growth by date, dedup ratio, bytes unique to each backup');
  backupSide(stats);
  common(stats).action((id: string | undefined, opts: StatsFlags & { meta_path?: string; json?: boolean }) => run(async (ctx) => (await import('./commands/stats.js')).runStats(id, opts, ctx), opts));
  const exp = program.command('export').description("write a backup out as a folder in MatrixOne's own layout (checks and restores with --backup_path)").argument('<ID>', 'the backup to export')
    .option('--path <dir>', 'the new folder')
    .option('--raw', 'raw files, as a DISK-V2 cluster writes them (default: LocalFS-framed tae/ and hakeeper/, as a DISK cluster does)')
    .option('--parallelism <n>', 'parallelism')
    .option('--access_key_id <id>', 'S3 access key ID')
    .option('--secret_access_key <key>', 'S3 secret access key');
  backupSide(exp);
  common(exp).action((id: string, opts: ExportFlags & { meta_path?: string; json?: boolean }) => run(async (ctx) => (await import('./commands/export.js')).runExport(id, opts, ctx), opts));
  const meta = program.command('meta').description('the meta file (mo_br.meta)');
  const rebuild = meta.command('rebuild').description("rebuild the meta file's records of a repository from the repository itself (a new host after a disaster)")
    .option('--access_key_id <id>', 'S3 access key ID')
    .option('--secret_access_key <key>', 'S3 secret access key');
  backupSide(rebuild);
  common(rebuild).action((opts: RepoFlags & { meta_path?: string; json?: boolean }) => run(async (ctx) => (await import('./commands/meta.js')).runMetaRebuild(opts, ctx), opts));
  addBrowseCommands(program, { backupSide, common, run });
  program.command('version').description('show the build: version, commit, Node version, platform')
    .action(() => run(async (ctx) => {
      const b = buildInfo();
      if (ctx.json) printJson(ctx, 'version', { ...b });
      else ctx.stdout.write(versionText(b));
    }));
  program.command('completion').description('print a shell completion script').argument('<shell>', 'bash, zsh or fish')
    .action((shell: string) => run(async (ctx) => void ctx.stdout.write(completionScript(shell, completionCommands(program), globalFlags(program)))));
  return program;
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
  let jsonOut = args.some((a) => a === '--json' || /^--json=(true|t|1)$/i.test(a)) ? io.stdout : undefined;
  let failure: unknown;
  lockNotices((m) => io.stderr.write(`mo_br: warning: ${m}\n`));
  let globals: GlobalFlags = {};
  let log: Logger | undefined;
  // A command that printed its result document and then failed (check finding damage) prints
  // that document only (spec/json.md): stdout stays one JSON document.
  let printed = false;
  const stdout = { write: (s: string) => ((printed = true), io.stdout.write(s)) };
  const runCommand: Runner = async (fn) => {
    const metaFile = globals.meta_path ? globals.meta_path : defaultMetaPath(['node', io.launcher ?? process.argv[1]]);
    try {
      await checkMetaPath(metaFile);
      await fn({ stdout, stderr: io.stderr, json: globals.json === true, catalog: new Catalog(metaFile), log, verbose: globals.verbose === true, quiet: globals.quiet === true, signal: io.signal });
    } catch (e) {
      failure = e;
    }
  };
  const t0 = Date.now();
  const program = buildProgram(io, runCommand);
  try {
    const table = optionTable(program);
    const extracted = extractGlobals(normaliseArgs(args), table);
    let rest = extracted.rest;
    globals = extracted.globals;
    const command = commandOf(rest, table);
    const config = readConfig(globals.config);
    if (config) ({ globals, rest } = applyConfig(config, command, globals, rest, table));
    secrets.push(...secretsIn(rest));
    jsonOut = globals.json ? io.stdout : undefined;
    Progress.quiet = globals.quiet === true;
    const level = parseLogLevel(globals.log_level);
    log = new Logger(level, command ?? '', io.stderr, globals.log_file, secrets);
    log.debug('start', { flags: rest.filter((a) => a.startsWith('--')).map((a) => a.split('=')[0]).join(','), config: config?.file });
    if (rest.length === 0) throw new MobrError('BAD_INPUT', missingCommand(program));
    await program.parseAsync(rest, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0) return finish(log, EXIT_OK, t0);
      failure = new MobrError('BAD_INPUT', commanderMessage(e, program));
    } else failure = e;
  }
  if (failure === undefined) return finish(log, EXIT_OK, t0);
  const code = reportError(failure, io.stderr, secrets, printed ? undefined : jsonOut);
  // On the console the `mo_br: …` line already said it; a log file gets it as a structured line.
  if (log && !log.toConsole) log.error(messageFor(failure, secrets), { exit: code });
  return finish(log, code, t0);
}

function finish(log: Logger | undefined, code: number, t0: number): number {
  log?.info('done', { exit: code, seconds: (Date.now() - t0) / 1000 });
  log?.close();
  return code;
}

/** Entry point used by the ./mo_br launcher. */
export async function main(argv: string[] = process.argv): Promise<void> {
  // stderr carries one line per failure and nothing else: no runtime or SDK warnings
  // (the AWS SDK warns about Node 20 in several lines).
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  process.removeAllListeners('warning');
  const stdoutOpen = quietOnEpipe(process.stdout);
  const interrupts = watchInterrupts();
  let code: number;
  try {
    code = await run(argv.slice(2), { stdout: process.stdout, stderr: process.stderr, launcher: argv[1], signal: interrupts.signal });
  } catch (e) {
    code = reportError(e, process.stderr);
  }
  // interrupted: 130 / 143 (a command that still finished whole keeps its 0)
  if (code !== 0) code = interrupts.exitCode() ?? code;
  // Let stdout drain (pipes), then exit even if a socket (S3, MySQL) keeps the loop alive.
  if (stdoutOpen()) await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit(code);
}
