/**
 * S3Store beyond the shared contract: retries through injected faults, clean failure when faults
 * persist, no partial objects, multipart, bounded concurrency, error mapping without secrets,
 * STS AssumeRole, conditional writes, and opening stores from specs (src/store/open.ts).
 */
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { createServer } from 'node:net';
import { Agent, request } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { S3Store, type S3StoreOptions } from '../src/store/s3.js';
import { describeLocation, locationToJSON, parseLocation, type Location, type S3Credentials, type S3Location } from '../src/store/location.js';
import { openStore, validateLocation } from '../src/store/open.js';
import { startS3Server, type S3Server } from './helpers/s3server.js';
import { startFaultProxy, type FaultProxy } from './helpers/faultproxy.js';
import type { Store } from '../src/store/store.js';

let server: S3Server;
let proxy: FaultProxy;
beforeAll(async () => {
  server = await startS3Server();
  proxy = await startFaultProxy(server.endpoint);
});
afterAll(async () => {
  await proxy?.stop();
  await server?.stop();
});
beforeEach(() => proxy.clear());

const FAST_RETRY = { tries: 5, baseDelayMs: 5, maxDelayMs: 40 };

function s3(options: Partial<S3StoreOptions> = {}): S3Store {
  return new S3Store({
    endpoint: proxy.endpoint, bucket: server.bucket, accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey,
    prefix: `t/${randomBytes(4).toString('hex')}`, retry: FAST_RETRY, ...options,
  });
}

async function failure(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected a failure');
}

async function keys(store: Store, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for await (const e of store.list(prefix)) out.push(e.key);
  return out.sort();
}

