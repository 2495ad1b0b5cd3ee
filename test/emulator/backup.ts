/**
 * EMULATOR of MatrixOne's server-side BACKUP (MatrixOne cannot run here; where its source and
 * this file disagree, the source wins). Follows matrixorigin/matrixone pkg/backup/backup.go
 * (order: build info, configs, tae, hakeeper, mo_meta), tae.go (objects, ckp/, gc/, tae_list,
 * tae_sum; needCopy=false and no checksum for objects created before the base TS, as in
 * pkg/vm/engine/tae/logtail/backup.go), fs.go (writeFile adds a `.sha256` sidecar holding the raw
 * 32-byte SHA-256; copied TAE files get none, their SHA-256 is in tae_list).
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import {
  BACKUP_VERSION,
  compareTS,
  digest,
  formatBackupTime,
  parseTS,
  sidecarPath,
  writeMoMeta,
  writeTaeList,
  writeTaeSum,
  type MoMetaRow,
  type MoTS,
  type TaeFileEntry,
} from '../../src/mo/layout.js';
import { LAUNCH_TYPES, type MoTree } from './tree.js';

/** Where the backup goes: a directory on this host, or an S3 prefix. */
export interface Sink {
  exists(rel: string): Promise<boolean>;
  put(rel: string, data: Uint8Array): Promise<void>;
}

export function dirSink(dir: string): Sink {
  return {
    async exists(rel) {
      try {
        await readFile(join(dir, rel));
        return true;
      } catch {
        return false;
      }
    },
    async put(rel, data) {
      const p = join(dir, rel);
      await mkdir(dirname(p), { recursive: true });
      await writeFile(p, data, { flag: 'wx' });
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
  const prefix = o.filepath.replace(/^\/+|\/+$/g, '');
  const key = (rel: string) => (prefix ? `${prefix}/${rel}` : rel);
  return {
    async exists() {
      return false;
    },
    async put(rel, data) {
      await client.send(new PutObjectCommand({ Bucket: o.bucket, Key: key(rel), Body: data }));
    },
  };
}

export interface BackupArgs {
  type: string; // '' or 'incremental'
  baseTS?: string;
}

export const BUILD_INFO =
  'GoVersion: go1.22.3|BranchName: HEAD|CommitID: 0000000emulator|BuildTime: 20240515-0000|Version: v1.2.0-emulator';

/** Runs one backup of `tree` into `sink`; returns the backup TS written to tae/tae_sum. */
export async function runBackup(tree: MoTree, sink: Sink, args: BackupArgs): Promise<MoTS> {
  if (await sink.exists('mo_meta')) throw new BackupError(20406, 'file mo_meta already exists');
  const baseTS = args.baseTS ? parseTS(args.baseTS, 'TIMESTAMP') : undefined;
  const writeFileWithSidecar = async (rel: string, data: Uint8Array) => {
    await sink.put(rel, data);
    await sink.put(sidecarPath(rel, 'sha256'), digest('sha256', data));
  };
  const metas: MoMetaRow[] = [
    { type: 'version', version: BACKUP_VERSION },
    { type: 'buildinfo', buildinfo: BUILD_INFO },
  ];
  // configs
  const launchDir = join(tree.home, 'etc', 'launch');
  for (const f of (await readdir(launchDir)).sort()) {
    const sub = LAUNCH_TYPES[f];
    if (!sub) continue;
    const newName = `${f}_${uuidv7()}`;
    metas.push({ type: 'launchconfig', subtype: sub as 'cn', file: newName });
    await writeFileWithSidecar(`config/${newName}`, await readFile(join(launchDir, f)));
  }
  // tae: mo_ctl('dn','Backup','') forces a checkpoint; its TS is the backup TS
  const backupTS = await tree.checkpoint(false);
  const backupTime = formatBackupTime(new Date());
  const list: TaeFileEntry[] = [];
  for (const o of tree.live) {
    const needCopy = !baseTS || compareTS(o.createTS, baseTS) >= 0;
    if (!needCopy) {
      list.push({ path: o.name, size: o.size, checksum: '', needCopy: false, ts: o.createTS });
      continue;
    }
    const data = await readFile(join(tree.shared, o.name));
    await sink.put(`tae/${o.name}`, data);
    list.push({ path: o.name, size: data.length, checksum: hex(digest('sha256', data)), needCopy: true, ts: o.createTS });
  }
  for (const m of await tree.metaFiles()) {
    const data = await readFile(join(tree.shared, m.path));
    await sink.put(`tae/${m.path}`, data);
    list.push({ path: m.path, size: data.length, checksum: hex(digest('sha256', data)), needCopy: true, ts: backupTS });
  }
  const size = list.reduce((s, e) => s + e.size, 0);
  await writeFileWithSidecar('tae/tae_list', Buffer.from(writeTaeList(list)));
  await writeFileWithSidecar('tae/tae_sum', Buffer.from(writeTaeSum({ backupTime, size, backupTS, type: args.type })));
  await writeFileWithSidecar('hakeeper/hk_data', await tree.hakeeperData());
  await writeFileWithSidecar('mo_meta', Buffer.from(writeMoMeta(metas)));
  return backupTS;
}

export class BackupError extends Error {
  constructor(readonly errno: number, message: string) {
    super(message);
  }
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
