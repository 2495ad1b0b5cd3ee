/**
 * One file's bytes as a verified stream (`mo_br dump`, spec/browse.md §4). Every chunk is checked
 * against its id before it is yielded (src/backup/reader.ts), so a damaged chunk stops the
 * stream before any of its bytes leave; at the end the length and SHA-256 of everything yielded
 * are compared with the manifest's (a mismatch means the manifest itself is inconsistent).
 */
import { createHash } from 'node:crypto';
import { MobrError } from '../errors.js';
import type { FileEntry } from '../repo/manifest.js';
import type { Repository } from '../repo/repository.js';
import { equalBytes } from '../util/bytes.js';
import type { WorkerPool } from '../workers/pool.js';
import { readFileChunks } from './reader.js';

export async function* verifiedFileBytes(repo: Repository, pool: WorkerPool, f: FileEntry): AsyncIterable<Uint8Array> {
  if (f.kind !== 'file') throw new MobrError('BAD_INPUT', `${f.path} is a ${f.kind === 'dir' ? 'folder' : 'symbolic link'}, not a file`);
  const sha = createHash('sha256');
  let size = 0;
  try {
    for await (const c of readFileChunks(repo, pool, f)) {
      sha.update(c);
      size += c.length;
      yield c;
    }
  } catch (e) {
    if (e instanceof MobrError) throw new MobrError(e.code, `${f.path}: ${e.message}`, { cause: e });
    throw e;
  }
  if (size !== f.size || !equalBytes(new Uint8Array(sha.digest()), f.sha256!)) {
    throw new MobrError('CORRUPT_MANIFEST', `${f.path}: its chunks give ${size} bytes whose SHA-256 differs from the manifest's (${f.size} bytes recorded)`);
  }
}
