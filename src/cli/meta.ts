/**
 * The catalog: `mo_br.meta` in mo_br's format (lines: meta-line.ts; spec/meta.md) and beside it
 * `mo_br.meta.sha256`, the lowercase hex SHA-256 of the whole file, no newline (what the
 * operator makes with `sha256sum`). Default place: beside the `./mo_br` launcher; `--meta_path`
 * moves it.
 *
 * Reading: a missing file is an empty catalog; a missing sidecar is accepted (a file written by
 * hand or by a tool that makes none); a sidecar that does not match is CORRUPT_META, one line,
 * and nothing is ever written over it — unless `<file>.sha256.next` matches, which only a write
 * interrupted between its two renames leaves (see below).
 * Writing (under `<file>.lock`, lock.ts): `<file>.next` and `<file>.sha256.next` written and
 * fsynced, then `<file>.next` renamed over the file, then `<file>.sha256.next` over the
 * sidecar, then the folder fsynced. A crash before the first rename leaves the old pair; between
 * the renames, the new file with `.sha256.next` matching it, which readers accept and the next
 * writer finishes. A catalog in the former JSON layout is converted on first use, under the
 * lock, after copying it to `<file>.json.bak`.
 * Records hold locations without credentials (locationToJSON keeps known non-secret fields only).
 */
import { mkdirSync, promises as fsp, realpathSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { deniedReason, MobrError, withContext } from '../errors.js';
import { systemClock } from '../util/clock.js';
import { bestEffort } from '../util/best-effort.js';
import { checkOutputFile } from '../util/output-path.js';
import { realish } from '../util/names.js';
import { withLock } from './lock.js';
import { cleanRecord, formatMetaLines, parseMetaLines, type BackupRecord, type SkippedLine } from './meta-line.js';
import { isLegacyMeta, parseLegacyMeta } from './meta-json.js';

export type { BackupRecord } from './meta-line.js';
const META_FILE_NAME = 'mo_br.meta';

/**
 * The meta file's default place: `MO_BR_META_PATH` when set; else, for a copy installed by npm
 * (the launcher resolves into a `node_modules` folder, e.g. `<prefix>/bin/mo_br` linking to
 * `<prefix>/lib/node_modules/mobr/mo_br`), `$XDG_STATE_HOME/mobr/mo_br.meta` (default
 * `~/.local/state/mobr/mo_br.meta`, the folder made on first use); else, as mo_br does, beside the
 * launcher (a copied program keeps its catalog next to it).
 */
export function defaultMetaPath(argv: string[], env: NodeJS.ProcessEnv = process.env): string {
  if (env.MO_BR_META_PATH) return path.resolve(env.MO_BR_META_PATH);
  const exe = argv[1] ? path.resolve(argv[1]) : process.cwd();
  let real = exe;
  try {
    real = realpathSync(exe);
  } catch {
    // a launcher that is not a file (tests, a bundler): beside it
  }
  if (real.split(path.sep).includes('node_modules')) {
    const state = env.XDG_STATE_HOME || path.join(env.HOME || os.homedir(), '.local', 'state');
    const dir = path.join(state, 'mobr');
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      return path.join(dir, META_FILE_NAME);
    } catch {
      // no writable home: beside the launcher, as before
    }
  }
  return path.join(path.dirname(exe), META_FILE_NAME);
}

/** The sidecar's content for a file's text: lowercase hex SHA-256, no newline. */
export function metaChecksum(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The file's text for records (lines in the order given; no credentials). */
export function serializeMeta(records: readonly BackupRecord[], kept: readonly SkippedLine[] = []): string {
  return formatMetaLines(records, kept);
}

/**
 * Parses a meta file's text. `sidecar` is the sidecar's content (undefined: none); `next` the
 * content of `<file>.sha256.next` if any. CORRUPT_META (one line naming the file) on a mismatch.
 */
export function parseMeta(text: string, file: string, sidecar?: string, next?: string, skipped?: SkippedLine[]): BackupRecord[] {
  if (isLegacyMeta(text)) return parseLegacyMeta(text, file);
  if (sidecar !== undefined) {
    const sum = metaChecksum(text);
    const want = sidecar.trim().split(/\s/)[0].toLowerCase();
    if (want !== sum && next?.trim().toLowerCase() !== sum) {
      throw new MobrError('CORRUPT_META', `meta file ${file} does not match its checksum file ${file}.sha256 (damaged or edited); it was left unchanged`);
    }
  }
  return parseMetaLines(text, file, skipped);
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (deniedReason(e)) throw new MobrError('ACCESS_DENIED', `cannot read ${file}: ${deniedReason(e)}`, { cause: e });
    if (code === 'EISDIR') throw new MobrError('BAD_INPUT', `meta path ${file} is a folder; give a file`, { cause: e });
    throw withContext(`read ${file}`, e);
  }
}

