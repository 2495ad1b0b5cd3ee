/**
 * `mo_br snapshot …` and `mo_br pitr …` on the command line, with the flags of mo_br's
 * documentation (its snapshot and PITR pages): the connection flags of `backup` (password also
 * from MO_BR_PASSWORD), then each action's own. The new-account flags of a restore take both
 * spellings the docs use (--new_account/--new_admin_name/--new_admin_password and
 * --newaccount/--newaccountadmin/--newaccountpwd).
 */
import { Option, type Command } from 'commander';
import type { PitrFlags, SnapshotFlags } from './commands/snapshot.js';
import type { GlobalOpts, Runner } from './flag-groups.js';

/** The connection flags, as `backup` has them. */
const conn = (cmd: Command): Command =>
  cmd
    .option('--host <ip>', 'IP of the MatrixOne')
    .addOption(new Option('--port <port>', 'its port').default('6001'))
    .option('--user <user>', 'user (tenant#user for a tenant)')
    .addOption(new Option('--password <password>', "the user's password").env('MO_BR_PASSWORD'));

const newAccountFlags = (cmd: Command): Command =>
  cmd
    .option('--new_account <name>', 'restore into this new account (created first; sys tenant only)')
    .option('--new_admin_name <name>', "the new account's admin")
    .option('--new_admin_password <password>', "the new account's admin password")
    .addOption(new Option('--newaccount <name>', 'same as --new_account').hideHelp())
    .addOption(new Option('--newaccountadmin <name>', 'same as --new_admin_name').hideHelp())
    .addOption(new Option('--newaccountpwd <password>', 'same as --new_admin_password').hideHelp());

export function addSnapshotCommands(program: Command, run: Runner): void {
  const snap = program.command('snapshot').description('Manage snapshots (CREATE/SHOW/DROP SNAPSHOT, RESTORE … SNAPSHOT)');
  const go = (action: string) => (o: SnapshotFlags & GlobalOpts) => run(async (ctx) => (await import('./commands/snapshot.js')).runSnapshot(action, o, ctx), o);
  conn(snap.command('create').description('create a snapshot'))
    .option('--level <level>', 'cluster, account, database or table')
    .option('--account <name>', 'the account (level account)')
    .option('--db <name>', 'the database (level database, table)')
    .option('--table <name>', 'the table (level table)')
    .option('--sname <name>', 'the snapshot name')
    .action(go('create'));
  conn(snap.command('show').description('show snapshots'))
    .option('--cluster <sys>', 'only cluster-level snapshots (sys)')
    .option('--account <name>', 'only this account')
    .option('--db <name>', 'only this database')
    .option('--table <name>', 'only this table')
    .option('--sname <name>', 'only this snapshot')
    .option('--beginTs <ts>', 'taken at or after "YYYY-MM-DD hh:mm:ss"')
    .option('--endTs <ts>', 'taken at or before "YYYY-MM-DD hh:mm:ss"')
    .action(go('show'));
  conn(snap.command('drop').description('drop a snapshot')).option('--sname <name>', 'the snapshot name').action(go('drop'));
  newAccountFlags(conn(snap.command('restore').description('restore from a snapshot: the cluster, an account, a database or a table'))
    .option('--sname <name>', 'the snapshot to restore')
    .option('--account <name>', 'the account to restore')
    .option('--db <name>', 'only this database')
    .option('--table <name>', 'only this table (with --db)'))
    .action(go('restore'));

  const pitr = program.command('pitr').description('Manage PITR (CREATE/SHOW/ALTER/DROP PITR, RESTORE … FROM PITR)');
  const goP = (action: string) => (o: PitrFlags & GlobalOpts) => run(async (ctx) => (await import('./commands/snapshot.js')).runPitr(action, o, ctx), o);
  const scope = (cmd: Command, what: string) => cmd.option('--account <name>', `the account${what}`).option('--database <name>', `the database${what}`).option('--table <name>', `the table${what}`);
  const rangeFlags = (cmd: Command) => cmd.option('--rangevalue <n>', 'how far back it reaches: 1-100').option('--rangeunit <unit>', 'h, d (default), mo or y');
  rangeFlags(scope(conn(pitr.command('create').description('create a PITR')).option('--pname <name>', 'the PITR name').option('--level <level>', 'cluster, account, database or table'), ''))
    .action(goP('create'));
  scope(conn(pitr.command('show').description('show PITRs')).option('--cluster <sys>', 'only the cluster-level PITR (sys)').option('--pname <name>', 'only this PITR'), ' (filter)').action(goP('show'));
  rangeFlags(conn(pitr.command('alter').description("change a PITR's range")).option('--pname <name>', 'the PITR name')).action(goP('alter'));
  newAccountFlags(scope(conn(pitr.command('restore').description('restore to a point in time'))
    .option('--pname <name>', 'the PITR to restore from')
    .option('--cluster <sys>', 'restore the whole cluster (sys)')
    .option('--timestamp <ts>', 'the time to restore to: "YYYY-MM-DD hh:mm:ss[.ffffff]"'), ' to restore'))
    .action(goP('restore'));
  conn(pitr.command('drop').description('drop a PITR')).option('--pname <name>', 'the PITR name').action(goP('drop'));
}
