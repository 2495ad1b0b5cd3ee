/**
 * S3 store options and their checks, apart from the store itself (s3.ts) so that opening a
 * folder repository, `--version` and argument checks never load the AWS SDK.
 */
import { MobrError } from '../errors.js';
import type { RetryPolicy } from './retry.js';
import type { Clock } from '../util/clock.js';
import { assertSafeKey } from './store.js';

export interface S3StoreOptions {
  bucket: string;
  /** Folder inside the bucket (mo_br's filepath); leading and trailing '/' are ignored. */
  prefix?: string;
  /** e.g. http://127.0.0.1:9000; absent means AWS itself. */
  endpoint?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  region?: string;
  /** Assume this role through STS (same endpoint) and use its temporary keys. */
  roleArn?: string;
  /** Path-style addressing (also chosen for IP-address and localhost endpoints). */
  isMinio?: boolean;
  /** Requests in flight at once (default 4). */
  parallelism?: number;
  /** Objects larger than this go up in parts (default 32 MiB). */
  multipartThreshold?: number;
  /** Part size of multipart uploads (default 16 MiB; S3 wants >= 5 MiB). */
  partSize?: number;
  retry?: Partial<RetryPolicy>;
  /**
   * Response timeout: a request fails after this long without socket activity (no answer yet, or
   * a transfer that stalled); default 25 s, or MO_BR_S3_RESPONSE_TIMEOUT_MS. Retried once.
   */
  requestTimeoutMs?: number;
  /** Connect timeout (default 10 s, or MO_BR_S3_CONNECT_TIMEOUT_MS). Retried once. */
  connectTimeoutMs?: number;
  /** Our wall clock, against which the role's temporary keys expire (STS gives a wall-clock time). Default: the system's. */
  clock?: Clock;
}

export function isLocalHost(endpoint: string): boolean {
  const host = new URL(endpoint).hostname;
  return host === 'localhost' || /^\d+\.\d+\.\d+\.\d+$/.test(host) || host.startsWith('[');
}

/** The endpoint as shown in messages: no user info, no query. */
export function displayEndpoint(endpoint: string): string {
  const u = new URL(endpoint);
  return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
}

/**
 * The one check of an S3 endpoint a user gave: a URL, http or https, with a host and no keys in
 * it. Throws BAD_INPUT in one line naming `flag` (e.g. "--backup_endpoint"); the value is shown
 * without anything before an `@`, so keys typed into it never reach the message.
 */
export function checkEndpoint(endpoint: string, flag = 'S3 endpoint', keyFlags = 'the key flags'): void {
  const shown = JSON.stringify(endpoint.replace(/^(https?:\/\/)?.*@/i, '$1…@').slice(0, 120));
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch (e) {
    throw new MobrError('BAD_INPUT', `bad ${flag} ${shown}: not a URL (like http://127.0.0.1:9000)`, { cause: e });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new MobrError('BAD_INPUT', `bad ${flag} ${shown}: use http:// or https://`);
  if (!u.hostname) throw new MobrError('BAD_INPUT', `bad ${flag} ${shown}: no host (like http://127.0.0.1:9000)`);
  if (u.username || u.password) throw new MobrError('BAD_INPUT', `bad ${flag}: put keys in ${keyFlags}, not in the URL`);
}

/** Checks options a user typed; throws BAD_INPUT with one line. */
export function validateS3Options(o: S3StoreOptions): S3StoreOptions {
  if (!o.bucket || !/^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$/.test(o.bucket)) {
    throw new MobrError('BAD_INPUT', o.bucket ? `bad S3 bucket name ${JSON.stringify(o.bucket.slice(0, 80))}` : 'S3 bucket is missing');
  }
  if (o.endpoint !== undefined) checkEndpoint(o.endpoint);
  if (!!o.accessKeyId !== !!o.secretAccessKey) throw new MobrError('BAD_INPUT', 'give both the S3 access key id and the secret access key, or neither');
  if (o.parallelism !== undefined && !(Number.isInteger(o.parallelism) && o.parallelism >= 1)) {
    throw new MobrError('BAD_INPUT', `bad S3 parallelism ${o.parallelism} (want a whole number >= 1)`);
  }
  return o;
}

/** The prefix inside the bucket ('' or without slashes at the ends) and the store's location text. */
export function s3Where(o: S3StoreOptions): { prefix: string; location: string } {
  const prefix = (o.prefix ?? '').replace(/^\/+|\/+$/g, '');
  if (prefix !== '') assertSafeKey(prefix);
  const region = o.region || 'us-east-1';
  return { prefix, location: `s3 ${o.endpoint ? displayEndpoint(o.endpoint) : `aws:${region}`} ${o.bucket}${prefix ? `/${prefix}` : ''}` };
}
