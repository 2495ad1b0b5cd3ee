/**
 * S3Store: a repository in an S3 bucket below a prefix (spec/s3.md). Object `<prefix>/<key>`
 * holds store key `key`, the same layout FsStore uses below its folder.
 * S3Backend sends each call's requests once; S3Store stacks the decorators around it (issue #25,
 * as restic's and kopia's backends): retries (RetryStore: throttling (429, SlowDown), request
 * timeouts, 5xx and dropped connections, which the backend throws as TransientError; never any
 * other 4xx answer), request counting (CountingStore) and the `parallelism` limit (LimitStore).
 * Errors become one-line MobrErrors that name the location, never the keys.
 */
import { createHash } from 'node:crypto';
import {
  S3Client, PutObjectCommand, GetObjectCommand, HeadObjectCommand, HeadBucketCommand, DeleteObjectCommand,
  ListObjectsV2Command, CreateMultipartUploadCommand, UploadPartCommand, CompleteMultipartUploadCommand,
  AbortMultipartUploadCommand, type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { STSClient, AssumeRoleCommand } from '@aws-sdk/client-sts';
import { MobrError, checkAborted } from '../errors.js';
import { DEFAULT_RETRY, RetryStore, TransientError } from './retry.js';
import { CountingStore, noRequests, type RequestStats } from './count.js';
import { LimitStore } from './limit.js';
import { StoreDecorator } from './decorator.js';
import type { ErrorCode } from '../errors.js';
import { assertSafeKey, type CallOptions, type PutOptions, type Store, type StoreEntry, type GetOptions } from './store.js';
import { displayEndpoint, isLocalHost, s3Where, validateS3Options, type S3StoreOptions } from './s3-options.js';
import { bestEffort } from '../util/best-effort.js';
import { mapLimit, S3_REQUESTS } from '../util/concurrency.js';
import { maskSecrets } from '../util/mask.js';
import { systemClock, type Clock } from '../util/clock.js';

export { displayEndpoint, validateS3Options, type S3StoreOptions };

/** Requests sent, by kind (the bench reports requests per GiB): store calls, src/store/count.ts. */
export type S3RequestStats = RequestStats;

const MiB = 1024 * 1024;
/** Parts of one multipart upload sent at once (the store's request semaphore bounds all requests). */
const MULTIPART_LANES = 4;
const RETRY_NAMES = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'RequestTimeout', 'InternalError',
  'ServiceUnavailable', 'RequestLimitExceeded', 'TooManyRequestsException', 'ConditionalRequestConflict', 'TimeoutError',
  'ShortBody']);
const RETRY_NET = new Set(['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ECONNABORTED', 'ESOCKETTIMEDOUT', 'EAI_AGAIN',
  'ERR_STREAM_PREMATURE_CLOSE']);
const UNREACHABLE_NET = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
const AUTH_NAMES = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidClientTokenId', 'ExpiredToken',
  'InvalidToken', 'TokenRefreshRequired', 'AuthorizationHeaderMalformed']);

interface SdkError { name?: string; code?: string; message?: string; errors?: SdkError[];
  $metadata?: { httpStatusCode?: number }; $retryable?: unknown }

function status(e: unknown): number | undefined {
  return (e as SdkError)?.$metadata?.httpStatusCode;
}
function netCode(e: unknown): string | undefined {
  const err = e as SdkError;
  return err?.code ?? err?.errors?.[0]?.code;
}

/** Default timeouts (spec/s3.md §4): connect, and response (socket inactivity). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_RESPONSE_TIMEOUT_MS = 25_000;

/** The SDK's connect or inactivity timeout. */
export function isTimeout(e: unknown): boolean {
  // the SDK also names a reset or broken connection (ECONNRESET, EPIPE) TimeoutError: those are
  // ordinary network failures, retried as such
  const code = netCode(e);
  return !(e instanceof MobrError) && (e as SdkError)?.name === 'TimeoutError' && status(e) === undefined && (code === undefined || code === 'ETIMEDOUT');
}

