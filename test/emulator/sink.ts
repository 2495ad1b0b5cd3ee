/**
 * Where a BACKUP statement writes (pkg/backup/backup.go, fs.go; pkg/fileservice/get.go):
 *  - FILESYSTEM '<dir>': mo_meta and config/ through the ETL file service (raw files);
 *    tae/ and hakeeper/ through GetForBackup, a LocalFS on <dir> whose format follows the
 *    cluster's SHARED file service (LocalBackendOf): DISK cluster -> CRC-framed (the .sha256
 *    sidecars too), DISK-V2 -> raw. Existing files are never overwritten.
 *  - S3OPTION {…}: every file a raw object under `<filepath>/`.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { LocalFS, type Backend } from './localfs.js';

export interface Sink {
  /** a file through the ETL (raw) file service */
  putGeneral(rel: string, data: Uint8Array): Promise<void>;
  /** a file through the backup file service (framed on a DISK cluster's FILESYSTEM target) */
  putTae(rel: string, data: Uint8Array): Promise<void>;
  /** a file read back through the backup file service, undefined when absent */
  readTae(rel: string): Promise<Buffer | undefined>;
  /** names of the files directly in a folder of the target, sorted */
  list(dir: string): Promise<string[]>;
  exists(rel: string): Promise<boolean>;
}

export function dirSink(dir: string, backend: Backend = 'DISK'): Sink {
  let tae: Promise<LocalFS> | undefined;
  const fs = () => (tae ??= LocalFS.open(dir, backend));
  return {
    async putGeneral(rel, data) {
      const p = join(dir, rel);
      await mkdir(dirname(p), { recursive: true });
      await writeFile(p, data, { flag: 'wx' });
    },
    async putTae(rel, data) {
      await (await fs()).write(rel, data);
    },
    async readTae(rel) {
      const f = await fs();
      return (await f.exists(rel)) ? f.read(rel) : undefined;
    },
    async list(sub) {
      try {
        return (await readdir(join(dir, sub), { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name).sort();
      } catch {
        return [];
      }
    },
    async exists(rel) {
      try {
        await stat(join(dir, rel));
        return true;
      } catch {
        return false;
      }
    },
  };
}

export interface S3Opts {
  endpoint: string;
  access_key_id: string;
  secret_access_key: string;
  bucket: string;
  filepath: string;
  region?: string;
  is_minio?: string;
}

export function s3Sink(o: S3Opts): Sink {
  const client = new S3Client({
    endpoint: o.endpoint,
    region: o.region || 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: o.access_key_id, secretAccessKey: o.secret_access_key },
  });
  const prefix = (o.filepath ?? '').replace(/^\/+|\/+$/g, '');
  const key = (rel: string) => (prefix ? `${prefix}/${rel}` : rel);
  const put = async (rel: string, data: Uint8Array) => {
    await client.send(new PutObjectCommand({ Bucket: o.bucket, Key: key(rel), Body: data }));
  };
  const list = async (sub: string) => {
    const p = key(sub ? `${sub}/` : '');
    const out: string[] = [];
    let token: string | undefined;
    do {
      const r = await client.send(new ListObjectsV2Command({ Bucket: o.bucket, Prefix: p, Delimiter: '/', ContinuationToken: token }));
      for (const c of r.Contents ?? []) out.push(c.Key!.slice(p.length));
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return out.sort();
  };
  return {
    putGeneral: put,
    putTae: put,
    async readTae(rel) {
      try {
        const r = await client.send(new GetObjectCommand({ Bucket: o.bucket, Key: key(rel) }));
        return Buffer.from(await r.Body!.transformToByteArray());
      } catch (e) {
        if ((e as { name?: string }).name === 'NoSuchKey') return undefined;
        throw e;
      }
    },
    list,
    async exists(rel) {
      const parent = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '';
      return (await list(parent)).includes(rel.slice(rel.lastIndexOf('/') + 1));
    },
  };
}
