/**
 * The staging folder of a server backup: where MatrixOne's BACKUP statement writes its layout
 * (spec/matrixone.md, "What the server writes") so that mobr can read it, verify it and ingest it.
 *
 * It lies inside the repository's own location under `staging/<backup id>` (src/repo/keys.ts
 * reserves the folder for this): `<path>/staging/<id>` for a filesystem repository (the server
 * must be able to write that folder: same host or a shared mount), `<filepath>/staging/<id>` in
 * the same bucket for an S3 repository (the server gets the keys through S3OPTION). mobr reads it
 * through the repository's Store; for S3 each object is copied to a local temp file to be chunked.
 */
import { createWriteStream, promises as fsp } from 'node:fs';
import { once } from 'node:events';
import * as os from 'node:os';
import * as path from 'node:path';
import { MobrError, withContext } from '../errors.js';
import type { Location, S3Credentials } from '../store/location.js';
import { bestEffort, reportUnthrown } from '../util/best-effort.js';
import type { Store, StoreEntry } from '../store/store.js';
import type { BackupRequest } from './client.js';

const STAGING_FOLDER = 'staging';
const PIECE = 8 << 20;

export interface Staging {
  /** Store key prefix, `staging/<id>` */
  readonly prefix: string;
  /** What the BACKUP statement is told to write to. */
  readonly target: BackupRequest['target'];
  /** The staged folder on this host, when the repository is a local folder. */
  readonly localDir?: string;
  /** For messages: where the server writes. */
  readonly description: string;
  /** Every staged object: layout path (`tae/tae_list`, …) -> entry. */
  list(): Promise<Map<string, StoreEntry>>;
  get(rel: string): Promise<Uint8Array>;
  /** A local file with the staged bytes of rel; call release() when done with it. */
  localFile(rel: string, size: number): Promise<{ path: string; release(): Promise<void> }>;
  /** Removes everything staged (best effort per object; errors are thrown after trying all). */
  remove(): Promise<void>;
  /** Removes this process's local temp copies only (an ingester of one share: the staged folder is not its to remove). */
  release(): Promise<void>;
}

export function stagingFor(target: Location, store: Store, id: string, o: { credentials?: S3Credentials; parallelism?: number } = {}): Staging {
  const parallelism = o.parallelism ?? 1;
  const prefix = `${STAGING_FOLDER}/${id}`;
  const key = (rel: string) => `${prefix}/${rel}`;
  const base = {
    prefix,
    async list() {
      const out = new Map<string, StoreEntry>();
      for await (const e of store.list(prefix)) out.set(e.key.slice(prefix.length + 1), e);
      return out;
    },
    get: (rel: string) => store.get(key(rel)),
  };
  if (target.backupDir === 'filesystem') {
    const localDir = path.join(path.resolve(target.path), STAGING_FOLDER, id);
    return {
      ...base,
      target: { kind: 'filesystem', dir: localDir, parallelism },
      localDir,
      description: `filesystem ${localDir}`,
      async localFile(rel) {
        return { path: path.join(localDir, ...rel.split('/')), release: async () => undefined };
      },
      async release() {},
      async remove() {
        await fsp.rm(localDir, { recursive: true, force: true }).catch((e) => Promise.reject(withContext(`remove staging ${localDir}`, e)));
        // the parent goes only when empty (other backups' staging folders may be in it)
        await fsp.rmdir(path.dirname(localDir)).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOTEMPTY' || e.code === 'EEXIST' ? undefined : reportUnthrown(`remove ${path.dirname(localDir)}`, e)));
      },
    };
  }
  const filepath = [(target.filepath ?? '').replace(/^\/+|\/+$/g, ''), prefix].filter((s) => s !== '').join('/');
  let tmpDir: Promise<string> | undefined;
  return {
    ...base,
    target: {
      kind: 's3',
      endpoint: target.endpoint ?? '',
      accessKeyId: o.credentials?.accessKeyId ?? '',
      secretAccessKey: o.credentials?.secretAccessKey ?? '',
      bucket: target.bucket,
      filepath,
      region: target.region,
      roleArn: target.roleArn,
      isMinio: target.isMinio,
      parallelism,
    },
    description: `s3 ${target.bucket}/${filepath}`,
    async localFile(rel, size) {
      tmpDir ??= fsp.mkdtemp(path.join(os.tmpdir(), 'mobr-staging-'));
      const file = path.join(await tmpDir, rel.replace(/\//g, '__'));
      const out = createWriteStream(file, { flags: 'wx', mode: 0o600 });
      try {
        for (let off = 0; off < size; off += PIECE) {
          const piece = await store.getRange(key(rel), off, Math.min(PIECE, size - off));
          if (!out.write(piece)) await once(out, 'drain');
        }
        out.end();
        await once(out, 'finish');
      } catch (e) {
        out.destroy();
        await fsp.rm(file, { force: true });
        throw e;
      }
      return { path: file, release: () => fsp.rm(file, { force: true }) };
    },
    async release() {
      if (tmpDir) await bestEffort(fsp.rm(await tmpDir, { recursive: true, force: true }), 'remove the local copies of staged files');
    },
    async remove() {
      let first: unknown;
      for await (const e of store.list(prefix)) {
        await store.delete(e.key).catch((err) => (first ??= err));
      }
      const local = tmpDir;
      if (local) await bestEffort(async () => fsp.rm(await local, { recursive: true, force: true }), 'remove the local copy of staged files');
      if (first) throw withContext(`remove staging ${prefix}`, first);
    },
  };
}

/** Fails unless nothing is staged yet under this id (a leftover would be mixed into the backup). */
export async function assertStagingEmpty(s: Staging): Promise<void> {
  const found = await s.list();
  if (found.size > 0) {
    throw new MobrError('REPO_EXISTS', `staging folder ${s.description} is not empty (left by an earlier run?); remove it first`);
  }
}