/** A whole number of milliseconds from the environment, or undefined; BAD_INPUT when malformed. */
function envMs(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v.trim()) || Number(v) < 1) throw new MobrError('BAD_INPUT', `bad ${name} ${JSON.stringify(v.slice(0, 20))}: want a whole number of milliseconds`);
  return Number(v);
}

export function isRetryableS3Error(e: unknown): boolean {
  if (e instanceof MobrError) return false;
  const s = status(e);
  if (s !== undefined && s >= 500) return true;
  if (s === 429) return true;
  const name = (e as SdkError)?.name ?? '';
  if (RETRY_NAMES.has(name)) return true;
  const code = netCode(e);
  if (code && RETRY_NET.has(code)) return true;
  return s === undefined && /socket hang up|aborted|premature close/i.test((e as SdkError)?.message ?? '');
}

/**
 * S3Store: S3Backend inside its decorators. Outside in: retries (each attempt counted, the
 * backoff holding no permit), request counting, at most `parallelism` calls at once.
 */
const transientKind = (e: unknown): 'timeout' | 'retry' | undefined => (isTimeout(e) ? 'timeout' : isRetryableS3Error(e) ? 'retry' : undefined);
/** ` after N tries` once RetryStore made more than one. */
const tries = (n: number) => (n > 1 ? ` after ${n} tries` : '');
/** A one-line error; a transient one (RetryStore retries it) renders the tries it took when given up on. */
function s3Error(kind: 'timeout' | 'retry' | undefined, code: ErrorCode, render: (tries: number) => string): MobrError {
  return kind ? new TransientError(code, render, kind) : new MobrError(code, render(1));
}

export class S3Store extends StoreDecorator {
  private readonly backend: S3Backend;
  private readonly counts: S3RequestStats;

  constructor(options: S3StoreOptions) {
    const backend = new S3Backend(options);
    const counts = noRequests();
    const limited = new LimitStore(backend, options.parallelism ?? S3_REQUESTS);
    super(new RetryStore(new CountingStore(limited, counts), { ...DEFAULT_RETRY, ...options.retry }, counts));
    this.backend = backend;
    this.counts = counts;
  }

  override get stats(): S3RequestStats {
    return this.counts;
  }

  get bucket(): string {
    return this.backend.bucket;
  }

  /** See S3Backend.probeConditionalWrites. */
  probeConditionalWrites(): Promise<'native' | 'emulated'> {
    return this.backend.probeConditionalWrites();
  }
}

/** One bucket + prefix, each call sent once (S3Store adds the retries, counts and limit). */
class S3Backend implements Store {
  readonly location: string;
  readonly bucket: string;
  /** Key prefix inside the bucket, '' or ending in '/'. */
  readonly base: string;
  private readonly client: S3Client;
  private readonly threshold: number;
  private readonly partSize: number;
  private readonly secrets: string[];
  private bucketChecked = false;
  private readonly connectMs: number;
  private readonly responseMs: number;
  private readonly clock: Clock;

