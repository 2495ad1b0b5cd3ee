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
  const sent: Uint8Array[] = [];
  for (const f of t.files) {
    const chunks = f.blobs.map(chunk);
    const bad = chunks.findIndex((c) => typeof c === 'string');
    if (bad >= 0) {
      out.files.push({ problem: chunks[bad] as string, chunk: f.blobs[bad] });
      continue;
    }
    const cs = chunks as Uint8Array[];
    if (!f.whole) {
      // decoded chunks own their buffers; chunks stored as is are views of the task's own data:
      // all are handed over (each buffer once), none copied
      sent.push(...cs);
      out.files.push({ plain: cs });
      continue;
    }
    const size = cs.reduce((s, c) => s + c.length, 0);
    if (size !== f.whole.size) out.files.push({ problem: `size ${size} differs from the recorded ${f.whole.size}` });
    else if (f.whole.sha !== undefined && !equalBytes(sha256Of(cs), t.sha256s.subarray(f.whole.sha * 32, f.whole.sha * 32 + 32))) out.files.push({ problem: 'sha256 mismatch' });
    else out.files.push(null);
  }
  return moved(out, sent, 0);
}

/** SHA-256 of the chunks in order (one chunk, most small files: one call, no hasher object). */
function sha256Of(cs: Uint8Array[]): Uint8Array {
  if (cs.length === 1) return hash('sha256', cs[0], 'buffer');
  const h = createHash('sha256');
  for (const c of cs) h.update(c);
  return h.digest();
}
