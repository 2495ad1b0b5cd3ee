/**
 * The worker side of restore by pack (PackWritesTask, FinishFilesTask in tasks.ts): chunks decoded
 * and checked once each, written where the files use them, files checked whole and renamed into
 * place. Synchronous file calls: this is the worker's own thread, and a thousand small files
 * must not queue a round trip each on the process's 4-thread I/O pool.
 */
import { closeSync, constants, fchmodSync, fstatSync, futimesSync, openSync, readFileSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { createHash, hash } from 'node:crypto';
import { equalBytes } from '../util/bytes.js';
import { fsPath } from '../util/names.js';
import { idsOf, verifiedBlob } from './blob-slices.js';
import type { FinishFile, FinishFilesTask, PackFile, PackWritesTask, FileProblem, WholeEncoding } from './tasks.js';
import type { Crypt } from '../crypto/crypt.js';
import { createCrc32c, frameWith, type Crc32c } from '../mo/frame-blocks.js';

const READ_BACK = 1024 * 1024;

/** ms -> seconds for utimes, rounded so the whole millisecond survives the float (not ….999). */
export const utimeSeconds = (ms: number): number => (ms + 0.5) / 1000;

/** Per file of the task: null when its chunks here are written (and, if whole, it is in place). */
/** The whole-file encodings a task's files ask for (loaded by the caller: LocalFS framing loads its CRC-32C binding). */
export type Encoders = Partial<Record<WholeEncoding, (plain: Uint8Array) => Uint8Array>>;

/** This thread's CRC-32C, loaded by the first task that frames a file. */
let crc32c: Promise<Crc32c> | undefined;

/** The encoders task `t` needs, loaded (none for a task of plain files). */
export async function encodersFor(t: PackWritesTask): Promise<Encoders> {
  if (!t.files.some((f) => f.whole?.encoding === 'localfs')) return {};
  const crc = await (crc32c ??= createCrc32c().then((c) => c.crc32c));
  return { localfs: (plain) => frameWith(crc, plain) };
}

export function packWrites(t: PackWritesTask, crypt: Crypt | undefined, encoders: Encoders = {}): FileProblem[] {
  const ids = idsOf(t);
  // each chunk is decoded once, when first used, and dropped after its last use
  const left = new Array<number>(t.offsets.length).fill(0);
  for (const f of t.files) for (const j of f.blobs) left[j]++;
  const plain: (Uint8Array | string | undefined)[] = new Array(t.offsets.length);
  const chunk = (j: number): Uint8Array | string => {
    let p = plain[j];
    if (p === undefined) plain[j] = p = verifiedBlob(t, ids, j, undefined, crypt);
    if (--left[j] === 0 && typeof p !== 'string') plain[j] = undefined;
    return p;
  };
  const sha = (i: number | undefined) => (i === undefined ? undefined : t.sha256s.subarray(i * 32, i * 32 + 32));
  return t.files.map((f) => {
    if (!f.whole) return writeParts(f, chunk);
    if (f.whole.encoding !== undefined && f.blobs.length !== 1) {
      return { kind: 'content', message: `an encoded file is restored by pack only as one chunk, not ${f.blobs.length}` };
    }
    if (f.blobs.length > 1) return writeWhole(f, f.whole, chunk, sha(f.whole.sha));
    // one chunk: checked, and the file with it (size, SHA-256 in one call), before the file is even created
    const c = chunk(f.blobs[0]);
    if (typeof c === 'string') return { kind: 'chunk', chunk: f.blobs[0], message: c };
    const problem = contentProblem(c, f.whole, sha(f.whole.sha));
    if (problem) return problem;
    const encoding = f.whole.encoding;
    const encode = encoding === undefined ? undefined : encoders[encoding];
    if (encoding !== undefined && !encode) return { kind: 'content', message: `no ${encoding} encoder was loaded for this task` };
    const out = encode ? encode(c) : c;
    return writeWhole(f, f.whole, () => out, undefined, out.length);
  });
}

/** A one-chunk file's size and SHA-256 against the recorded ones (null: they match). */
function contentProblem(c: Uint8Array, w: FinishFile, sha256: Uint8Array | undefined): FileProblem {
  if (c.length !== w.size) return { kind: 'content', message: `restored ${c.length} bytes, the backup records ${w.size}` };
  if (sha256 && !equalBytes(hash('sha256', c, 'buffer'), sha256)) return { kind: 'content', message: 'restored bytes do not match the recorded SHA-256' };
  return null;
}

/**
 * The process's umask, read once from /proc/self/status (library code never calls process.umask:
 * test/layers); null where it cannot be read, and then every file gets its fchmod.
 */
let umask: number | null | undefined;
function readUmask(): number | null {
  if (umask === undefined) {
    try {
      const m = /^Umask:\s*([0-7]+)$/m.exec(readFileSync('/proc/self/status', 'latin1'));
      umask = m ? parseInt(m[1], 8) : null;
    } catch {
      umask = null;
    }
  }
  return umask;
}

/**
 * The mode a whole file is created with: its recorded mode when the umask lets it through as is
 * (so no fchmod follows: one system call a file fewer), else 0o600 and an fchmod after the writes.
 * Bits beyond 0o777 (setuid, setgid, sticky) are never given before the content is written.
 */
export function createMode(mode: number, mask: number | null = readUmask()): { open: number; chmod: boolean } {
  const through = mask !== null && (mode & 0o777) === mode && (mode & ~mask) === mode;
  return through ? { open: mode, chmod: false } : { open: 0o600, chmod: true };
}

type Chunk = (j: number) => Uint8Array | string;

/**
 * A file all here, chunk by chunk: each checked before it is written to the temporary name; the
 * whole checked against size and SHA-256 before the rename. A failure removes the file.
 */
function writeWhole(f: PackFile, w: FinishFile, chunk: Chunk, sha256: Uint8Array | undefined, expected = w.size): FileProblem {
  const h = sha256 ? createHash('sha256') : undefined;
  let size = 0;
  const mode = createMode(w.mode);
  return withFile(f.tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, true, mode.open, (fd) => {
    for (const j of f.blobs) {
      const c = chunk(j);
      if (typeof c === 'string') return { kind: 'chunk', chunk: j, message: c };
      h?.update(c);
      size += c.length;
      for (let done = 0; done < c.length; ) done += writeSync(fd, c, done, c.length - done);
    }
    if (size !== expected) return { kind: 'content', message: `restored ${size} bytes, the backup records ${expected}` };
    if (h && !equalBytes(new Uint8Array(h.digest()), sha256!)) return { kind: 'content', message: 'restored bytes do not match the recorded SHA-256' };
    setMeta(fd, w, mode.chmod);
    return null;
  }, () => renameSync(fsPath(f.tmp), fsPath(w.target)));
}

/** Chunks of a file spread over several tasks, each checked, then written at its offset. */
function writeParts(f: PackFile, chunk: Chunk): FileProblem {
  return withFile(f.tmp, constants.O_WRONLY, false, 0o600, (fd) => {
    for (let i = 0; i < f.blobs.length; i++) {
      const c = chunk(f.blobs[i]);
      if (typeof c === 'string') return { kind: 'chunk', chunk: f.blobs[i], message: c };
      for (let done = 0; done < c.length; ) done += writeSync(fd, c, done, c.length - done, f.ats[i] + done);
    }
    return null;
  });
}

/** Gives the open file its recorded mode and mtime (before it is closed and renamed). */
function setMeta(fd: number, w: FinishFile, chmod = true): void {
  if (chmod) fchmodSync(fd, w.mode);
  futimesSync(fd, utimeSeconds(w.mtimeMs), utimeSeconds(w.mtimeMs));
}

/**
 * Opens the file with `flags`, runs `fn`, closes it, then (if `fn` found no problem) runs
 * `after`. A problem or failure closes it and removes it when `owned` (this call created it); a
 * failure becomes an io problem.
 */
function withFile(tmp: string, flags: number, owned: boolean, mode: number, fn: (fd: number) => FileProblem, after?: () => void): FileProblem {
  let fd: number | undefined;
  try {
    fd = openSync(fsPath(tmp), flags, mode);
    const problem = fn(fd);
    if (problem) {
      closeSync(fd);
      fd = undefined;
      if (owned) rmSync(fsPath(tmp), { force: true });
      return problem;
    }
    const open = fd;
    fd = undefined;
    closeSync(open);
    after?.();
    return null;
  } catch (e) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // already failing
      }
    }
    if (owned) rmSync(fsPath(tmp), { force: true });
    const err = e as NodeJS.ErrnoException;
    return { kind: 'io', code: err.code, message: err.message };
  }
}

/** Files written in parts: read back and checked against size and SHA-256, then renamed. */
export function finishFiles(t: FinishFilesTask): FileProblem[] {
  const buf = Buffer.allocUnsafe(READ_BACK);
  return t.files.map((w) => {
    let fd: number | undefined;
    try {
      fd = openSync(fsPath(w.tmp), constants.O_RDWR);
      const size = fstatSync(fd).size;
      if (size !== w.size) return { kind: 'content', message: `restored ${size} bytes, the backup records ${w.size}` };
      if (w.sha !== undefined) {
        const h = createHash('sha256');
        for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
        if (!equalBytes(new Uint8Array(h.digest()), t.sha256s.subarray(w.sha * 32, w.sha * 32 + 32))) return { kind: 'content', message: 'restored bytes do not match the recorded SHA-256' };
      }
      setMeta(fd, w);
      const open = fd;
      fd = undefined;
      closeSync(open);
      renameSync(fsPath(w.tmp), fsPath(w.target));
      return null;
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      return { kind: 'io', code: err.code, message: err.message };
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  });
}