/** One-byte objects PUT straight to s3rver over 16 kept-alive connections, unsigned. */
async function putPlain(at: S3Server, objectKeys: string[]): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const { hostname, port } = new URL(at.endpoint);
  const put = (key: string) =>
    new Promise<void>((resolve, reject) => {
      const req = request({ agent, host: hostname, port, method: 'PUT', path: `/${at.bucket}/${key}`, headers: { 'content-length': 1 } }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`PUT ${key}: ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end(Buffer.of(0));
    });
  try {
    await Promise.all(objectKeys.map(put));
  } finally {
    agent.destroy();
  }
}

function expectOneLine(e: Error): void {
  expect(e.message).not.toMatch(/\n/);
  expect(e.message.length).toBeLessThan(300);
}

describe('S3Store through transient faults', () => {
  it('retries puts through 503 SlowDown, 500 and resets, and counts the retries', async () => {
    const store = s3();
    proxy.inject({ fault: 'slowdown', method: 'PUT', times: 2 });
    proxy.inject({ fault: 'internal-error', method: 'PUT', times: 1 });
    proxy.inject({ fault: 'reset', method: 'PUT', times: 1 });
    const data = randomBytes(50_000);
    await store.put('data/a', data);
    expect(store.stats.retries).toBe(4);
    expect(store.stats.put).toBe(5);
    expect(Buffer.from(await store.get('data/a')).equals(data)).toBe(true);
  });

  it('retries an upload cut off half way, and the object is whole afterwards', async () => {
    const store = s3();
    proxy.inject({ fault: 'cut-upload', method: 'PUT', times: 2 });
    const data = randomBytes(300_000);
    await store.put('data/cut', data);
    expect(store.stats.retries).toBe(2);
    expect(Buffer.from(await store.get('data/cut')).equals(data)).toBe(true);
  });

  it('retries gets, ranges, heads and lists through 5xx, and a hung request through its timeout', async () => {
    const store = s3({ requestTimeoutMs: 2000 }); // every request, not only the hung one, must answer within it: 300 ms failed 4 tries of a list at load ~40
    const data = randomBytes(10_000);
    await store.put('data/g', data);
    proxy.inject({ fault: 'unavailable', method: 'GET', every: 2 });
    expect(Buffer.from(await store.get('data/g')).equals(data)).toBe(true);
    expect(Buffer.from(await store.getRange('data/g', 100, 50)).equals(data.subarray(100, 150))).toBe(true);
    expect(await keys(store)).toEqual(['data/g']);
    proxy.clear();
    proxy.inject({ fault: 'internal-error', method: 'HEAD', times: 2 });
    expect(await store.stat('data/g')).toMatchObject({ size: 10_000 });
    proxy.inject({ fault: 'hang', method: 'GET', times: 1 });
    expect((await store.get('data/g')).length).toBe(10_000);
    expect(store.stats.retries).toBeGreaterThanOrEqual(4);
  });
});

describe('S3Store when faults persist', () => {
  it('fails a put with one clear line after 5 tries, leaving no object', async () => {
    const store = s3();
    proxy.inject({ fault: 'slowdown', method: 'PUT', times: Infinity });
    const e = await failure(store.put('data/never', randomBytes(1000)));
    expect(e.code).toBe('SERVER_ERROR');
    expect(e.message).toMatch(/write data\/never: s3 http:\/\/127\.0\.0\.1:\d+ bucket1\/t\/\w+ failed \(SlowDown, HTTP 503\) after 5 tries/);
    expectOneLine(e);
    expect(store.stats.put).toBe(5);
    expect(store.stats.retries).toBe(4);
    proxy.clear();
    expect(await store.has('data/never')).toBe(false);
  });

  it('leaves no partial object when every upload is cut off half way', async () => {
    const store = s3();
    await store.put('data/old', randomBytes(10));
    proxy.inject({ fault: 'cut-upload', method: 'PUT', times: Infinity });
    const e = await failure(store.put('data/partial', randomBytes(400_000)));
    expect(e.code).toBe('UNREACHABLE');
    expectOneLine(e);
    proxy.clear();
    expect(await store.stat('data/partial')).toBeUndefined();
    expect(await keys(store)).toEqual(['data/old']);
  });

  it('aborts a multipart upload whose parts keep failing: no object, abort sent', async () => {
    const store = s3({ multipartThreshold: 6 << 20, partSize: 5 << 20 });
    proxy.inject({ fault: 'internal-error', method: 'PUT', url: /partNumber=2/, times: Infinity });
    const e = await failure(store.put('big/fail', randomBytes(12 << 20)));
    expect(e.code).toBe('SERVER_ERROR');
    expect(proxy.log.some((r) => r.method === 'DELETE' && /uploadId=/.test(r.url))).toBe(true);
    proxy.clear();
    expect(await store.has('big/fail')).toBe(false);
    expect(await keys(store)).toEqual([]);
  });

  it('does not retry 4xx: 403 AccessDenied fails at once as ACCESS_DENIED', async () => {
    const store = s3();
    await store.put('data/x', randomBytes(10));
    proxy.inject({ fault: 'access-denied', method: 'GET', times: 1 });
    const e = await failure(store.get('data/x'));
    expect(e.code).toBe('ACCESS_DENIED');
    expect(store.stats.retries).toBe(0);
    expectOneLine(e);
  });
});

describe('S3Store requests', () => {
  it('uploads large objects in parts and counts requests by kind', async () => {
    const store = s3({ multipartThreshold: 6 << 20, partSize: 5 << 20 });
    const data = randomBytes((12 << 20) + 3);
    const sent: number[] = [];
    await store.put('big/ok', data, { onSent: (n) => sent.push(n) });
    expect(store.stats).toMatchObject({ put: 1, retries: 0 }); // one store call (create + 3 parts + complete)
    // sync's progress line: told as each part is sent (parts finish in any order), whole at the end
    expect(sent).toHaveLength(3);
    expect(sent.every((n, i) => i === 0 || n > sent[i - 1]!)).toBe(true);
    expect(sent.at(-1)).toBe(data.length);
    const small: number[] = [];
    await store.put('big/small', data.subarray(0, 1000), { onSent: (n) => small.push(n) });
    expect(small).toEqual([1000]); // one request: told once, when stored
    expect(proxy.log.filter((r) => /partNumber=/.test(r.url)).length).toBe(3);
    expect(Buffer.from(await store.get('big/ok')).equals(data)).toBe(true);
    expect(store.stats.get).toBe(1);
  });

  it('keeps at most `parallelism` requests in flight', async () => {
    const burst = (store: S3Store) => Promise.all(Array.from({ length: 24 }, (_, i) => store.put(`p/${i}`, randomBytes(200_000))));
    await burst(s3({ parallelism: 2 }));
    const narrow = proxy.maxInFlight;
    proxy.clear();
    await burst(s3({ parallelism: 8 }));
    expect(narrow).toBeLessThanOrEqual(2);
    expect(proxy.maxInFlight).toBeGreaterThan(2); // the measurement can see more than 2
    expect(proxy.maxInFlight).toBeLessThanOrEqual(8);
  });

  it('lists across pages (more than 1000 keys)', async () => {
    const prefix = `t/${randomBytes(4).toString('hex')}`;
    const store = s3({ endpoint: server.endpoint, prefix });
    // the 1030 objects go in as plain unsigned PUTs (s3rver checks no signature): the SDK's
    // signing and middleware made the set-up ~10 CPU-s, and 150 s at load 40, of a listing test
    await putPlain(server, Array.from({ length: 1030 }, (_, i) => `${prefix}/many/${String(i).padStart(4, '0')}`));
    expect(await keys(store, 'many')).toEqual(Array.from({ length: 1030 }, (_, i) => `many/${String(i).padStart(4, '0')}`));
    expect(store.stats.list).toBe(1); // one store call, two pages
  });
});

describe('S3Store conditional writes', () => {
  it('probes the server: s3rver ignores If-None-Match, so HEAD-then-PUT guards (racy there)', async () => {
    const store = s3({ endpoint: server.endpoint });
    const mode = await store.probeConditionalWrites();
    console.info(`s3rver conditional writes: ${mode}`);
    expect(mode).toBe('emulated');
    expect(await keys(store)).toEqual([]);
  });

  it('maps a server 412 (native If-None-Match) to REPO_EXISTS', async () => {
    const store = s3();
    proxy.inject({ fault: 'precondition-failed', method: 'PUT', times: 1 });
    const e = await failure(store.put('c/config', randomBytes(10), { ifNoneMatch: true }));
    expect(e.code).toBe('REPO_EXISTS');
  });

  it('treats a 412 on retry after a lost response as its own write when the ETag matches', async () => {
    const store = s3();
    proxy.inject({ fault: 'drop-response', method: 'PUT', times: 1 });
    proxy.inject({ fault: 'precondition-failed', method: 'PUT', times: 1 });
    const data = randomBytes(100);
    await store.put('c/lock', data, { ifNoneMatch: true });
    expect(store.stats.retries).toBe(1);
    expect(Buffer.from(await store.get('c/lock')).equals(data)).toBe(true);
  });
});

describe('S3Store errors never carry keys', () => {
  const accessKeyId = 'AKIDLEAKMARKER7777';
  const secretAccessKey = 'SeCrEt/LeakMarker+9999xyz';
  function assertClean(e: unknown): void {
    const err = e as Error;
    const texts = [err.message, String(err.stack), JSON.stringify(err), inspect(err, { depth: 8, showHidden: true })];
    for (const t of texts) {
      expect(t).not.toContain(secretAccessKey);
      expect(t).not.toContain(accessKeyId);
      expect(t).not.toContain('LeakMarker');
    }
    expectOneLine(err);
  }

  it('unknown access key -> AUTH_FAILED', async () => {
    const store = s3({ accessKeyId, secretAccessKey });
    for (const op of [() => store.get('a/b'), () => store.put('a/b', randomBytes(5)), () => store.stat('a/b'), () => keys(store)]) {
      const e = await failure(op());
      expect(e.code).toBe('AUTH_FAILED');
      assertClean(e);
    }
  });

  it('signature mismatch -> AUTH_FAILED (injected: s3rver does not check SigV4 signatures)', async () => {
    const store = s3({ accessKeyId: server.accessKeyId, secretAccessKey });
    proxy.inject({ fault: 'bad-signature', times: 1 });
    const e = await failure(store.get('a/b'));
    expect(e.code).toBe('AUTH_FAILED');
    assertClean(e);
  });

  it('connection refused -> UNREACHABLE, fast', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const store = s3({ endpoint: `http://127.0.0.1:${port}`, accessKeyId, secretAccessKey });
    const e = await failure(store.get('a/b'));
    expect(e.code).toBe('UNREACHABLE');
    expect(e.message).toContain('ECONNREFUSED');
    expect(store.stats.retries).toBe(0);
    assertClean(e);
  });

  it('missing bucket -> NOT_FOUND naming the bucket, for get, stat, put and list', async () => {
    const store = s3({ bucket: 'no-such-bucket' });
    for (const op of [() => store.get('a/b'), () => store.stat('a/b'), () => store.put('a/b', randomBytes(3)), () => keys(store)]) {
      const e = await failure(op());
      expect(e.code).toBe('NOT_FOUND');
      expect(e.message).toContain('bucket "no-such-bucket" does not exist');
      expectOneLine(e);
    }
  });
});

