/**
 * The command tree of `mo_br`: every command, its flags and help (spec/mo_br.md). Flags are
 * exactly mo_br's (with underscores); ours on top: --data_dir (cold backup), --json, --version.
 * The order commands and flags are added in is the order --help and completion show them.
 *
 * Each command's module (and what it needs: mysql2, the worker pool, zstd, the AWS SDK) loads when
 * that command runs, so `--version`, `--help` and argument errors start fast: only types are
 * imported here.
 */
import { Command, Option } from 'commander';
import type { BackupFlags } from './commands/backup.js';
import type { ListFlags } from './commands/inspect.js';
import type { DeleteFlags } from './commands/delete.js';
import type { RestoreFlags } from './commands/restore.js';
import type { PruneFlags } from './commands/prune.js';
import type { SyncFlags } from './commands/sync.js';
import type { StatsFlags } from './commands/stats.js';
import type { ExportFlags } from './commands/export.js';
import type { KeyFlags } from './commands/key.js';
import type { UnlockFlags } from './commands/unlock.js';
import type { RepoFlags } from './resolve.js';
import type { Output } from './context.js';
import { printJson } from './context.js';
import { addBrowseCommands } from './browse-commands.js';
import { addSnapshotCommands } from './snapshot-commands.js';
import { completionScript } from './completion.js';
import { backupSide, collect, s3Flags, sourceKeys, type GlobalOpts, type Runner } from './flag-groups.js';
import { completionCommands, globalFlags } from './tree.js';
import { buildInfo, packageVersion, versionText } from './version.js';

const SAFETY = 'full (default): keep for 1 h unreferenced data a backup running meanwhile may need; none: free everything unreferenced now';

const HELP_AFTER = `
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

An ID can be latest: the newest backup (of the repository --backup_dir names, else of the meta file);
backup --base_id latest: the newest backup of the same source in the same repository.

Config: --config <file> (default ./mo_br.toml if it exists) is TOML; keys are long flag names
(backup_dir = "filesystem"), [backup]/[restore]/... tables apply to one command; the command line wins.

Exit codes: 0 ok, 1 check failed, 2 bad input, 3 not found, 4 auth/access, 5 unreachable,
6 corrupt, 7 locked, 8 server error, 9 not available, 10 local I/O, 70 internal,
130/143 interrupted by SIGINT/SIGTERM.
`;

/** The whole program; `run` carries out the command commander picked. */
export function buildProgram(stdout: Output, run: Runner): Command {
  const program = rootCommand(stdout);
  addBackup(program, run);
  addList(program, run);
  addDelete(program, run);
  addRestore(program, run);
  addCheck(program, run);
  addPrune(program, run);
  addSync(program, run);
  addStats(program, run);
  addExport(program, run);
  addMeta(program, run);
  addKey(program, run);
  addUnlock(program, run);
  addBrowseCommands(program, run);
  addSnapshotCommands(program, run);
  addVersionAndCompletion(program, run);
  return program;
}

/**
 * The program itself with the global flags. They are taken out of the command line wherever they
 * stand (argv.ts) and declared here for --help.
 */
function rootCommand(stdout: Output): Command {
  const program = new Command('mo_br')
    .description('the backup and restore tool for the matrixone (mobr: deduplicating, content-addressed)')
    .version(packageVersion(), '--version', 'print the version (mo_br version: the build)')
    .helpOption('-h, --help', 'show help')
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({ writeOut: (s) => void stdout.write(s), writeErr: () => undefined, outputError: () => undefined })
    .configureHelp({ showGlobalOptions: true })
    .option('--meta_path <file>', 'the meta file (default: $MO_BR_META_PATH, else mo_br.meta beside mo_br; an npm-installed mo_br: ~/.local/state/mobr/mo_br.meta)')
    .option('--config <file>', 'a TOML file of flags: any long flag name as a key (default: ./mo_br.toml if it exists)')
    .option('--log_file <file>', 'append log lines to this file (default, or "console": the console, stderr)')
    .option('--log_level <level>', 'debug, info, warn or error (default: error)')
    .option('--json', 'print the result as JSON (and no progress); errors too')
    .option('--verbose', 'print the summary (backup, restore, check, sync) on stderr even when it is not a terminal; backup --dry_run: also list each file it would read')
    .option('--quiet', 'no progress, no summary: only the result and errors')
    .option('--metrics_file <file>', 'after the command, write Prometheus metrics here (textfile collector: temp file + rename): last success, duration, bytes, files, dedup ratio, check result')
    .option('--on_success <command>', 'run this shell command after a success, with MOBR_* variables (MOBR_SUMMARY: JSON); never a secret')
    .option('--on_failure <command>', 'run this shell command after a failure (MOBR_STATUS, MOBR_EXIT_CODE, MOBR_ERROR, MOBR_SUMMARY, ...)')
    .option('--webhook <url>', 'POST the outcome as JSON to this URL after the command (mobr.hook.v1)')
    .option('--limit_upload <KiB/s>', 'limit the bytes written to repositories (S3 or a folder; sync: the target) to this many KiB/s')
    .option('--limit_download <KiB/s>', 'limit the bytes read from repositories to this many KiB/s')
    .option('--repo_password_file <file>', "the repository password from this file (or $MO_BR_REPO_PASSWORD); --password is MatrixOne's")
    .option('--repo_password_command <command>', 'run this shell command and take its output as the repository password')
    .option('--repo_kdf <n=,r=,p=>', 'scrypt parameters of new key files (default n=131072,r=8,p=1: about 0.8 s and 128 MiB)');
  program.addHelpText('after', HELP_AFTER);
  return program;
}

