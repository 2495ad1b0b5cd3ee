/**
 * Opening the store a Location names (location.ts): a folder, or an S3 bucket + filepath with
 * keys given beside it. Opening an S3 location does not load the AWS SDK until the first request.
 */
import { MobrError } from '../errors.js';
import { FsStore } from './fs.js';
import type { Location, S3Credentials, S3Location } from './location.js';
import { validateS3Options, type S3StoreOptions } from './s3-options.js';
import { LazyS3Store } from './s3-lazy.js';
import type { Store } from './store.js';
import { RateLimitedStore, type RateLimits } from './rate-limit.js';

/** The limits every store opened here gets unless its options say otherwise (mo_br's --limit_upload / --limit_download). */
let defaultLimits: RateLimits = {};
export function setDefaultRateLimits(l: RateLimits): void {
  defaultLimits = l;
}

interface OpenStoreOptions {
  /** Keys for an S3 location (both or neither); without them the AWS SDK's default chain. */
  credentials?: S3Credentials;
  /** S3 requests in flight at once. */
  parallelism?: number;
  /** Bandwidth limits (default: setDefaultRateLimits). */
  limits?: RateLimits;
}

function s3Options(loc: S3Location, o: OpenStoreOptions): S3StoreOptions {
  return {
    endpoint: loc.endpoint || undefined,
    accessKeyId: o.credentials?.accessKeyId || undefined,
    secretAccessKey: o.credentials?.secretAccessKey || undefined,
    bucket: loc.bucket,
    prefix: loc.filepath ?? '',
    region: loc.region || undefined,
    roleArn: loc.roleArn || undefined,
    isMinio: loc.isMinio,
    parallelism: o.parallelism,
  };
}

/** Throws BAD_INPUT (one line, no key in it) unless the location can be opened with these options. */
export function validateLocation(loc: Location, o: OpenStoreOptions = {}): void {
  if (loc.backupDir === 'filesystem') {
    if (typeof loc.path !== 'string' || loc.path === '') throw new MobrError('BAD_INPUT', 'filesystem backup path is missing');
    return;
  }
  if (loc.backupDir === 's3') {
    validateS3Options(s3Options(loc, o));
    return;
  }
  throw new MobrError('BAD_INPUT', `unknown backup dir ${JSON.stringify((loc as { backupDir?: unknown }).backupDir)} (use s3 or filesystem)`);
}

/** Opens the store at a location. */
export function openStore(loc: Location, o: OpenStoreOptions = {}): Store {
  validateLocation(loc, o);
  const store = loc.backupDir === 'filesystem' ? new FsStore(loc.path) : new LazyS3Store(s3Options(loc, o));
  const limits = o.limits ?? defaultLimits;
  return limits.uploadKiBs || limits.downloadKiBs ? new RateLimitedStore(store, limits) : store;
}