describe('S3Store credentials', () => {
  const saved = { ...process.env };
  afterAll(() => {
    for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_EC2_METADATA_DISABLED', 'AWS_PROFILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  it('without keys uses the SDK default chain (here: the environment)', async () => {
    process.env.AWS_ACCESS_KEY_ID = server.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = server.secretAccessKey;
    const store = s3({ accessKeyId: undefined, secretAccessKey: undefined });
    await store.put('env/x', randomBytes(3));
    expect(await keys(store)).toEqual(['env/x']);
  });

  it('with no credentials anywhere fails AUTH_FAILED in one line', async () => {
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/credentials';
    process.env.AWS_CONFIG_FILE = '/nonexistent/config';
    const store = s3({ accessKeyId: undefined, secretAccessKey: undefined });
    const e = await failure(store.get('a/b'));
    expect(e.code).toBe('AUTH_FAILED');
    expect(e.message).toContain('no S3 credentials');
    expectOneLine(e);
  });
});

describe('S3Store with roleArn', () => {
  it('fails AUTH_FAILED, without keys in the error, when STS refuses the base keys', async () => {
    const store = s3({ endpoint: server.endpoint, roleArn: 'arn:aws:iam::1:role/r', accessKeyId: 'AKIDLEAKMARKER1', secretAccessKey: 'LeakMarkerSecret' });
    const e = await failure(store.get('a/b'));
    expect(e.code).toBe('AUTH_FAILED');
    expect(e.message).toContain('assume role arn:aws:iam::1:role/r');
    for (const t of [e.message, String(e.stack), JSON.stringify(e), inspect(e, { depth: 8 })]) expect(t).not.toContain('LeakMarker');
    expectOneLine(e);
  });

  it('assumes the role through STS on the same endpoint and signs with the temporary keys', async () => {
    const roleArn = 'arn:aws:iam::123456789012:role/mobr-backup';
    const store = s3({ endpoint: server.endpoint, roleArn });
    await store.put('r/x', randomBytes(10));
    expect((await store.get('r/x')).length).toBe(10);
    expect(server.assumed.map((a) => a.roleArn)).toContain(roleArn);
    const temp = server.assumed.at(-1)!.accessKeyId;
    expect(server.seenAccessKeys.has(temp)).toBe(true);
    expect(store.location).not.toContain(temp);
  });
});

describe('openStore and locations', () => {
  const s3loc = (over: Partial<S3Location> = {}): S3Location => ({
    backupDir: 's3', endpoint: server.endpoint, bucket: server.bucket, filepath: '/backups/b1', region: 'us-east-1', isMinio: false, ...over,
  });
  const credentials = () => ({ accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey });

  it('opens an S3 store under filepath (leading / stripped) with a secret-free location', async () => {
    const store = openStore(s3loc(), { credentials: credentials() }) as S3Store;
    expect(store.location).toBe(`s3 ${server.endpoint} ${server.bucket}/backups/b1`);
    await store.put('x/y', randomBytes(4));
    const direct = new S3Store({ endpoint: server.endpoint, bucket: server.bucket, accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey });
    expect(await keys(direct, 'backups/b1')).toEqual(['backups/b1/x/y']);
  });

  it('describes locations as mo_br PATH cells', () => {
    expect(describeLocation({ backupDir: 'filesystem', path: '/data/bk' })).toBe('BackupDir: filesystem  Path: /data/bk');
    expect(describeLocation(s3loc())).toBe(`BackupDir: s3  Endpoint: ${server.endpoint}  Bucket: ${server.bucket}  FilePath: /backups/b1  Region: us-east-1`);
  });

  it('round-trips locations through JSON; keys a caller left on the object are dropped', () => {
    const loc = s3loc({ roleArn: 'arn:x', isMinio: true, compression: 'zstd' });
    const json = JSON.stringify(locationToJSON({ ...loc, ...credentials() } as S3Location));
    expect(json).not.toContain(server.secretAccessKey);
    expect(json).not.toContain(server.accessKeyId);
    expect(parseLocation(JSON.parse(json))).toEqual(loc);
    expect(parseLocation(locationToJSON({ backupDir: 'filesystem', path: '/p' }))).toEqual({ backupDir: 'filesystem', path: '/p' });
    expect(parseLocation({ backupDir: 'tape' })).toBeUndefined();
  });

  it('rejects a missing bucket, a bad endpoint, half a key pair, keys in the URL: BAD_INPUT, one line', () => {
    const bad: [Location, S3Credentials?][] = [
      [s3loc({ bucket: '' })],
      [s3loc({ endpoint: 'not a url' })],
      [s3loc({ endpoint: 'ftp://host' })],
      [s3loc({ endpoint: 'http://AKIDLEAKMARKER:SeCrEtLeakMarker@host:9000' })],
      [s3loc(), { accessKeyId: 'AKIDLEAKMARKER' }],
      [s3loc({ bucket: 'b/c' })],
      [{ backupDir: 'filesystem', path: '' }],
      [{ backupDir: 'tape' } as unknown as Location],
    ];
    for (const [loc, creds] of bad) {
      const e = (() => { try { validateLocation(loc, { credentials: creds }); } catch (err) { return err as Error & { code?: string }; } return undefined; })();
      expect(e?.code, JSON.stringify(loc)).toBe('BAD_INPUT');
      expectOneLine(e!);
      expect(e!.message).not.toContain('LeakMarker');
      expect(() => openStore(loc, { credentials: creds })).toThrow();
    }
  });
});