function addBackup(program: Command, run: Runner): void {
  const backup = program.command('backup').description('backup the matrixone data')
    .option('--host <ip>', 'IP of the MatrixOne to back up')
    .addOption(new Option('--port <port>', 'its port').default('6001'))
    .option('--user <user>', 'user')
    // argv is world-readable (ps, /proc/<pid>/cmdline): the environment variable keeps the password out of it
    .addOption(new Option('--password <password>', "the user's password").env('MO_BR_PASSWORD'))
    .option('--backup_dir <type>', 'where the backup goes: s3 or filesystem')
    .option('--path <dir>', 'backup folder (filesystem)');
  s3Flags(backup, '', 'to back up to')
    .option('--parallelism <n>', "parallelism: the server's BACKUP copy, mobr's chunking/hashing workers and S3 requests (default: the machine's cores, and 4 S3 requests at once)")
    .option('--backup_type <type>', 'incremental for an incremental backup')
    .option('--base_id <id>', 'ID of the backup an incremental backup builds on')
    .option('--data_dir <mo-data>', 'cold backup: the mo-data folder of a stopped MatrixOne (no server connection)')
    .option('--dry_run', 'say what would be read and written (a summary; each file with --verbose); write nothing (no repository, no meta file record)')
    .option('--shares <k>', 'read the server backup in k shares: this process reads one and prints the command for each other (spec/scale.md)')
    .option('--shares_timeout <duration>', 'with --shares: give up if the other shares have not all arrived in time (6h, 90m, 45s; default 6h)')
    .option('--join <id>', "ingest one share of backup <id> whose coordinator (--shares) is waiting; with --share and the repository flags; 'pending': the one such backup there (waits for it)")
    .option('--share <i>', 'the share to ingest with --join (1 to k-1)')
    .option('--encryption <cipher>', 'a new repository: aes-256-gcm (needs a repository password) or none (default: aes-256-gcm with a password)')
    .action((opts: BackupFlags & GlobalOpts) => run(async (ctx) => (await import('./commands/backup.js')).runBackup(opts, ctx), opts));
}

function addList(program: Command, run: Runner): void {
  const list = program.command('list').description('search the backup (the meta file, or every backup of a repository with --backup_dir)').argument('[ID]', 'a backup ID: also checks its files exist');
  sourceKeys(list, ' of the backup').option('--not_check_data', 'show the meta file only; do not look at the backup data');
  backupSide(list).action((id: string | undefined, opts: ListFlags & GlobalOpts) => run(async (ctx) => (await import('./commands/inspect.js')).runList(id, opts, ctx), opts));
}

function addDelete(program: Command, run: Runner): void {
  const del = program.command('delete').description('delete the backup').argument('<ID>', 'the backup to delete');
  sourceKeys(del, ' of the backup')
    .option('--not_delete_data', 'remove the record from the meta file only; keep the backup data')
    .option('--safety <level>', SAFETY);
  backupSide(del).action((id: string, opts: DeleteFlags & GlobalOpts) => run(async (ctx) => (await import('./commands/delete.js')).runDelete(id, opts, ctx), opts));
}

