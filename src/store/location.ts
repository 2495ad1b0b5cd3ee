/**
 * Where a repository lives: a folder, or an S3 bucket + filepath (mo_br's `--backup_dir` flag
 * families). The one description used by the store opener (open.ts), the library entry point and
 * the cli. A Location never holds keys, so it can be written as is: the meta file and `--json`
 * outputs store `locationToJSON(loc)` (spec/meta.md). Keys travel beside it as S3Credentials.
 */

export interface FsLocation {
  backupDir: 'filesystem';
  path: string;
}

export interface S3Location {
  backupDir: 's3';
  /** e.g. http://127.0.0.1:9000; absent means AWS itself. */
  endpoint?: string;
  bucket: string;
  /** Folder inside the bucket (mo_br's --filepath); leading and trailing '/' are ignored. */
  filepath: string;
  region?: string;
  /** mo_br's --compression: recorded, the repository compresses on its own. */
  compression?: string;
  /** Assume this role through STS and use its temporary keys. */
  roleArn?: string;
  /** Path-style addressing. */
  isMinio: boolean;
}

export type Location = FsLocation | S3Location;

/** Keys for an S3 location: given on the command line or by the library's caller, never stored. */
export interface S3Credentials {
  accessKeyId?: string;
  secretAccessKey?: string;
}

/**
 * Only the known, non-secret fields, in a fixed order: what the meta file and JSON outputs write.
 * A caller's object may carry more at run time (keys among them); they are dropped here.
 */
export function locationToJSON(loc: Location): Location {
  if (loc.backupDir === 'filesystem') return { backupDir: 'filesystem', path: loc.path };
  const out: S3Location = { backupDir: 's3', bucket: loc.bucket, filepath: loc.filepath ?? '', isMinio: loc.isMinio === true };
  if (loc.endpoint) out.endpoint = loc.endpoint;
  if (loc.region) out.region = loc.region;
  if (loc.compression) out.compression = loc.compression;
  if (loc.roleArn) out.roleArn = loc.roleArn;
  return out;
}

/** Validates a location read back from a meta file or JSON; undefined if it is not one. */
export function parseLocation(v: unknown): Location | undefined {
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

/** mo_br's PATH cell: `BackupDir: filesystem  Path: <path>`, or the S3 fields; never keys. */
export function describeLocation(loc: Location): string {
  return describeFields(loc).join('  ');
}

/** The fields of describeLocation, one per line in restore's From:/To blocks. */
export function describeFields(loc: Location): string[] {
  if (loc.backupDir === 'filesystem') return ['BackupDir: filesystem', `Path: ${loc.path}`];
  const fields = ['BackupDir: s3'];
  if (loc.endpoint) fields.push(`Endpoint: ${loc.endpoint}`);
  fields.push(`Bucket: ${loc.bucket}`, `FilePath: ${loc.filepath ?? ''}`);
  if (loc.region) fields.push(`Region: ${loc.region}`);
  return fields;
}

/** Two locations name the same repository (backups there share one deduplicating store). */
export function sameLocation(a: Location, b: Location): boolean {
  if (a.backupDir === 'filesystem' && b.backupDir === 'filesystem') return a.path === b.path;
  if (a.backupDir === 's3' && b.backupDir === 's3') {
    return a.bucket === b.bucket && trimSlashes(a.filepath) === trimSlashes(b.filepath) && (a.endpoint ?? '') === (b.endpoint ?? '');
  }
  return false;
}

function trimSlashes(p: string): string {
  return (p ?? '').replace(/^\/+|\/+$/g, '');
}
