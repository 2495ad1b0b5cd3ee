/**
 * With --role_arn, the S3 store assumes the role through STS and uses its temporary keys until
 * five minutes before they expire, judged on the store's Clock (src/store/s3.ts; issue #21.3: every
 * decision by time goes through the injected Clock, and the AWS SDK's own memo, which judges on
 * the system clock, must not decide instead). A local HTTP server plays STS (AssumeRole, keys
 * valid for an hour) and S3 (every object missing); the test counts the AssumeRole calls while
 * it moves the store's clock.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Store } from '../src/store/s3.js';
import { ManualClock } from './helpers/clock.js';

const HOUR = 3_600_000;
let server: Server;
let endpoint: string;
const clock = new ManualClock(Date.now());
const calls = { assumeRole: 0, s3: 0 };

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      if (req.method === 'POST' && body.includes('Action=AssumeRole')) {
        calls.assumeRole++;
        const expires = new Date(clock.now() + HOUR).toISOString(); // STS's time is the store's clock's
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end(`<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials>
<AccessKeyId>ASIATEMP${calls.assumeRole}</AccessKeyId><SecretAccessKey>temporarysecret${calls.assumeRole}</SecretAccessKey>
<SessionToken>token${calls.assumeRole}</SessionToken><Expiration>${expires}</Expiration></Credentials>
<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/backup/mobr</Arn><AssumedRoleId>AROA:mobr</AssumedRoleId></AssumedRoleUser>
</AssumeRoleResult><ResponseMetadata><RequestId>r${calls.assumeRole}</RequestId></ResponseMetadata></AssumeRoleResponse>`);
        return;
      }
      calls.s3++;
      res.writeHead(404, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>gone</Message></Error>');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('S3 role keys expire on the store clock', () => {
  it('assumes the role once, again only when the store clock nears the keys\' expiry', async () => {
    const store = new S3Store({ bucket: 'b1', endpoint, accessKeyId: 'AKIDBASE', secretAccessKey: 'basesecret', roleArn: 'arn:aws:iam::123456789012:role/backup', clock });
    const get = async () => expect(store.get('x')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await get();
    expect(calls).toEqual({ assumeRole: 1, s3: 1 });
    clock.advance(50 * 60_000); // 10 minutes left: the keys still serve
    await get();
    expect(calls).toEqual({ assumeRole: 1, s3: 2 });
    clock.advance(6 * 60_000); // 4 minutes left (the system clock has not moved): assume the role again
    await get();
    expect(calls).toEqual({ assumeRole: 2, s3: 3 });
    await get();
    expect(calls).toEqual({ assumeRole: 2, s3: 4 }); // the new keys serve an hour from the store's now
  });

  it('requests that start at once share one AssumeRole', async () => {
    const before = calls.assumeRole;
    const store = new S3Store({ bucket: 'b1', endpoint, accessKeyId: 'AKIDBASE', secretAccessKey: 'basesecret', roleArn: 'arn:aws:iam::123456789012:role/backup', clock });
    await Promise.all(Array.from({ length: 4 }, () => expect(store.get('x')).rejects.toMatchObject({ code: 'NOT_FOUND' })));
    expect(calls.assumeRole - before).toBe(1);
  });
});
