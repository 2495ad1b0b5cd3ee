/**
 * `mo_br snapshot create|show|drop|restore` and `mo_br pitr create|show|alter|restore|drop`:
 * each one statement (two for a restore into a new account) on the MatrixOne the connection
 * flags name (src/mo/snapshot-sql.ts). `show` prints mo_br's table (the server's columns, tab
 * separated); with --json, `mobr.snapshot.v1` / `mobr.pitr.v1`. A statement the server refuses
 * ends in one line with its error code (exit 8); a bad flag never reaches the server (exit 2).
 */
import { MobrError } from '../../errors.js';
import { connect, type MoClient } from '../../mo/client.js';
import * as q from '../../mo/snapshot-sql.js';
import { intFlag, printJson, type CliContext } from '../context.js';

export interface ConnFlags {
  host?: string;
  port?: string;
  user?: string;
  password?: string;
}

export interface SnapshotFlags extends ConnFlags {
  level?: string;
  account?: string;
  sname?: string;
  db?: string;
  table?: string;
  cluster?: string;
  beginTs?: string;
  endTs?: string;
  new_account?: string;
  new_admin_name?: string;
  new_admin_password?: string;
  newaccount?: string;
  newaccountadmin?: string;
  newaccountpwd?: string;
}

export interface PitrFlags extends ConnFlags {
  pname?: string;
  level?: string;
  account?: string;
  database?: string;
  table?: string;
  cluster?: string;
  rangevalue?: string;
  rangeunit?: string;
  timestamp?: string;
  new_account?: string;
  new_admin_name?: string;
  new_admin_password?: string;
}

async function withServer<T>(flags: ConnFlags, fn: (c: MoClient, version: string) => Promise<T>): Promise<T> {
  if (!flags.host) throw new MobrError('BAD_INPUT', 'missing --host (the MatrixOne to talk to)');
  if (flags.user === undefined || flags.user === '') throw new MobrError('BAD_INPUT', 'missing --user');
  const port = intFlag(flags.port, '--port', 1, 65535) ?? 6001;
  const client = await connect({ host: flags.host, port, user: flags.user, password: flags.password ?? '' });
  try {
    return await fn(client, await client.version());
  } finally {
    await client.close();
  }
}

/** Runs statements built before connecting (a bad flag is refused first), one after another. */
async function exec(flags: ConnFlags, ctx: CliContext, what: string, build: (version: string) => string[], done: Record<string, unknown>, text: string, secrets: string[] = []): Promise<void> {
  await withServer(flags, async (c, version) => {
    for (const sql of build(version)) await c.query(sql, what, secrets);
  });
  if (ctx.json) printJson(ctx, what.split(' ')[0]!, { action: what, ...done });
  else ctx.stdout.write(`${text}\n`);
}

/** mo_br's table: the columns' names with spaces, each cell padded, tab separated. */
export function renderTabTable(cols: string[], rows: string[][]): string {
  const head = cols.map((c) => c.replace(/_/g, ' '));
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `${r.map((c, i) => c.padEnd(width[i]!)).join('\t')}\t\n`;
  return line(head) + rows.map(line).join('');
}

const cell = (v: unknown): string => (v === null || v === undefined ? '' : v instanceof Date ? v.toISOString().replace('T', ' ').replace('Z', '') : String(v));

async function show(flags: ConnFlags, ctx: CliContext, sql: string, kind: 'snapshot' | 'pitr'): Promise<void> {
  const rows = await withServer(flags, (c) => c.query(sql, `${kind} show`));
  const cols = kind === 'snapshot'
    ? ['SNAPSHOT_NAME', 'TIMESTAMP', 'SNAPSHOT_LEVEL', 'ACCOUNT_NAME', 'DATABASE_NAME', 'TABLE_NAME']
    : ['PITR_NAME', 'CREATED_TIME', 'MODIFIED_TIME', 'PITR_LEVEL', 'ACCOUNT_NAME', 'DATABASE_NAME', 'TABLE_NAME', 'PITR_LENGTH', 'PITR_UNIT'];
  const table = rows.map((r) => cols.map((c) => cell(r[c])));
  if (ctx.json) {
    const key = (c: string) => c.toLowerCase().replace(/_([a-z])/g, (_, x: string) => x.toUpperCase());
    printJson(ctx, kind, { [`${kind}s`]: rows.map((r) => Object.fromEntries(cols.map((c) => [key(c), c === 'PITR_LENGTH' ? Number(r[c]) : cell(r[c])]))) });
  } else ctx.stdout.write(renderTabTable(cols, table));
}

