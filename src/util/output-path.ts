/**
 * The one output-path rule (README "Reliability", spec/reliability.md): every file mobr writes
 * for the user (`stats --html`, `--log_file`, `--metrics_file`, `export --path`, the catalog)
 * goes through here, and
 *  - is a new regular file, or an existing regular file only where replacing (or appending to)
 *    it is the output's documented purpose (`replace`);
 *  - is never inside a mobr repository (a folder, or any folder above it, holding a `config`
 *    that begins with the repository's "MOBRC" envelope, spec/repository.md §3) and never one of
 *    the `forbidden` files (the catalog and its sidecar);
 *  - a symbolic link is followed and the rule applied to what it names (the link itself is never
 *    replaced); a link to nothing is refused;
 *  - a character or block device or a fifo (`/dev/null`, `/dev/stdout` through its link) is
 *    written through, never replaced; a folder or a socket is refused.
 * Checks and writes are synchronous: an output is opened once per command.
 */
import { closeSync, constants as fsc, fstatSync, fsyncSync, linkSync, lstatSync, openSync, readSync, realpathSync, renameSync, statSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { MobrError, withContext } from '../errors.js';
import { realish } from './names.js';

export interface OutputRule {
  /** How the user named it, for messages: '--html', '--log_file', 'meta file'. */
  what: string;
  /**
   * An existing regular file may be replaced (or appended to): `true`, or a test of its first
   * 4 KiB (replace only a file this output wrote before, e.g. a page with mobr's generator mark).
   */
  replace?: boolean | ((head: Buffer) => boolean);
  /** Files this output must never be (the catalog and its sidecar), however they are named. */
  forbidden?: readonly string[];
  /** Only a regular file will do (the catalog): a device or fifo is refused, not written through. */
  regularOnly?: boolean;
}

/** Where the bytes go: a new file, a regular file replaced, or a device/fifo written through. */
interface OutputTarget {
  kind: 'new' | 'replace' | 'through';
  /** The real path written (links resolved). */
  path: string;
}

const MAGIC = Buffer.from('MOBRC'); // a repository's `config` envelope: "MOBR" + kind 'C'

const bad = (msg: string) => new MobrError('BAD_INPUT', msg);

function lstatOrNone(p: string, what: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if ((e as NodeJS.ErrnoException).code === 'ENOTDIR') throw bad(`${what} ${p}: a part of the path is not a folder`);
    throw withContext(`${what} ${p}`, e);
  }
}

