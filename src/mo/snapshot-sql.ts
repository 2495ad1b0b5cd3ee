/**
 * The SQL behind `mo_br snapshot …` and `mo_br pitr …` (spec/matrixone.md, "Snapshots and
 * PITR"), as MatrixOne's grammar takes it (pkg/sql/parsers/dialect/mysql/mysql_sql.y):
 *  - CREATE SNAPSHOT <n> FOR CLUSTER | ACCOUNT <a> | DATABASE <d> | TABLE <d> <t>   (v1.2.0 on)
 *  - SHOW SNAPSHOTS [WHERE …] over its columns SNAPSHOT_NAME, TIMESTAMP, SNAPSHOT_LEVEL,
 *    ACCOUNT_NAME, DATABASE_NAME, TABLE_NAME (pkg/sql/plan/build_show.go buildShowSnapShots)
 *  - DROP SNAPSHOT <n>
 *  - restore: v1.2–v3.0.x `RESTORE CLUSTER FROM SNAPSHOT <n>`, `RESTORE ACCOUNT <a> [DATABASE <d>
 *    [TABLE <t>]] FROM SNAPSHOT <n> [TO ACCOUNT <b>]`; v4.0 on `RESTORE CLUSTER {SNAPSHOT = <n>}`,
 *    `RESTORE ACCOUNT <a> {SNAPSHOT = <n>} [TO ACCOUNT <b>]`, `RESTORE DATABASE [<a>.]<d> {…}`,
 *    `RESTORE TABLE [<a>.]<d>.<t> {…}`. TO ACCOUNT names an account that exists
 *    (pkg/frontend/snapshot.go getAccountId), so a restore to a new account creates it first.
 *  - CREATE PITR <n> FOR CLUSTER | ACCOUNT <a> | DATABASE <d> | DATABASE <d> TABLE <t>
 *    RANGE <int> '<unit>'; ALTER PITR <n> RANGE <int> '<unit>'; DROP PITR <n>;
 *    SHOW PITR [WHERE …] over PITR_NAME, CREATED_TIME, MODIFIED_TIME, PITR_LEVEL, ACCOUNT_NAME,
 *    DATABASE_NAME, TABLE_NAME ('*' when empty), PITR_LENGTH, PITR_UNIT      (v2.0.0 on)
 *  - RESTORE [CLUSTER | ACCOUNT <a>] [DATABASE <d> [TABLE <t>]] FROM PITR <n> '<ts>' [<src>]
 * Every name is checked against a plain identifier pattern and sent backquoted; every value is a
 * quoted string literal: a name or value holding a quote or a backquote is refused, never sent.
 */
import { MobrError } from '../errors.js';
import { parseServerVersion, sqlString } from './client.js';

const IDENT = /^[A-Za-z0-9_][A-Za-z0-9_$-]{0,255}$/;

/** A name from a flag as a backquoted identifier; BAD_INPUT unless it is a plain name. */
export function ident(v: string | undefined, flag: string): string {
  if (v === undefined || v === '') throw new MobrError('BAD_INPUT', `missing ${flag}`);
  if (!IDENT.test(v)) throw new MobrError('BAD_INPUT', `bad ${flag} ${JSON.stringify(v.slice(0, 40))}: use letters, digits, _, $ and - (no quotes or spaces)`);
  return `\`${v}\``;
}

const TS = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,9})?$/;

/** A timestamp flag as a string literal: "YYYY-MM-DD hh:mm:ss[.ffffff]". */
export function tsLiteral(v: string | undefined, flag: string): string {
  if (v === undefined || v === '') throw new MobrError('BAD_INPUT', `missing ${flag} ("YYYY-MM-DD hh:mm:ss[.ffffff]")`);
  if (!TS.test(v)) throw new MobrError('BAD_INPUT', `bad ${flag} ${JSON.stringify(v.slice(0, 40))}: use "YYYY-MM-DD hh:mm:ss[.ffffff]"`);
  return sqlString(v);
}

export interface Scope {
  account?: string;
  database?: string;
  table?: string;
}

export type Level = 'cluster' | 'account' | 'database' | 'table';

function level(v: string | undefined, allowed: readonly Level[]): Level {
  const l = (v ?? '').toLowerCase();
  const what = v ? `bad --level ${JSON.stringify(v.slice(0, 20))}` : 'missing --level';
  if (!(allowed as readonly string[]).includes(l)) throw new MobrError('BAD_INPUT', `${what}: use ${allowed.join(', ')}`);
  return l as Level;
}