/** The new-account flags, in either spelling the docs use. */
function newAccount(f: SnapshotFlags | PitrFlags): { name?: string; admin?: string; password?: string } {
  const s = f as SnapshotFlags;
  return { name: f.new_account || s.newaccount, admin: f.new_admin_name || s.newaccountadmin, password: f.new_admin_password || s.newaccountpwd };
}

export async function runSnapshot(action: string, f: SnapshotFlags, ctx: CliContext): Promise<void> {
  const scope = { account: f.account, database: f.db, table: f.table };
  if (action === 'show') return show(f, ctx, q.showSnapshots({ ...scope, cluster: f.cluster, sname: f.sname, beginTs: f.beginTs, endTs: f.endTs }), 'snapshot');
  if (action === 'create') {
    const sql = q.createSnapshot(f.sname, f.level, scope);
    return exec(f, ctx, 'snapshot create', () => [sql], { sname: f.sname, level: f.level?.toLowerCase() }, `create snapshot ${f.sname} success`);
  }
  if (action === 'drop') {
    const sql = q.dropSnapshot(f.sname);
    return exec(f, ctx, 'snapshot drop', () => [sql], { sname: f.sname }, `drop snapshot ${f.sname} success`);
  }
  const na = newAccount(f);
  const create = na.name ? q.createAccount(na.name, na.admin, na.password) : undefined;
  q.restoreSnapshot(f.sname, scope, na.name); // refuse bad flags before connecting
  return exec(f, ctx, 'snapshot restore', (v) => [...(create ? [create] : []), q.restoreSnapshot(f.sname, scope, na.name, v)], { sname: f.sname, newAccount: na.name ?? null }, `restore snapshot ${f.sname} success`, [na.password ?? '']);
}

export async function runPitr(action: string, f: PitrFlags, ctx: CliContext): Promise<void> {
  const scope = { account: f.account, database: f.database, table: f.table };
  if (action === 'show') return show(f, ctx, q.showPitr({ ...scope, cluster: f.cluster, pname: f.pname }), 'pitr');
  if (action === 'create') {
    const sql = q.createPitr(f.pname, f.level, scope, f.rangevalue, f.rangeunit);
    return exec(f, ctx, 'pitr create', () => [sql], { pname: f.pname, level: f.level?.toLowerCase() }, `create pitr ${f.pname} success`);
  }
  if (action === 'alter') {
    const sql = q.alterPitr(f.pname, f.rangevalue, f.rangeunit);
    return exec(f, ctx, 'pitr alter', () => [sql], { pname: f.pname }, `alter pitr ${f.pname} success`);
  }
  if (action === 'drop') {
    const sql = q.dropPitr(f.pname);
    return exec(f, ctx, 'pitr drop', () => [sql], { pname: f.pname }, `drop pitr ${f.pname} success`);
  }
  const na = newAccount(f);
  const create = na.name ? q.createAccount(na.name, na.admin, na.password) : undefined;
  const source = na.name && f.account && f.account !== na.name ? f.account : undefined;
  const sql = q.restorePitr(f.pname, f.timestamp, { ...scope, account: na.name ?? f.account, cluster: f.cluster !== undefined && f.cluster !== '', source });
  return exec(f, ctx, 'pitr restore', () => [...(create ? [create] : []), sql], { pname: f.pname, timestamp: f.timestamp, newAccount: na.name ?? null }, `restore pitr ${f.pname} success`, [na.password ?? '']);
}
