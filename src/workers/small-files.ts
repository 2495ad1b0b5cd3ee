/**
 * The worker side of SmallFilesTask (tasks.ts): small files checked, and for a restore written,
 * with synchronous file calls (a worker's own thread; no round trip per call through the
 * process's 4-thread I/O pool, which a thousand small files would queue on).
 */
import { closeSync, fchmodSync, openSync, renameSync, rmSync, utimesSync, writevSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { blake3 } from '../hash/blake3.js';
import { decodeChunk } from '../chunk/codec.js';
import { equalBytes } from '../repo/sealed.js';
import { fsPath } from '../util/names.js';
import type { SmallFile, SmallFileProblem, SmallFilesTask } from './tasks.js';

/** ms -> seconds for utimes, rounded so the whole millisecond survives the float (not ….999). */
export const utimeSeconds = (ms: number): number => (ms + 0.5) / 1000;

export function smallFiles(t: SmallFilesTask): SmallFileProblem[] {
  const ids = Buffer.from(t.ids.buffer, t.ids.byteOffset, t.ids.byteLength);
  const plain: (Uint8Array | string)[] = t.chunkBuf.map((b, j) => {
    try {
      const p = decodeChunk(t.bufs[b].subarray(t.chunkOffset[j], t.chunkOffset[j] + t.chunkLength[j]), t.codecs[j], t.rawLengths[j]);
      if (ids.compare(blake3(p), 0, 32, j * 32, j * 32 + 32) !== 0) return 'hash mismatch';
      return p;
    } catch (e) {
      return (e as Error).message;
    }
  });
  return t.files.map((f) => oneFile(f, plain));
}

function oneFile(f: SmallFile, plain: (Uint8Array | string)[]): SmallFileProblem {
  const chunks: Uint8Array[] = [];
  for (let j = f.first; j < f.first + f.count; j++) {
    const c = plain[j];
    if (typeof c === 'string') return { kind: 'chunk', chunk: j, message: c };
    chunks.push(c);
  }
  const sha = createHash('sha256');
  let size = 0;
  for (const c of chunks) {
    sha.update(c);
    size += c.length;
  }
  if (size !== f.size) return { kind: 'content', message: `size ${size} differs from the recorded ${f.size}` };
  if (f.sha256 && !equalBytes(new Uint8Array(sha.digest()), f.sha256)) return { kind: 'content', message: 'sha256 mismatch' };
  if (!f.write) return null;
  const w = f.write;
  const tmp = fsPath(w.tmp);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o600);
    let done = 0;
    while (done < size) {
      // writev may write less than asked: go on from where it stopped
      let skip = done;
      const rest: Uint8Array[] = [];
      for (const c of chunks) {
        if (skip >= c.length) skip -= c.length;
        else {
          rest.push(skip > 0 ? c.subarray(skip) : c);
          skip = 0;
        }
      }
      done += writevSync(fd, rest);
    }
    fchmodSync(fd, w.mode);
    closeSync(fd);
    fd = undefined;
    utimesSync(tmp, utimeSeconds(w.mtimeMs), utimeSeconds(w.mtimeMs));
    renameSync(tmp, fsPath(w.target));
    return null;
  } catch (e) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // already failing
      }
    }
    rmSync(tmp, { force: true });
    const err = e as NodeJS.ErrnoException;
    return { kind: 'io', code: err.code, message: err.message };
  }
}