/** The lower levels' flags must not be given at a higher level (mo_br's docs). */
function onlyAt(l: Level, s: Scope, db: string): void {
  if (l === 'cluster' && s.account) throw new MobrError('BAD_INPUT', '--account is not for --level cluster');
  if ((l === 'cluster' || l === 'account') && s.database) throw new MobrError('BAD_INPUT', `${db} is not for --level ${l}`);
  if (l !== 'table' && s.table) throw new MobrError('BAD_INPUT', `--table is not for --level ${l}`);
}

export function createSnapshot(name: string | undefined, lvl: string | undefined, s: Scope): string {
  const n = ident(name, '--sname');
  const l = level(lvl, ['cluster', 'account', 'database', 'table']);
  onlyAt(l, s, '--db');
  const target =
    l === 'cluster' ? 'CLUSTER'
    : l === 'account' ? `ACCOUNT ${ident(s.account, '--account')}`
    : l === 'database' ? `DATABASE ${ident(s.database, '--db')}`
    : `TABLE ${ident(s.database, '--db')} ${ident(s.table, '--table')}`;
  return `CREATE SNAPSHOT ${n} FOR ${target}`;
}

export interface SnapshotFilter extends Scope {
  cluster?: string;
  sname?: string;
  beginTs?: string;
  endTs?: string;
}

/** `SHOW <what> [WHERE …]`: the level, scope and name filters over the statement's own columns. */
type Eq = [string, string | undefined, string];
function showWhere(what: string, f: SnapshotFilter, o: { level: string; name: Eq; db: string }, extra: string[] = []): string {
  const w: string[] = [];
  if (f.cluster !== undefined && f.cluster !== '') w.push(`${o.level} = 'cluster'`);
  const eq: Eq[] = [['ACCOUNT_NAME', f.account, '--account'], ['DATABASE_NAME', f.database, o.db], ['TABLE_NAME', f.table, '--table'], o.name];
  for (const [col, v, flag] of eq) if (v) w.push(`${col} = ${sqlString(bare(v, flag))}`);
  w.push(...extra);
  return `SHOW ${what}${w.length ? ` WHERE ${w.join(' AND ')}` : ''}`;
}

export function showSnapshots(f: SnapshotFilter): string {
  const ts = [
    ...(f.beginTs ? [`TIMESTAMP >= ${tsLiteral(f.beginTs, '--beginTs')}`] : []),
    ...(f.endTs ? [`TIMESTAMP <= ${tsLiteral(f.endTs, '--endTs')}`] : []),
  ];
  return showWhere('SNAPSHOTS', f, { level: 'SNAPSHOT_LEVEL', name: ['SNAPSHOT_NAME', f.sname, '--sname'], db: '--db' }, ts);
}

/** A name compared as a value: checked like an identifier, sent as a string literal. */
const bare = (v: string, flag: string) => ident(v, flag).slice(1, -1);

export const dropSnapshot = (name: string | undefined): string => `DROP SNAPSHOT ${ident(name, '--sname')}`;

/** The releases that take `{SNAPSHOT = <n>}` (v4.0 on; an unknown version is the newest). */
export function braceSnapshotRestore(serverVersion: string | undefined): boolean {
  const v = serverVersion === undefined ? undefined : parseServerVersion(serverVersion);
  return !v || v[0] >= 4;
}

export function restoreSnapshot(name: string | undefined, s: Scope, toAccount: string | undefined, serverVersion?: string): string {
  const n = ident(name, '--sname');
  if (s.table && !s.database) throw new MobrError('BAD_INPUT', '--table needs --db');
  const to = toAccount ? ` TO ACCOUNT ${ident(toAccount, '--new_account')}` : '';
  if (!s.account && !s.database) {
    if (to) throw new MobrError('BAD_INPUT', '--new_account needs --account (a restore into a new account is of one account)');
    return braceSnapshotRestore(serverVersion) ? `RESTORE CLUSTER {SNAPSHOT = ${n}}` : `RESTORE CLUSTER FROM SNAPSHOT ${n}`;
  }
  if (braceSnapshotRestore(serverVersion)) {
    const a = s.account ? `${ident(s.account, '--account')}.` : '';
    if (s.table) return `RESTORE TABLE ${a}${ident(s.database, '--db')}.${ident(s.table, '--table')} {SNAPSHOT = ${n}}${to}`;
    if (s.database) return `RESTORE DATABASE ${a}${ident(s.database, '--db')} {SNAPSHOT = ${n}}${to}`;
    return `RESTORE ACCOUNT ${ident(s.account, '--account')} {SNAPSHOT = ${n}}${to}`;
  }
  const a = `RESTORE ACCOUNT ${ident(s.account, '--account (this server release needs it with --db)')}`;
  const db = s.database ? ` DATABASE ${ident(s.database, '--db')}${s.table ? ` TABLE ${ident(s.table, '--table')}` : ''}` : '';
  return `${a}${db} FROM SNAPSHOT ${n}${to}`;
}