function headOf(file: string, n: number): Buffer {
  let fd: number | undefined;
  try {
    fd = openSync(file, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
    if (!fstatSync(fd).isFile()) return Buffer.alloc(0);
    const buf = Buffer.alloc(n);
    return buf.subarray(0, readSync(fd, buf, 0, n, 0));
  } catch {
    return Buffer.alloc(0);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** True when dir holds a mobr repository's config. */
function isRepositoryFolder(dir: string): boolean {
  return headOf(path.join(dir, 'config'), MAGIC.length).equals(MAGIC);
}

/** The repository folder that holds p (p itself or a folder above it), if any. */
function repositoryAbove(p: string): string | undefined {
  for (let d = p; ; d = path.dirname(d)) {
    if (isRepositoryFolder(d)) return d;
    if (path.dirname(d) === d) return undefined;
  }
}

function refuseInside(real: string, rule: OutputRule, shown: string): void {
  const repo = repositoryAbove(real);
  if (repo !== undefined) throw bad(`${rule.what} ${shown} is inside the mobr repository ${repo}; write it elsewhere`);
  for (const f of rule.forbidden ?? []) {
    if (realish(f) === real) throw bad(`${rule.what} ${shown} is the meta file ${path.resolve(f)}; write it elsewhere`);
  }
}

/** Decides where an output file goes, or refuses it (BAD_INPUT, one line naming the path). */
export function checkOutputFile(file: string, rule: OutputRule): OutputTarget {
  const shown = path.resolve(file);
  let real = shown;
  let st = lstatOrNone(shown, rule.what);
  if (st?.isSymbolicLink()) {
    try {
      real = realpathSync(shown);
    } catch (e) {
      throw bad(`${rule.what} ${shown} is a link to nothing (${(e as NodeJS.ErrnoException).code}); give a file`);
    }
    st = statSync(real);
  } else {
    const dir = path.dirname(shown);
    const dst = lstatOrNone(dir, rule.what);
    if (!dst) throw bad(`${rule.what} ${shown}: the folder ${dir} does not exist`);
    real = path.join(realpathSync(dir), path.basename(shown));
  }
  refuseInside(real, rule, shown);
  if (!st) return { kind: 'new', path: real };
  if (st.isDirectory()) throw bad(`${rule.what} ${shown} is a folder; give a file`);
  if (st.isCharacterDevice() || st.isBlockDevice() || st.isFIFO()) {
    if (rule.regularOnly) throw bad(`${rule.what} ${shown} is not a regular file (a fifo or device); give a file`);
    return { kind: 'through', path: real };
  }
  if (!st.isFile()) throw bad(`${rule.what} ${shown} is not a regular file (a socket); give a file`);
  const ok = typeof rule.replace === 'function' ? rule.replace(headOf(real, 4096)) : rule.replace === true;
  if (!ok) throw bad(`${rule.what} ${shown} already exists${typeof rule.replace === 'function' ? ' and is not a file mobr wrote' : ''}; remove it or give a new name`);
  return { kind: 'replace', path: real };
}

/**
 * Opens a device or fifo for writing without creating or replacing anything; refuses a node that
 * became a regular file. The open never blocks (a fifo nobody reads would block it, uninterruptibly:
 * issue #25), and it is the only open: a probe opened and closed first would let a reader that is
 * already there see end-of-file before the real open, and the real open then wait forever for a
 * reader that has gone. Writes to the descriptor go through writeAllSync (it waits out EAGAIN).
 */
function openThrough(t: OutputTarget, rule: OutputRule, append = false): number {
  const flags = fsc.O_WRONLY | fsc.O_NOCTTY | fsc.O_NONBLOCK | (append ? fsc.O_APPEND : 0);
  let fd: number;
  try {
    fd = openSync(t.path, flags);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENXIO') throw bad(`${rule.what} ${t.path} is a fifo no process reads; give a file`);
    throw e;
  }
  const st = fstatSync(fd);
  if (st.isFile() || st.isDirectory()) {
    closeSync(fd);
    throw bad(`${rule.what} ${t.path} changed while it was opened; try again`);
  }
  return fd;
}

const napping = new Int32Array(new SharedArrayBuffer(4));

/** Writes all of data to fd; a non-blocking descriptor (a fifo or device written through) that is full is waited on in 2 ms naps. */
export function writeAllSync(fd: number, data: Uint8Array | string): void {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  for (let off = 0; off < bytes.length; ) {
    try {
      off += writeSync(fd, bytes, off, bytes.length - off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(napping, 0, 0, 2);
    }
  }
}

/**
 * Writes data to file under the rule. A new or replaced file is written whole to a temp file
 * beside it, synced, then linked into place (new: link(2) never replaces what appeared meanwhile)
 * or renamed over the regular file; a device or fifo is written through. Returns the target.
 */
export function writeOutputFile(file: string, data: Uint8Array | string, rule: OutputRule): OutputTarget {
  const t = checkOutputFile(file, rule);
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  try {
    if (t.kind === 'through') {
      const fd = openThrough(t, rule);
      try {
        writeAllSync(fd, bytes);
      } finally {
        closeSync(fd);
      }
      return t;
    }
    const tmp = path.join(path.dirname(t.path), `.${path.basename(t.path)}.tmp-${randomBytes(6).toString('hex')}`);
    const fd = openSync(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o644);
    try {
      try {
        writeAllSync(fd, bytes);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      placeTemp(tmp, t, rule);
    } finally {
      try {
        unlinkSync(tmp);
      } catch {
        // already renamed into place, or never there
      }
    }
    return t;
  } catch (e) {
    if (e instanceof MobrError) throw e;
    throw withContext(`${rule.what} ${path.resolve(file)}`, e);
  }
}

function placeTemp(tmp: string, t: OutputTarget, rule: OutputRule): void {
  if (t.kind === 'new') {
    try {
      linkSync(tmp, t.path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw bad(`${rule.what} ${t.path} appeared while it was written; not replaced`);
      throw e;
    }
    return;
  }
  // replace: only a regular file, checked again just before (never a link or node that appeared)
  if (!lstatSync(t.path).isFile()) throw bad(`${rule.what} ${t.path} changed while it was written; not replaced`);
  renameSync(tmp, t.path);
}

/**
 * Opens file to append under the rule (`--log_file`): a new file is created (O_EXCL, never
 * through a link that appeared), an existing regular file appended to when rule.replace allows,
 * a device or fifo written through. Returns the descriptor.
 */
export function openOutputAppend(file: string, rule: OutputRule, mode = 0o600): number {
  const t = checkOutputFile(file, rule);
  try {
    if (t.kind === 'through') return openThrough(t, rule, true);
    if (t.kind === 'new') {
      try {
        return openSync(t.path, fsc.O_WRONLY | fsc.O_APPEND | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, mode);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        return openOutputAppend(file, rule, mode); // created meanwhile: decide again
      }
    }
    const fd = openSync(t.path, fsc.O_WRONLY | fsc.O_APPEND | fsc.O_NOFOLLOW);
    if (!fstatSync(fd).isFile()) {
      closeSync(fd);
      throw bad(`${rule.what} ${t.path} changed while it was opened; try again`);
    }
    return fd;
  } catch (e) {
    if (e instanceof MobrError) throw e;
    throw withContext(`${rule.what} ${path.resolve(file)}`, e);
  }
}

/**
 * An output folder (`export --path`): new (created by the caller) or an empty folder, never a
 * link's target replaced, never inside a mobr repository or at one. Returns its real path.
 */
export function checkOutputFolder(dir: string, what: string): string {
  const shown = path.resolve(dir);
  const real = realish(shown);
  const repo = repositoryAbove(real);
  if (repo !== undefined) throw bad(`${what} ${shown} is inside the mobr repository ${repo}; write it elsewhere`);
  return real;
}
