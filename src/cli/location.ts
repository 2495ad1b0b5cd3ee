/**
 * Where a backup repository lives, as the catalog records it: never with credentials.
 * The PATH cell of `list` is `BackupDir: filesystem  Path: <path>` (mo_br's text); a backup's
 * From:/To blocks of `restore` print the same description one field per line.
 */
import * as path from 'node:path';
import { MobrError } from '../errors.js';
import { describeSpec, type StoreSpec } from '../store/open.js';

export interface FsLocation {
  backupDir: 'filesystem';
  path: string;
}

export interface S3Location {
  backupDir: 's3';
  endpoint?: string;
  bucket: string;
  filepath: string;
  region?: string;
  compression?: string;
  roleArn?: string;
  isMinio: boolean;
}

export type BackupLocation = FsLocation | S3Location;

/** Keys for an S3 location: given on the command line, never stored. */
export interface S3Credentials {
  accessKeyId?: string;
  secretAccessKey?: string;
}

/** Copies only the known, non-secret fields (the catalog writes exactly this). */
export function locationToJSON(loc: BackupLocation): BackupLocation {
  if (loc.backupDir === 'filesystem') return { backupDir: 'filesystem', path: loc.path };
  const out: S3Location = { backupDir: 's3', bucket: loc.bucket, filepath: loc.filepath, isMinio: loc.isMinio };
  if (loc.endpoint) out.endpoint = loc.endpoint;
  if (loc.region) out.region = loc.region;
  if (loc.compression) out.compression = loc.compression;
  if (loc.roleArn) out.roleArn = loc.roleArn;
  return out;
}

/** Validates a location read back from the catalog; undefined if it is not one. */
export function parseLocation(v: unknown): BackupLocation | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (o.backupDir === 'filesystem' && typeof o.path === 'string') return { backupDir: 'filesystem', path: o.path };
  if (o.backupDir === 's3' && typeof o.bucket === 'string' && typeof o.filepath === 'string') {
    const str = (k: string) => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
    return locationToJSON({
      backupDir: 's3',
      bucket: o.bucket,
      filepath: o.filepath,
      isMinio: o.isMinio === true,
      endpoint: str('endpoint'),
      region: str('region'),
      compression: str('compression'),
      roleArn: str('roleArn'),
    });
  }
  return undefined;
}

/** The store spec (src/store/open.ts) of a location, with keys given on the command line. */
export function locationToSpec(loc: BackupLocation, creds: S3Credentials = {}, parallelism?: number): StoreSpec {
  if (loc.backupDir === 'filesystem') return { kind: 'filesystem', path: loc.path };
  return {
    kind: 's3',
    bucket: loc.bucket,
    filepath: loc.filepath,
    endpoint: loc.endpoint,
    region: loc.region,
    compression: loc.compression,
    roleArn: loc.roleArn,
    isMinio: loc.isMinio,
    accessKeyId: creds.accessKeyId || undefined,
    secretAccessKey: creds.secretAccessKey || undefined,
    parallelism,
  };
}

/** mo_br's PATH cell (describeSpec): fields separated by two spaces, never keys. */
export function describeLocation(loc: BackupLocation): string {
  return describeSpec(locationToSpec(loc));
}

/** The fields of describeLocation, one per line in restore's From:/To blocks. */
export function describeFields(loc: BackupLocation): string[] {
  if (loc.backupDir === 'filesystem') return ['BackupDir: filesystem', `Path: ${loc.path}`];
  const fields = ['BackupDir: s3'];
  if (loc.endpoint) fields.push(`Endpoint: ${loc.endpoint}`);
  fields.push(`Bucket: ${loc.bucket}`, `FilePath: ${loc.filepath}`);
  if (loc.region) fields.push(`Region: ${loc.region}`);
  return fields;
}

/** Two locations name the same repository (backups there share one deduplicating store). */
export function sameLocation(a: BackupLocation, b: BackupLocation): boolean {
  if (a.backupDir === 'filesystem' && b.backupDir === 'filesystem') return a.path === b.path;
  if (a.backupDir === 's3' && b.backupDir === 's3') {
    return a.bucket === b.bucket && trimSlashes(a.filepath) === trimSlashes(b.filepath) && (a.endpoint ?? '') === (b.endpoint ?? '');
  }
  return false;
}

function trimSlashes(p: string): string {
  return p.replace(/^\/+|\/+$/g, '');
}

/** Flag values of one family (`--path`… for backup, `--backup_path`… for restore/check). */
export interface LocationFlags {
  dir?: string;
  path?: string;
  endpoint?: string;
  bucket?: string;
  filepath?: string;
  region?: string;
  compression?: string;
  roleArn?: string;
  isMinio?: boolean;
}

/** Builds a location from flags; `flag` names the flag family's prefix for messages ("--", "--backup_"). */
export function locationFromFlags(f: LocationFlags, prefix: { dir: string; other: string }): BackupLocation {
  if (f.dir === undefined || f.dir === '') throw new MobrError('BAD_INPUT', `missing ${prefix.dir} (s3 or filesystem)`);
  if (f.dir === 'filesystem') {
    if (!f.path) throw new MobrError('BAD_INPUT', `missing ${prefix.other}path (the backup folder for ${prefix.dir} filesystem)`);
    return { backupDir: 'filesystem', path: path.resolve(f.path) };
  }
  if (f.dir === 's3') {
    if (!f.bucket) throw new MobrError('BAD_INPUT', `missing ${prefix.other}bucket (needed with ${prefix.dir} s3)`);
    if (f.endpoint !== undefined && f.endpoint !== '') {
      let url: URL;
      try {
        url = new URL(f.endpoint);
      } catch {
        throw new MobrError('BAD_INPUT', `bad ${prefix.other}endpoint ${JSON.stringify(f.endpoint)}: not a URL (like http://127.0.0.1:9000)`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw new MobrError('BAD_INPUT', `bad ${prefix.other}endpoint ${JSON.stringify(f.endpoint)}: use http:// or https://`);
      }
      if (url.username || url.password) {
        throw new MobrError('BAD_INPUT', `bad ${prefix.other}endpoint: put keys in ${prefix.other}access_key_id / ${prefix.other}secret_access_key, not in the URL`);
      }
    }
    return locationToJSON({
      backupDir: 's3',
      endpoint: f.endpoint || undefined,
      bucket: f.bucket,
      filepath: f.filepath ?? '',
      region: f.region || undefined,
      compression: f.compression || undefined,
      roleArn: f.roleArn || undefined,
      isMinio: f.isMinio === true,
    });
  }
  throw new MobrError('BAD_INPUT', `bad ${prefix.dir} ${JSON.stringify(f.dir)}: use s3 or filesystem`);
}
