/**
 * Opening a store from what the user named: a folder or an S3 bucket + filepath (mo_br's flags).
 * Specs carry keys only in memory; specToJSON drops them for catalogs, specFromJSON takes them
 * back from flags. describeSpec is mo_br's PATH cell text (same fields as src/cli/location.ts).
 */
import { MobrError } from '../errors.js';
import { FsStore } from './fs.js';
import { validateS3Options, type S3StoreOptions } from './s3-options.js';
import { LazyS3Store } from './s3-lazy.js';
import type { Store } from './store.js';

export interface FsSpec {
  kind: 'filesystem';
  path: string;
}

export interface S3Spec {
  kind: 's3';
  endpoint?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  bucket: string;
  /** Folder inside the bucket; a leading '/' is ignored. */
  filepath?: string;
  region?: string;
  /** mo_br's --compression; recorded, the repository compresses on its own. */
  compression?: string;
  roleArn?: string;
  isMinio?: boolean;
  parallelism?: number;
}

export type StoreSpec = FsSpec | S3Spec;

/** A spec as catalogs store it: no keys. */
export type StoreSpecJSON = FsSpec | Omit<S3Spec, 'accessKeyId' | 'secretAccessKey'>;

export interface S3Secrets {
  accessKeyId?: string;
  secretAccessKey?: string;
}

function s3Options(spec: S3Spec): S3StoreOptions {
  return {
    endpoint: spec.endpoint || undefined,
    accessKeyId: spec.accessKeyId || undefined,
    secretAccessKey: spec.secretAccessKey || undefined,
    bucket: spec.bucket,
    prefix: spec.filepath ?? '',
    region: spec.region || undefined,
    roleArn: spec.roleArn || undefined,
    isMinio: spec.isMinio,
    parallelism: spec.parallelism,
  };
}

/** Throws BAD_INPUT (one line) unless the spec can be opened. */
export function validateSpec(spec: StoreSpec): StoreSpec {
  if (spec.kind === 'filesystem') {
    if (typeof spec.path !== 'string' || spec.path === '') throw new MobrError('BAD_INPUT', 'filesystem backup path is missing');
    return spec;
  }
  if (spec.kind === 's3') {
    validateS3Options(s3Options(spec));
    return spec;
  }
  throw new MobrError('BAD_INPUT', `unknown backup dir kind ${JSON.stringify((spec as { kind?: unknown }).kind)} (use s3 or filesystem)`);
}

/** Opens the store a spec names; extra options (part sizes, retries) are for tests and the bench. */
export function openStore(spec: StoreSpec, extra: Partial<S3StoreOptions> = {}): Store {
  validateSpec(spec);
  if (spec.kind === 'filesystem') return new FsStore(spec.path);
  return new LazyS3Store({ ...s3Options(spec), ...extra }); // the AWS SDK loads at the first request
}

/** mo_br's PATH cell: `BackupDir: filesystem  Path: <path>`, or the S3 fields; never keys. */
export function describeSpec(spec: StoreSpec): string {
  if (spec.kind === 'filesystem') return `BackupDir: filesystem  Path: ${spec.path}`;
  const fields = ['BackupDir: s3'];
  if (spec.endpoint) fields.push(`Endpoint: ${spec.endpoint}`);
  fields.push(`Bucket: ${spec.bucket}`, `FilePath: ${spec.filepath ?? ''}`);
  if (spec.region) fields.push(`Region: ${spec.region}`);
  return fields.join('  ');
}

/** The spec without keys, with only known fields (for catalogs and manifests). */
export function specToJSON(spec: StoreSpec): StoreSpecJSON {
  if (spec.kind === 'filesystem') return { kind: 'filesystem', path: spec.path };
  const out: Omit<S3Spec, 'accessKeyId' | 'secretAccessKey'> = { kind: 's3', bucket: spec.bucket, filepath: spec.filepath ?? '' };
  if (spec.endpoint) out.endpoint = spec.endpoint;
  if (spec.region) out.region = spec.region;
  if (spec.compression) out.compression = spec.compression;
  if (spec.roleArn) out.roleArn = spec.roleArn;
  if (spec.isMinio) out.isMinio = true;
  if (spec.parallelism) out.parallelism = spec.parallelism;
  return out;
}

/** The inverse of specToJSON: reads a stored spec and adds keys given on the command line. */
export function specFromJSON(json: unknown, secrets: S3Secrets = {}): StoreSpec {
  const o = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
  const str = (k: string) => (typeof o[k] === 'string' && o[k] !== '' ? (o[k] as string) : undefined);
  if (o.kind === 'filesystem' && str('path')) return { kind: 'filesystem', path: str('path')! };
  if (o.kind === 's3' && str('bucket')) {
    const spec: S3Spec = { kind: 's3', bucket: str('bucket')!, filepath: str('filepath') ?? '' };
    for (const k of ['endpoint', 'region', 'compression', 'roleArn'] as const) if (str(k)) spec[k] = str(k);
    if (o.isMinio === true) spec.isMinio = true;
    if (typeof o.parallelism === 'number') spec.parallelism = o.parallelism;
    if (secrets.accessKeyId) spec.accessKeyId = secrets.accessKeyId;
    if (secrets.secretAccessKey) spec.secretAccessKey = secrets.secretAccessKey;
    return validateSpec(spec);
  }
  throw new MobrError('BAD_INPUT', 'stored backup location is not a filesystem path or an S3 bucket');
}
