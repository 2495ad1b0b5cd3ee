/**
 * What a sync sends (spec/sync.md): the backups the destination lacks, the chunks they name that
 * it lacks, and where those lie in the source (whole packs to send as they are, or chunks of
 * other packs to repack). sync.ts sends them.
 */
import { MobrError, isMobrError } from '../errors.js';
import { toHex } from '../hash/hex.js';
import type { Store } from '../store/store.js';
import { decodeIndex, type PackRecord } from './index-file.js';
import { packIdFromKey } from './keys.js';
import { chunkCount, chunkId, type Manifest } from './manifest.js';
import type { BlobEntry } from './pack.js';
import type { Repository } from './repository.js';

/** What the destination lacks: whole source packs to send as they are, and chunks of others to repack. */
export interface TransferPlan {
  /** Source packs every chunk of which the destination lacks. */
  whole: PackRecord[];
  /** Source pack -> its blobs the destination lacks (the pack is not sent whole). */
  partial: Map<string, BlobEntry[]>;
  /** Packs already in the destination's data/ (an interrupted run): indexed, not sent again. */
  dstFiles: Set<string>;
}

/** The manifests of `ids` the destination lacks, oldest first, and the IDs it already holds. */
export async function manifestsToCopy(src: Repository, dst: Repository, ids: string[]): Promise<{ manifests: Manifest[]; present: string[] }> {
  const manifests: Manifest[] = [];
  const present: string[] = [];
  for (const id of ids) {
    if (await dst.hasBackup(id)) present.push(id);
    else manifests.push(await src.loadManifest(id));
  }
  manifests.sort((a, b) => a.completedAt - b.completedAt || (a.id < b.id ? -1 : 1));
  return { manifests, present };
}

/** Which chunks the destination lacks, and which source pack holds each. */
export async function planTransfer(src: Repository, dst: Repository, manifests: Manifest[]): Promise<TransferPlan> {
  const missing = new Set<string>();
  for (const m of manifests) {
    for (const f of m.files) {
      for (let i = 0; i < chunkCount(f); i++) {
        const h = toHex(chunkId(f, i));
        if (dst.index.has(h) || missing.has(h)) continue;
        if (!src.index.has(h)) throw new MobrError('NOT_FOUND', `sync: backup ${m.id} names chunk ${h.slice(0, 16)} the source lacks (run check on the source)`);
        missing.add(h);
      }
    }
  }
  const records = await packRecords(src);
  const dstFiles = new Set<string>();
  for await (const e of dst.store.list('data')) {
    const id = packIdFromKey(e.key);
    if (id) dstFiles.add(id);
  }
  const whole: PackRecord[] = [];
  const covered = new Set<string>();
  for (const p of [...records.values()].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    if (p.blobs.length > 0 && p.blobs.every((b) => missing.has(toHex(b.id)))) {
      whole.push(p);
      p.blobs.forEach((b) => covered.add(toHex(b.id)));
    }
  }
  const partial = new Map<string, BlobEntry[]>();
  for (const h of missing) {
    if (covered.has(h)) continue;
    const loc = src.index.get(h)!;
    const blob = records.get(loc.pack)?.blobs.find((b) => b.offset === loc.offset) ?? { id: Buffer.from(h, 'hex'), offset: loc.offset, length: loc.length, rawLength: loc.rawLength, codec: loc.codec };
    partial.set(loc.pack, [...(partial.get(loc.pack) ?? []), blob]);
  }
  return { whole, partial, dstFiles };
}

/** Every pack record named by the store's index objects (first one wins). */
async function packRecords(src: Repository): Promise<Map<string, PackRecord>> {
  const store = src.store;
  const out = new Map<string, PackRecord>();
  for await (const e of store.list('index')) {
    let data: Uint8Array;
    try {
      data = await store.get(e.key);
    } catch (err) {
      if (isMobrError(err, 'NOT_FOUND')) continue;
      throw err;
    }
    for (const p of decodeIndex(data, e.key, src.crypt)) if (!out.has(p.id)) out.set(p.id, p);
  }
  return out;
}