  constructor(options: S3StoreOptions) {
    const o = validateS3Options(options);
    this.clock = o.clock ?? systemClock;
    this.connectMs = o.connectTimeoutMs ?? envMs('MO_BR_S3_CONNECT_TIMEOUT_MS') ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.responseMs = o.requestTimeoutMs ?? envMs('MO_BR_S3_RESPONSE_TIMEOUT_MS') ?? DEFAULT_RESPONSE_TIMEOUT_MS;
    this.bucket = o.bucket;
    const { prefix, location } = s3Where(o);
    this.base = prefix === '' ? '' : `${prefix}/`;
    const region = o.region || 'us-east-1';
    this.location = location;
    this.secrets = [o.accessKeyId, o.secretAccessKey, o.sessionToken].filter((s): s is string => !!s && s.length >= 4);
    this.threshold = o.multipartThreshold ?? 32 * MiB;
    this.partSize = Math.max(1, o.partSize ?? 16 * MiB);

    const baseCredentials = o.accessKeyId && o.secretAccessKey
      ? { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey, sessionToken: o.sessionToken }
      : undefined; // the SDK's default chain: env, shared config, SSO, instance metadata
    const common: S3ClientConfig = {
      region,
      endpoint: o.endpoint,
      maxAttempts: 1, // retries are ours (counted, with our classification)
      // socketTimeout is an idle timeout (a slow but moving upload is fine; a server that accepted
      // the connection and never answers is not); requestTimeout would be a wall clock over the whole part.
      requestHandler: { connectionTimeout: this.connectMs, socketTimeout: this.responseMs },
      // S3-compatible servers often lack aws-chunked trailers; integrity comes from Content-MD5.
      ...(o.endpoint ? { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' } : {}),
    };
    this.client = new S3Client({
      ...common,
      forcePathStyle: o.isMinio || (o.endpoint ? isLocalHost(o.endpoint) : false),
      credentials: o.roleArn ? this.assumeRoleProvider(o.roleArn, common, baseCredentials) : baseCredentials,
    });
  }

  private key(key: string): string {
    assertSafeKey(key);
    return this.base + key;
  }

  /** One request, unless the signal has fired. fn must also consume the response body; the signal aborts it in flight (the SDK's abortSignal). */
  private async request<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    checkAborted(signal);
    return fn();
  }

  async get(key: string, o?: GetOptions): Promise<Uint8Array> {
    const k = this.key(key);
    const abortSignal = o?.signal;
    try {
      return await this.request(async () => {
        const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: k }), { abortSignal });
        return readBody(r.Body, r.ContentLength);
      }, abortSignal);
    } catch (e) {
      throw await this.fail('read', key, e, abortSignal);
    }
  }

  async getRange(key: string, offset: number, length: number, o?: CallOptions): Promise<Uint8Array> {
    const k = this.key(key);
    const abortSignal = o?.signal;
    const short = () => new MobrError('CORRUPT', `read ${key}: short object (wanted ${length} bytes at ${offset}) in ${this.location}`);
    if (length === 0) {
      const st = await this.stat(key, o);
      if (!st) throw new MobrError('NOT_FOUND', `read ${key}: not found in ${this.location}`);
      if (st.size < offset) throw short();
      return new Uint8Array(0);
    }
    let data: Uint8Array;
    try {
      data = await this.request(async () => {
        const range = `bytes=${offset}-${offset + length - 1}`;
        const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: k, Range: range }), { abortSignal });
        return readBody(r.Body, r.ContentLength);
      }, abortSignal);
    } catch (e) {
      if ((e as SdkError)?.name === 'InvalidRange' || status(e) === 416) throw short();
      throw await this.fail('read', key, e, abortSignal);
    }
    if (data.length !== length) throw short();
    return data;
  }

  async put(key: string, data: Uint8Array, options: PutOptions = {}): Promise<void> {
    const k = this.key(key);
    const md5 = createHash('md5').update(data).digest();
    const abortSignal = options.signal;
    try {
      // Servers without conditional writes ignore If-None-Match, so look first (racy there).
      if (options.ifNoneMatch && (await this.head(k, abortSignal))) throw this.exists(key);
      if (data.length > this.threshold) await this.putMultipart(k, data, options);
      else {
        await this.request(() => this.client.send(new PutObjectCommand({
          Bucket: this.bucket, Key: k, Body: data, ContentLength: data.length, ContentMD5: md5.toString('base64'),
          ContentType: 'application/octet-stream', IfNoneMatch: options.ifNoneMatch ? '*' : undefined,
        }), { abortSignal }), abortSignal);
        options.onSent?.(data.length); // one request: the SDK tells nothing before its answer
      }
    } catch (e) {
      if (status(e) === 412 || (e as SdkError)?.name === 'PreconditionFailed') throw this.exists(key);
      throw await this.fail('write', key, e, abortSignal);
    }
  }

  private async putMultipart(k: string, data: Uint8Array, options: PutOptions): Promise<void> {
    const abortSignal = options.signal;
    const created = await this.request(() =>
      this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: k, ContentType: 'application/octet-stream' }), { abortSignal }),
    abortSignal);
    const uploadId = created.UploadId!;
    try {
      const parts: { PartNumber: number; ETag?: string }[] = [];
      let sent = 0; // parts finished, in any order
      const numbers = Array.from({ length: Math.ceil(data.length / this.partSize) }, (_, i) => i);
      await mapLimit(numbers, MULTIPART_LANES, async (i) => {
        const body = data.subarray(i * this.partSize, Math.min(data.length, (i + 1) * this.partSize));
        const md5 = createHash('md5').update(body).digest('base64');
        const r = await this.request(() => this.client.send(new UploadPartCommand({
          Bucket: this.bucket, Key: k, UploadId: uploadId, PartNumber: i + 1, Body: body, ContentLength: body.length, ContentMD5: md5,
        }), { abortSignal }), abortSignal);
        parts[i] = { PartNumber: i + 1, ETag: r.ETag };
        options.onSent?.((sent += body.length));
      });
      await this.request(() => this.client.send(new CompleteMultipartUploadCommand({
        Bucket: this.bucket, Key: k, UploadId: uploadId, MultipartUpload: { Parts: parts },
        IfNoneMatch: options.ifNoneMatch ? '*' : undefined,
      }), { abortSignal }), abortSignal);
    } catch (e) {
      // Best effort: an upload we cannot abort is invisible to readers and lists anyway.
      await bestEffort(() => this.request(() => this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: k, UploadId: uploadId }))), `abort upload of ${k}`);
      throw e;
    }
  }

  async has(key: string, o?: CallOptions): Promise<boolean> {
    return (await this.stat(key, o)) !== undefined;
  }

  async stat(key: string, o?: CallOptions): Promise<StoreEntry | undefined> {
    const k = this.key(key);
    try {
      const h = await this.head(k, o?.signal);
      return h && { key, size: h.size, mtimeMs: h.mtimeMs };
    } catch (e) {
      throw await this.fail('stat', key, e, o?.signal);
    }
  }

  private async head(k: string, abortSignal?: AbortSignal): Promise<{ size: number; mtimeMs?: number; etag?: string } | undefined> {
    try {
      const h = await this.request(() => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: k }), { abortSignal }), abortSignal);
      return { size: h.ContentLength ?? 0, mtimeMs: h.LastModified?.getTime(), etag: h.ETag };
    } catch (e) {
      checkAborted(abortSignal);
      if (status(e) === 403) throw await this.explain403(k, e);
      if (status(e) !== 404) throw e;
      await this.checkBucket(); // a HEAD 404 cannot tell a missing key from a missing bucket
      return undefined;
    }
  }

  /** A HEAD 403 has no body to say why; a one-byte GET does (bad key vs. denied). Error path only. */
  private async explain403(k: string, headError: unknown): Promise<unknown> {
    try {
      await this.request(() => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: k, Range: 'bytes=0-0' })));
    } catch (e) {
      if (status(e) === 403) return e;
    }
    return headError;
  }

  private async checkBucket(): Promise<void> {
    if (this.bucketChecked) return;
    try {
      await this.request(() => this.client.send(new HeadBucketCommand({ Bucket: this.bucket })));
    } catch (e) {
      if (status(e) === 404) throw this.noBucket();
      throw e;
    }
    this.bucketChecked = true;
  }

  async *list(prefix: string, o?: CallOptions): AsyncIterable<StoreEntry> {
    const abortSignal = o?.signal;
    const folder = prefix.replace(/\/+$/, '');
    if (folder !== '') assertSafeKey(folder);
    const full = this.base + (folder === '' ? '' : `${folder}/`);
    let token: string | undefined;
    do {
      const page = await this.request(() => this.client.send(new ListObjectsV2Command({
        Bucket: this.bucket, Prefix: full, ContinuationToken: token,
      }), { abortSignal }), abortSignal).catch(async (e: unknown) => { throw await this.fail('list', folder || '/', e, abortSignal); });
      for (const o of page.Contents ?? []) {
        if (!o.Key || o.Key.endsWith('/')) continue; // folder markers made by consoles
        yield { key: o.Key.slice(this.base.length), size: o.Size ?? 0, mtimeMs: o.LastModified?.getTime() };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(key: string, o?: CallOptions): Promise<void> {
    const k = this.key(key);
    const abortSignal = o?.signal;
    try {
      await this.request(() => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: k }), { abortSignal }), abortSignal);
    } catch (e) {
      if (status(e) === 404 && (e as SdkError).name !== 'NoSuchBucket') return;
      throw await this.fail('delete', key, e, abortSignal);
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  /**
   * Whether the server enforces If-None-Match on PUT: writes a probe object twice under the
   * prefix (skipping the HEAD check), then deletes it. 'emulated' means only HEAD-then-PUT guards.
   */
  async probeConditionalWrites(): Promise<'native' | 'emulated'> {
    const k = `${this.base}.mobr-probe-${this.clock.now().toString(36)}${Math.random().toString(36).slice(2)}`;
    const send = () => this.request(() => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: k, Body: new Uint8Array(0), IfNoneMatch: '*' })));
    try {
      await send();
      try {
        await send();
        return 'emulated';
      } catch (e) {
        if (status(e) === 412) return 'native';
        throw e;
      }
    } catch (e) {
      throw await this.fail('probe', 'conditional writes', e);
    } finally {
      await bestEffort(() => this.request(() => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: k }))), `remove probe object ${k}`);
    }
  }

  private exists(key: string): MobrError {
    return new MobrError('REPO_EXISTS', `write ${key}: already exists in ${this.location}`);
  }

  private noBucket(): MobrError {
    return new MobrError('NOT_FOUND', `bucket "${this.bucket}" does not exist (${this.location})`);
  }

  /** Maps an SDK or network error to a one-line MobrError without secrets and without a raw cause. */
  private async fail(op: string, key: string, e: unknown, signal?: AbortSignal): Promise<MobrError> {
    if (e instanceof MobrError) return e;
    checkAborted(signal); // aborted: the signal's reason (LOCKED, INTERRUPTED), not the SDK's AbortError
    const err = e as SdkError;
    const name = err?.name ?? 'Error';
    const s = status(e);
    const what = `${op} ${key}`;
    const tag = `${name}${s ? `, HTTP ${s}` : ''}`;
    const kind = transientKind(e);
    const mk = (c: ErrorCode, render: (tries: number) => string) => s3Error(kind, c, render);
    if (name === 'NoSuchBucket') return this.noBucket();
    if (name === 'NoSuchKey' || s === 404) {
      if (name === 'NotFound') await this.checkBucket().catch((b: unknown) => { if (b instanceof MobrError) throw b; });
      return new MobrError('NOT_FOUND', `${what}: not found in ${this.location}`);
    }
    if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(err?.message ?? '')) {
      return new MobrError('AUTH_FAILED', `${what}: no S3 credentials (give an access key, or configure the AWS default chain)`);
    }
    if (AUTH_NAMES.has(name) || (s === 403 && /Signature|AccessKey|Token/i.test(name))) {
      return new MobrError('AUTH_FAILED', `${what}: ${this.location} rejected the credentials (${tag})`);
    }
    if (s === 403 || name === 'AccessDenied') return new MobrError('ACCESS_DENIED', `${what}: access denied by ${this.location} (${tag})`);
    if (kind === 'timeout') return this.timedOut(what, err);
    const code = netCode(e);
    if (code && UNREACHABLE_NET.has(code)) return mk('UNREACHABLE', () => `${what}: cannot reach ${this.location} (${code})`);
    if (code && RETRY_NET.has(code)) return mk('UNREACHABLE', (t) => `${what}: connection to ${this.location} failed (${code})${tries(t)}`);
    if (s !== undefined && s >= 500 || RETRY_NAMES.has(name)) {
      return mk('SERVER_ERROR', (t) => `${what}: ${this.location} failed (${tag})${tries(t)}`);
    }
    const detail = this.scrub(err?.message ?? String(e)).slice(0, 200);
    return mk('SERVER_ERROR', (t) => `${what}: ${this.location} failed (${tag})${detail ? `: ${detail}` : ''}${tries(t)}`);
  }

  /** UNREACHABLE for a connect or response timeout, saying how many tries were made (TIMEOUT_TRIES at most). */
  private timedOut(what: string, err: SdkError): MobrError {
    const connect = /establish a connection/i.test(err?.message ?? '');
    const n = (t: number) => `${t} ${t === 1 ? 'try' : 'tries'}`;
    return s3Error('timeout', 'UNREACHABLE', (t) => (connect
      ? `${what}: could not connect to ${this.location} within ${this.connectMs / 1000} s (${n(t)}; MO_BR_S3_CONNECT_TIMEOUT_MS changes the limit)`
      : `${what}: ${this.location} did not answer within ${this.responseMs / 1000} s (${n(t)}; MO_BR_S3_RESPONSE_TIMEOUT_MS changes the limit)`));
  }

  private scrub(text: string): string {
    return maskSecrets(text.replace(/\s+/g, ' ').trim(), this.secrets);
  }

  private assumeRoleProvider(roleArn: string, common: S3ClientConfig, base: S3ClientConfig['credentials']) {
    const sts = new STSClient({ region: common.region, endpoint: common.endpoint, maxAttempts: 3, credentials: base as never });
    type Keys = { accessKeyId: string; secretAccessKey: string; sessionToken?: string; expiration?: Date };
    let cached: Keys | undefined;
    let pending: Promise<Keys> | undefined; // one AssumeRole for the requests that ask at once
    const assume = async (): Promise<Keys> => {
      try {
        const r = await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: `mobr-${process.pid}` }));
        const c = r.Credentials;
        if (!c?.AccessKeyId || !c.SecretAccessKey) throw new MobrError('AUTH_FAILED', `assume role ${roleArn}: STS returned no credentials`);
        cached = { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
        this.secrets.push(c.AccessKeyId, c.SecretAccessKey, ...(c.SessionToken ? [c.SessionToken] : []));
        return cached;
      } catch (e) {
        if (e instanceof MobrError) throw e;
        const name = (e as SdkError)?.name ?? 'Error';
        const s = status(e);
        const code = netCode(e);
        if (code && UNREACHABLE_NET.has(code)) throw new MobrError('UNREACHABLE', `assume role ${roleArn}: cannot reach STS (${code})`);
        throw new MobrError(s === 403 && name === 'AccessDenied' ? 'ACCESS_DENIED' : 'AUTH_FAILED', `assume role ${roleArn}: STS refused (${name}${s ? `, HTTP ${s}` : ''})`);
      }
    };
    // `memoized`: the SDK then calls this on every request instead of keeping the keys until they
    // near expiry on the system clock; here the store's Clock decides (5 minutes before expiry).
    return Object.assign(async () => {
      if (cached && (!cached.expiration || cached.expiration.getTime() - this.clock.now() > 5 * 60_000)) return cached;
      pending ??= assume().finally(() => (pending = undefined));
      return pending;
    }, { memoized: true });
  }
}

/**
 * The response body, in one buffer of its own. With a Content-Length the bytes go straight into
 * a buffer of that size as they arrive (a 16 MiB pack range is never held twice, as collecting
 * the pieces and joining them would); a body that ends early or runs long is a ShortBody
 * (retried).
 */
export async function readBody(body: unknown, expected: number | undefined): Promise<Uint8Array> {
  if (!body) return new Uint8Array(0);
  const wrong = (n: number) => Object.assign(new Error(`response body ended after ${n} of ${expected} bytes`), { name: 'ShortBody' });
  if (expected === undefined || typeof (body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] !== 'function') {
    const bytes = await (body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
    if (expected !== undefined && bytes.length !== expected) throw wrong(bytes.length);
    return bytes;
  }
  const out = new Uint8Array(expected);
  let n = 0;
  for await (const piece of body as AsyncIterable<Uint8Array>) {
    if (n + piece.length > expected) throw wrong(n + piece.length);
    out.set(piece, n);
    n += piece.length;
  }
  if (n !== expected) throw wrong(n);
  return out;
}