/** `CREATE ACCOUNT` for a restore into a new account; the password is a string literal. */
export function createAccount(account: string | undefined, admin: string | undefined, password: string | undefined): string {
  if (password === undefined || password === '') throw new MobrError('BAD_INPUT', 'missing --new_admin_password (the new account\'s admin password)');
  const adminName = sqlString(bare(admin ?? '', '--new_admin_name'));
  return `CREATE ACCOUNT ${ident(account, '--new_account')} ADMIN_NAME ${adminName} IDENTIFIED BY ${sqlString(password)}`;
}

const UNITS = ['h', 'd', 'mo', 'y'];

function range(value: string | undefined, unit: string | undefined): string {
  if (value === undefined || !/^\d{1,9}$/.test(value)) {
    const what = value === undefined ? 'missing --rangevalue' : `bad --rangevalue ${JSON.stringify(value.slice(0, 20))}`;
    throw new MobrError('BAD_INPUT', `${what}: a whole number, 1-100`);
  }
  const u = unit === undefined || unit === '' ? 'd' : unit;
  if (!UNITS.includes(u)) throw new MobrError('BAD_INPUT', `bad --rangeunit ${JSON.stringify(u.slice(0, 20))}: use h, d, mo or y`);
  return `RANGE ${Number(value)} ${sqlString(u)}`;
}

export function createPitr(name: string | undefined, lvl: string | undefined, s: Scope, value: string | undefined, unit: string | undefined): string {
  const n = ident(name, '--pname');
  const l = level(lvl, ['cluster', 'account', 'database', 'table']);
  onlyAt(l, s, '--database');
  const target =
    l === 'cluster' ? 'CLUSTER'
    : l === 'account' ? (s.account ? `ACCOUNT ${ident(s.account, '--account')}` : 'ACCOUNT')
    : l === 'database' ? `DATABASE ${ident(s.database, '--database')}`
    : `DATABASE ${ident(s.database, '--database')} TABLE ${ident(s.table, '--table')}`;
  return `CREATE PITR ${n} FOR ${target} ${range(value, unit)}`;
}

export const alterPitr = (name: string | undefined, value: string | undefined, unit: string | undefined): string =>
  `ALTER PITR ${ident(name, '--pname')} ${range(value, unit)}`;
export const dropPitr = (name: string | undefined): string => `DROP PITR ${ident(name, '--pname')}`;

export const showPitr = (f: SnapshotFilter & { pname?: string }): string =>
  showWhere('PITR', f, { level: 'PITR_LEVEL', name: ['PITR_NAME', f.pname, '--pname'], db: '--database' });

/** RESTORE … FROM PITR; `cluster` for --cluster, `source` the account a new account is restored from. */
export function restorePitr(name: string | undefined, ts: string | undefined, s: Scope & { cluster?: boolean; source?: string }): string {
  const n = ident(name, '--pname');
  const t = tsLiteral(ts, '--timestamp');
  if (s.table && !s.database) throw new MobrError('BAD_INPUT', '--table needs --database');
  if (s.cluster) {
    if (s.account || s.database) throw new MobrError('BAD_INPUT', '--cluster restores the whole cluster: no --account, --database or --table');
    return `RESTORE CLUSTER FROM PITR ${n} ${t}`;
  }
  const a = s.account ? ` ACCOUNT ${ident(s.account, '--account')}` : '';
  const db = s.database ? ` DATABASE ${ident(s.database, '--database')}${s.table ? ` TABLE ${ident(s.table, '--table')}` : ''}` : '';
  const src = s.source ? ` ${ident(s.source, '--account')}` : '';
  if (src && (db || !a)) throw new MobrError('BAD_INPUT', 'a restore into a new account is of a whole account: no --database or --table');
  return `RESTORE${a}${db} FROM PITR ${n} ${t}${src}`;
}