async function writeSynced(file: string, text: string): Promise<void> {
  const fh = await fsp.open(file, 'w', 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Makes a rename in dir durable; some filesystems cannot sync a folder, so it is best effort. */
async function syncDir(dir: string): Promise<void> {
  const dh = await bestEffort(fsp.open(dir, 'r'), `open ${dir} to sync it`);
  if (dh) await bestEffort(dh.sync(), `sync ${dir}`).finally(() => dh.close());
}

/** The files a catalog at `file` consists of: no other output may be one of them. */
export function catalogFiles(file: string): string[] {
  return ['', '.sha256', '.next', '.sha256.next', '.lock'].map((x) => `${path.resolve(file)}${x}`);
}

type Loaded = { records: BackupRecord[]; legacy: boolean; skipped: SkippedLine[] };

export class Catalog {
  readonly file: string;
  private readonly warned = new Set<string>();
  /**
   * `warn` is told once per process of each line mobr cannot use: such a line is skipped (the
   * other records are read), never fatal, and kept as it is when the file is rewritten.
   */
  constructor(file: string, private readonly warn?: (message: string) => void) {
    this.file = path.resolve(file);
  }

  private tell(skipped: SkippedLine[]): void {
    for (const k of skipped) {
      const m = `${k.problem}: line skipped (kept in the file as it is; edit or remove it)`;
      if (this.warned.has(m)) continue;
      this.warned.add(m);
      this.warn?.(m);
    }
  }

  /**
   * The file's records as stored, and whether it is in the former JSON layout. Read without the
   * lock, a writer may be between its two renames (file and sidecar seen from different writes):
   * a mismatch is read once more holding the lock writers hold, and only a mismatch that stays
   * is damage.
   */
  private async load(): Promise<Loaded> {
    try {
      return await this.loadUnlocked();
    } catch (e) {
      if (!(e instanceof MobrError && e.code === 'CORRUPT_META')) throw e;
      try {
        return await withLock(`${this.file}.lock`, () => this.loadUnlocked());
      } catch (again) {
        // a catalog we may read but not lock (a read-only copy): the first finding stands
        throw again instanceof MobrError && again.code === 'ACCESS_DENIED' ? e : again;
      }
    }
  }

  private async loadUnlocked(): Promise<Loaded> {
    const file = realish(this.file); // a link is followed: its sidecar lies beside the file it names
    const text = await readOptional(file);
    if (text === undefined) return { records: [], legacy: false, skipped: [] };
    const sidecar = await readOptional(`${file}.sha256`);
    const next = sidecar === undefined ? undefined : await readOptional(`${file}.sha256.next`);
    const skipped: SkippedLine[] = [];
    const records = parseMeta(text, this.file, sidecar, next, skipped);
    this.tell(skipped);
    return { records, legacy: isLegacyMeta(text), skipped };
  }

  /**
   * All records in the file's order (a backup's record is appended when it is stored); a missing
   * file is an empty catalog. A JSON catalog is converted.
   */
  async read(): Promise<BackupRecord[]> {
    const { records, legacy } = await this.load();
    if (!legacy) return records;
    try {
      await this.update((rs) => rs);
    } catch (e) {
      // A catalog we may read but not write (a read-only copy) is still read.
      if (e instanceof MobrError && e.code === 'ACCESS_DENIED') return records;
      throw e;
    }
    return (await this.load()).records;
  }

  /** The record with that ID, or ENOENT_BACKUP. */
  async get(id: string): Promise<BackupRecord> {
    const r = (await this.read()).find((x) => x.id === id);
    if (!r) throw new MobrError('ENOENT_BACKUP', `no backup with ID ${id} in ${this.file}`);
    return r;
  }

  /** Read-modify-write under the lock; fn's result replaces the records atomically. */
  async update(fn: (records: BackupRecord[]) => BackupRecord[]): Promise<void> {
    await withLock(`${this.file}.lock`, async (held) => {
      const { records, legacy, skipped } = await this.loadUnlocked();
      const next = fn(records).map(cleanRecord);
      if (legacy) await this.keepLegacyCopy();
      await this.writePair(serializeMeta(next, skipped), held);
    });
  }

  async add(record: BackupRecord): Promise<void> {
    await this.update((rs) => {
      if (rs.some((r) => r.id === record.id)) throw new MobrError('BAD_INPUT', `backup ID ${record.id} is already in ${this.file}`);
      return [...rs, record];
    });
  }

  async remove(id: string): Promise<void> {
    await this.update((rs) => {
      if (!rs.some((r) => r.id === id)) throw new MobrError('ENOENT_BACKUP', `no backup with ID ${id} in ${this.file}`);
      return rs.filter((r) => r.id !== id);
    });
  }

  /** Copies a JSON catalog to `<file>.json.bak` (never over an earlier copy) before converting it. */
  private async keepLegacyCopy(): Promise<void> {
    let bak = `${this.file}.json.bak`;
    if (await readOptional(bak) !== undefined) bak = `${bak}-${systemClock.now()}`;
    await fsp.copyFile(this.file, bak).catch((e) => {
      throw writeError(bak, e);
    });
  }

  /** The two-file write described in the file comment; `held` fences it (lock.ts), before the `.next` files and again before the first rename. */
  private async writePair(text: string, held: () => Promise<void>): Promise<void> {
    // the output rule: a regular file (a link's target), never a device, never in a repository
    const file = checkOutputFile(this.file, { what: 'meta file', replace: true, regularOnly: true }).path;
    const next = `${file}.next`;
    const sumNext = `${file}.sha256.next`;
    await held();
    try {
      await writeSynced(next, text);
      await writeSynced(sumNext, metaChecksum(text));
    } catch (e) {
      throw writeError(this.file, e);
    }
    await held();
    try {
      await fsp.rename(next, file);
      await fsp.rename(sumNext, `${file}.sha256`);
      await syncDir(path.dirname(file));
    } catch (e) {
      throw writeError(this.file, e);
    }
  }
}


function writeError(file: string, e: unknown): MobrError {
  const denied = deniedReason(e);
  if (denied) return new MobrError('ACCESS_DENIED', `cannot write meta file ${file}: ${denied}`);
  return withContext(`write meta file ${file}`, e);
}

/**
 * A record as `--json` shows it (spec/json.md): sizes in bytes, times as ISO-8601 (UTC), the
 * duration in nanoseconds and backupTs as MatrixOne's TS string; the location without keys.
 */
export function recordJson(r: BackupRecord): Record<string, unknown> {
  const c = cleanRecord(r);
  return { ...c, atTime: new Date(c.atTime).toISOString(), completeTime: new Date(c.completeTime).toISOString() };
}