function addRestore(program: Command, run: Runner): void {
  const restore = program.command('restore').description('restore the matrixone data').argument('[ID]', 'the backup to restore');
  backupSide(restore)
    .option('--restore_dir <type>', 'where to restore: filesystem (or s3)')
    .option('--restore_path <dir>', 'the MatrixOne folder; mo-data is recreated inside it');
  s3Flags(restore, 'restore_', 'to restore to')
    .option('--dn_config_path <file>', 'the TN (DN) config whose SHARED fileservice decides where and how TAE files are written (default: the launch configs, else DISK at mo-data/shared)')
    .addOption(new Option('--checksum [n]', 'copy parallelism of tae files (default 1); files are always checked by SHA-256'))
    .option('--parallelism <n>', 'parallelism')
    .option('--include <glob>', 'restore only the files matching this glob (repeatable; * ? [..] in a segment, ** across)', collect, [])
    .option('--exclude <glob>', 'leave out the files matching this glob (repeatable)', collect, [])
    .option('--dry_run', 'say what would be read and written; write nothing')
    .action((id: string | undefined, opts: RestoreFlags & GlobalOpts) => run(async (ctx) => (await import('./commands/restore.js')).runRestore(id, opts, ctx), opts));
}

function addCheck(program: Command, run: Runner): void {
  const check = program.command('check').description('check the backup').argument('[ID]', 'the backup to check');
  backupSide(check)
    .option('--repair', 'first rebuild the index from pack headers (lost or damaged index objects), then check')
    .option('--read_data_subset <n/m|x%>', "read back only this subset of the packs (restic's: n/m by pack id, the same packs each time; x% at random); the rest is checked for presence")
    .option('--without_key', 'an encrypted repository, without its password: every pack and index object against its name (spec/encryption.md §6)')
    .action((id: string | undefined, opts: RepoFlags & { repair?: boolean; read_data_subset?: string; without_key?: boolean } & GlobalOpts) =>
      run(async (ctx) => {
        if (opts.without_key) return (await import('./commands/inspect-keyless.js')).runKeylessCheck(id, opts, ctx);
        return (await import('./commands/inspect.js')).runCheck(id, opts, ctx);
      }, opts));
}

function addPrune(program: Command, run: Runner): void {
  const prune = program
    .command('prune')
    .description('remove the backups a retention policy does not keep, then free their data')
    .option('--keep_last <n>', 'keep the n newest backups')
    .option('--keep_hourly <n>', 'keep the newest backup of each of the last n hours')
    .option('--keep_daily <n>', 'keep the newest backup of each of the last n days')
    .option('--keep_weekly <n>', 'keep the newest backup of each of the last n weeks')
    .option('--keep_monthly <n>', 'keep the newest backup of each of the last n months')
    .option('--keep_yearly <n>', 'keep the newest backup of each of the last n years')
    .option('--keep_within <duration>', 'keep every backup within this long before the newest one: 7d, 36h, 1y6m (y, m, d, h)')
    .option('--dry_run', 'list what would be removed; change nothing')
    .option('--safety <level>', SAFETY)
    .option('--unrecorded', 'also apply the policy to backups in the repository that the meta file in use does not record');
  sourceKeys(prune);
  backupSide(prune).action((opts: PruneFlags & GlobalOpts) => run(async (ctx) => (await import('./commands/prune.js')).runPrune(opts, ctx), opts));
}

function addSync(program: Command, run: Runner): void {
  const sync = program.command('sync').description('copy backups to another repository (offsite), sending only what it lacks').argument('[ID...]', 'backups to copy (default: all of --backup_dir, or every backup the meta file records when they are in one repository)');
  sourceKeys(backupSide(sync), ' of the source')
    .option('--target_dir <type>', 'where to copy: s3 or filesystem')
    .option('--target_path <dir>', 'target folder (filesystem)')
    .option('--reencrypt', 'a target of another master key, or plain to encrypted and back: re-chunk and re-seal every file for it (spec/sync.md §8)')
    .option('--encryption <cipher>', 'with --reencrypt, a new target: aes-256-gcm (the default with a password) or none')
    .option('--target_password_file <file>', "the target's password from this file (or $MO_BR_TARGET_PASSWORD; default: the repository password)")
    .option('--target_password_command <command>', "run this shell command and take its output as the target's password");
  s3Flags(sync, 'target_', 'to copy to')
    .action((ids: string[], opts: SyncFlags & GlobalOpts) => run(async (ctx) => (await import('./commands/sync.js')).runSync(ids, opts, ctx), opts));
}

