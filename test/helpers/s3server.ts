/**
 * A real S3-protocol server for tests: s3rver (Koa, files in a temp directory) on 127.0.0.1 and a
 * random free port, started and stopped by the test itself. No MinIO-compatible server is
 * packaged in Debian, so s3rver it is. Its gaps, and what this helper does about them:
 * - PUT writes the object file in place, so an aborted upload leaves a partial object visible;
 *   real S3 never shows one. The helper patches s3rver's store to write a temp file and rename it.
 * - It ignores If-None-Match on PUT (no conditional writes) and does not verify SigV4 signatures
 *   (only that the access key exists). Tests say so where it matters.
 * - Its ListObjectsV2 continuation tokens use single DES, gone from OpenSSL 3: patched (patchDes).
 * - A GET with `Range: bytes=0-0` (the first byte alone) returns the whole object, because it
 *   reads the range end as `end || Infinity`: patched (patchRangeEnd).
 * - It has no STS. The helper answers `Action=AssumeRole` (POST /) itself, issuing a fresh key
 *   pair, so S3Store's roleArn path runs against the same endpoint.
 * The front server records which access key signed each request (`seenAccessKeys`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { listenOnLoopback } from './listen.js';

const require = createRequire(import.meta.url);

interface S3rverApp {
  configureBuckets(): Promise<void>;
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  logger?: { exceptions?: { unhandle(): void }; close(): void };
}
type S3rverCtor = new (options: Record<string, unknown>) => S3rverApp;
interface AccountModule {
  DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void; revokeAccessKey(id: string): void };
}

export interface S3Server {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Temp directory holding the bucket's files. */
  directory: string;
  /** Access key ids that signed requests, in order of first use. */
  seenAccessKeys: Set<string>;
  /** AssumeRole calls answered: role ARN and the temporary key issued. */
  assumed: { roleArn: string; accessKeyId: string }[];
  stop(): Promise<void>;
}

let patched = false;

/**
 * s3rver signs ListObjectsV2 continuation tokens with single DES, which OpenSSL 3 (Node >= 17)
 * refuses, so every truncated listing fails with 500. 3DES with the key repeated three times is
 * single DES, and OpenSSL 3 still has it: route s3rver's 'des' through it.
 */
function patchDes(): void {
  const crypto = require('node:crypto') as typeof import('node:crypto');
  const wrap = <F extends (alg: string, key: Buffer, iv: Buffer) => unknown>(orig: F): F =>
    ((alg: string, key: Buffer, iv: Buffer, ...rest: unknown[]) =>
      alg === 'des' && key.length === 8
        ? (orig as (...a: unknown[]) => unknown)('des-ede3-cbc', Buffer.concat([key, key, key]), iv, ...rest)
        : (orig as (...a: unknown[]) => unknown)(alg, key, iv, ...rest)) as F;
  crypto.createCipheriv = wrap(crypto.createCipheriv as never);
  crypto.createDecipheriv = wrap(crypto.createDecipheriv as never);
}

/** s3rver reads a range end of 0 as "to the end": ask its store for [start, 0] correctly. */
function patchRangeEnd(): void {
  const FilesystemStore = require('s3rver/lib/stores/filesystem.js') as { prototype: Record<string, unknown> };
  const original = FilesystemStore.prototype.getObject as (this: unknown, b: string, k: string, o?: { start?: number; end?: number }) => Promise<{ content?: NodeJS.ReadableStream & { destroy(): void }; range?: { start: number; end: number } } | null>;
  FilesystemStore.prototype.getObject = async function getObject(this: { getResourcePath(b: string, k: string, r: string): string }, bucket: string, key: string, options?: { start?: number; end?: number }) {
    const object = await original.call(this, bucket, key, options);
    if (object?.content && object.range && options?.end === 0 && (options.start ?? 0) === 0) {
      object.content.destroy();
      object.range = { start: 0, end: 0 };
      object.content = createReadStream(this.getResourcePath(bucket, key, 'object'), { start: 0, end: 0 });
    }
    return object;
  };
}

