/**
 * The worker side of check by pack (PackCheckTask in tasks.ts): a pack's header and hash, its
 * chunks against their ids, whole files against their size and SHA-256; the plain chunks of files
 * spread over several packs go back to be hashed in order.
 */
import { createHash, hash } from 'node:crypto';
import { checkPack } from '../repo/pack.js';
import { equalBytes } from '../util/bytes.js';
import { idsOf, verifiedBlob } from './blob-slices.js';
import type { PackCheckResult, PackCheckTask } from './tasks.js';
import { moved } from './transfer.js';
import type { Crypt } from '../crypto/crypt.js';

export function packCheck(t: PackCheckTask, crypt: Crypt | undefined): unknown {
  const out: PackCheckResult = { dataOk: true, files: [] };
  // a whole pack's check hashes every blob; a blob stored as is needs no second hash
  const storedHash = new Map<number, { length: number; hash: Uint8Array }>();
  if (t.pack !== undefined) {
    try {
      const c = checkPack(t.data, t.pack, `pack ${t.pack.slice(0, 16)}`, crypt);
      out.dataOk = c.dataOk;
      c.blobs.forEach((b, i) => storedHash.set(b.offset, { length: b.length, hash: c.blobHashes[i] }));
    } catch (e) {
      out.packProblem = (e as Error).message;
      return out;
    }
  }
  const ids = idsOf(t);
  const plain: (Uint8Array | string | undefined)[] = new Array(t.offsets.length);
  const chunk = (j: number): Uint8Array | string => {
    let p = plain[j];
    if (p === undefined) {
      const s = storedHash.get(t.offsets[j]);
      plain[j] = p = verifiedBlob(t, ids, j, s?.length === t.lengths[j] ? s.hash : undefined, crypt);
    }
    return p;
  };
  // a chunk is let go after its last file: a task's decoded chunks are not all kept to its end
  const left = new Uint32Array(t.offsets.length);
  for (const f of t.files) for (const j of f.blobs) left[j]++;
  const used = (j: number) => {
    if (--left[j] === 0) plain[j] = undefined;
  };
  const sent: Uint8Array[] = [];
  for (const f of t.files) {
    if (!f.whole) {
      const chunks = f.blobs.map(chunk);
      const bad = chunks.findIndex((c) => typeof c === 'string');
      if (bad >= 0) out.files.push({ problem: chunks[bad] as string, chunk: f.blobs[bad] });
      else {
        // decoded chunks own their buffers; chunks stored as is are views of the task's own data:
        // all are handed over (each buffer once), none copied
        sent.push(...(chunks as Uint8Array[]));
        out.files.push({ plain: chunks as Uint8Array[] });
        f.blobs.forEach(used);
      }
      continue;
    }
    out.files.push(wholeFile(f.blobs, f.whole, t.sha256s, chunk, used));
  }
  return moved(out, sent, 0);
}

/**
 * A file whose chunks all lie in this task, its chunks hashed in order as they are decoded (each
 * let go by `used` when its last file is done with it): null when its size and SHA-256 match.
 */
function wholeFile(
  blobs: number[],
  want: { size: number; sha?: number },
  sha256s: Uint8Array,
  chunk: (j: number) => Uint8Array | string,
  used: (j: number) => void,
): PackCheckResult['files'][number] {
  const one = blobs.length === 1;
  const h = one ? undefined : createHash('sha256');
  let size = 0;
  let digest: Uint8Array | undefined;
  for (let i = 0; i < blobs.length; i++) {
    const c = chunk(blobs[i]);
    if (typeof c === 'string') return { problem: c, chunk: blobs[i] };
    size += c.length;
    if (want.sha !== undefined) {
      if (one) digest = hash('sha256', c, 'buffer');
      else h!.update(c);
    }
    used(blobs[i]);
  }
  // a chunk after a bad one is not decoded: the first bad chunk is the problem, as before
  if (size !== want.size) return { problem: `size ${size} differs from the recorded ${want.size}` };
  if (want.sha === undefined) return null;
  digest ??= h!.digest();
  return equalBytes(digest, sha256s.subarray(want.sha * 32, want.sha * 32 + 32)) ? null : { problem: 'sha256 mismatch' };
}