function addStats(program: Command, run: Runner): void {
  const stats = program
    .command('stats')
    .description('total and stored sizes, dedup ratio, bytes unique to each backup')
    .argument('[ID]', 'a backup ID');
  sourceKeys(stats).option('--html <file>', 'also write a self-contained page: growth by date, dedup ratio, bytes unique to each backup');
  backupSide(stats).action((id: string | undefined, opts: StatsFlags & GlobalOpts) => run(async (ctx) => (await import('./commands/stats.js')).runStats(id, opts, ctx), opts));
}

function addExport(program: Command, run: Runner): void {
  const exp = program.command('export').description("write a backup out as a folder in MatrixOne's own layout (checks and restores with --backup_path)").argument('<ID>', 'the backup to export')
    .option('--path <dir>', 'the new folder')
    .option('--raw', 'raw files, as a DISK-V2 cluster writes them (default: LocalFS-framed tae/ and hakeeper/, as a DISK cluster does)')
    .option('--parallelism <n>', 'parallelism');
  sourceKeys(exp);
  backupSide(exp).action((id: string, opts: ExportFlags & GlobalOpts) => run(async (ctx) => (await import('./commands/export.js')).runExport(id, opts, ctx), opts));
}

function addMeta(program: Command, run: Runner): void {
  const meta = program.command('meta').description('the meta file (mo_br.meta)');
  const rebuild = meta.command('rebuild').description("rebuild the meta file's records of a repository from the repository itself (a new host after a disaster)");
  sourceKeys(rebuild);
  backupSide(rebuild).action((opts: RepoFlags & GlobalOpts) => run(async (ctx) => (await import('./commands/meta.js')).runMetaRebuild(opts, ctx), opts));
}

function addKey(program: Command, run: Runner): void {
  const key = program.command('key').description("an encrypted repository's keys: one per password (spec/encryption.md)");
  const withRepo = (c: Command) => sourceKeys(backupSide(c));
  withRepo(key.command('list').description('list the keys (* marks the one the password opened)'))
    .action((opts: KeyFlags & GlobalOpts) => run(async (ctx) => (await import('./commands/key.js')).runKeyList(opts, ctx), opts));
  withRepo(key.command('add').description('add a key: a new password for the same repository'))
    .option('--new_password_file <file>', 'the new password (default: asked twice on a terminal)')
    .action((opts: KeyFlags & GlobalOpts) => run(async (ctx) => (await import('./commands/key.js')).runKeyAdd(opts, ctx), opts));
  const remove = key.command('remove').description('remove a key (not the last, nor the one the password opened)');
  withRepo(remove.argument('<ID>', 'the key (at least 4 characters of its ID, see key list)'))
    .action((id: string, opts: KeyFlags & GlobalOpts) => run(async (ctx) => (await import('./commands/key.js')).runKeyRemove(id, opts, ctx), opts));
  withRepo(key.command('passwd').description("change the password: add a key for the new one, remove the one the password opened"))
    .option('--new_password_file <file>', 'the new password (default: asked twice on a terminal)')
    .action((opts: KeyFlags & GlobalOpts) => run(async (ctx) => (await import('./commands/key.js')).runKeyPasswd(opts, ctx), opts));
}

function addUnlock(program: Command, run: Runner): void {
  const unlock = program.command('unlock').description('remove stale locks: those of processes gone for good (a gc that will not come back), spec/gc.md')
    .option('--remove_all', 'remove every lock, live ones too: their processes then stop, committing nothing');
  sourceKeys(backupSide(unlock))
    .action((opts: UnlockFlags & GlobalOpts) => run(async (ctx) => (await import('./commands/unlock.js')).runUnlock(opts, ctx), opts));
}

function addVersionAndCompletion(program: Command, run: Runner): void {
  program.command('version').description('show the build: version, commit, Node version, platform')
    .action(() => run(async (ctx) => {
      const b = buildInfo();
      if (ctx.json) printJson(ctx, 'version', { ...b });
      else ctx.stdout.write(versionText(b));
    }));
  program.command('completion').description('print a shell completion script').argument('<shell>', 'bash, zsh or fish')
    .action((shell: string) => run(async (ctx) => void ctx.stdout.write(completionScript(shell, completionCommands(program), globalFlags(program)))));
}