/** Makes s3rver's PUT atomic (temp file + rename), as S3's is. */
function patchAtomicPut(): void {
  if (patched) return;
  patched = true;
  patchDes();
  patchRangeEnd();
  const FilesystemStore = require('s3rver/lib/stores/filesystem.js') as {
    prototype: Record<string, unknown> & {
      getResourcePath(bucket: string, key: string, resource: string): string;
      putMetadata(bucket: string, key: string, metadata: unknown, md5: string): Promise<void>;
    };
  };
  FilesystemStore.prototype.putObject = async function putObject(
    this: typeof FilesystemStore.prototype,
    object: { bucket: string; key: string; content: NodeJS.ReadableStream | Buffer; metadata: unknown },
  ) {
    const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
    await fsp.mkdir(path.dirname(objectPath), { recursive: true });
    const tmp = `${objectPath}.partial-${randomBytes(6).toString('hex')}`;
    const md5 = createHash('md5');
    let size = 0;
    try {
      const count = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          md5.update(chunk);
          size += chunk.length;
          cb(null, chunk);
        },
      });
      const source = Buffer.isBuffer(object.content) ? [object.content] : object.content;
      await pipeline(source as NodeJS.ReadableStream, count, createWriteStream(tmp));
      const digest = md5.digest('hex');
      await this.putMetadata(object.bucket, object.key, object.metadata, digest);
      await fsp.rename(tmp, objectPath);
      return { size, md5: digest };
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw e;
    }
  };
}

function xmlEscape(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function accessKeyOf(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization ?? '';
  return /Credential=([^/,\s]+)\//.exec(auth)?.[1] ?? /^AWS ([^:]+):/.exec(auth)?.[1];
}

async function readBody(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of req) parts.push(c as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

export async function startS3Server(options: { bucket?: string } = {}): Promise<S3Server> {
  patchAtomicPut();
  const S3rver = require('s3rver') as S3rverCtor;
  const { DUMMY_ACCOUNT } = require('s3rver/lib/models/account.js') as AccountModule;
  const directory = await mkdtemp(path.join(tmpdir(), 'mobr-s3rver-'));
  const bucket = options.bucket ?? 'bucket1';
  const accessKeyId = `AKTEST${randomBytes(6).toString('hex').toUpperCase()}`;
  const secretAccessKey = randomBytes(20).toString('base64url');
  DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey);
  const issued: string[] = [accessKeyId];

  const app = new S3rver({ silent: true, directory, vhostBuckets: false, configureBuckets: [{ name: bucket }] });
  await app.configureBuckets();
  const s3 = app.callback();
  const seenAccessKeys = new Set<string>();
  const assumed: S3Server['assumed'] = [];

  const server: Server = createServer((req, res) => {
    const key = accessKeyOf(req);
    if (key) seenAccessKeys.add(key);
    const isSts = req.method === 'POST' && (req.url === '/' || req.url === '') &&
      String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
    if (!isSts) return s3(req, res);
    void readBody(req).then((body) => {
      const form = new URLSearchParams(body);
      if (form.get('Action') !== 'AssumeRole' || !key || !issued.includes(key)) {
        res.writeHead(403, { 'content-type': 'text/xml' });
        res.end('<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code>' +
          '<Message>The security token included in the request is invalid.</Message></Error></ErrorResponse>');
        return;
      }
      const tempId = `ASIATEST${randomBytes(6).toString('hex').toUpperCase()}`;
      const tempSecret = randomBytes(20).toString('base64url');
      DUMMY_ACCOUNT.createKeyPair(tempId, tempSecret);
      issued.push(tempId);
      const roleArn = form.get('RoleArn') ?? '';
      assumed.push({ roleArn, accessKeyId: tempId });
      const expires = new Date(Date.now() + 3600_000).toISOString();
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(`<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>` +
        `<Credentials><AccessKeyId>${tempId}</AccessKeyId><SecretAccessKey>${tempSecret}</SecretAccessKey>` +
        `<SessionToken>${randomBytes(16).toString('hex')}</SessionToken><Expiration>${expires}</Expiration></Credentials>` +
        `<AssumedRoleUser><Arn>${xmlEscape(roleArn)}/mobr</Arn><AssumedRoleId>AROTEST:mobr</AssumedRoleId></AssumedRoleUser>` +
        `</AssumeRoleResult><ResponseMetadata><RequestId>test</RequestId></ResponseMetadata></AssumeRoleResponse>`);
    }, (e: unknown) => res.destroy(e as Error));
  });
  const port = await listenOnLoopback(server);

  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    accessKeyId,
    secretAccessKey,
    directory,
    seenAccessKeys,
    assumed,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      for (const id of issued) DUMMY_ACCOUNT.revokeAccessKey(id);
      app.logger?.exceptions?.unhandle();
      app.logger?.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
