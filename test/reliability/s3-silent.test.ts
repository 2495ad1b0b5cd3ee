/**
 * An S3 endpoint that accepts TCP connections and never answers: every request times out (the
 * response timeout, MO_BR_S3_RESPONSE_TIMEOUT_MS, kept short here), is tried twice, and the
 * command ends with one line and exit 5 (unreachable), in a bounded time (spec/s3.md §4).
 * The same for one that never completes the connection (MO_BR_S3_CONNECT_TIMEOUT_MS; README
 * "An S3 endpoint that does not answer"): a listener in a stopped process whose accept queue is
 * full, so the kernel drops every further connection attempt.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as net from 'node:net';
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../helpers/tree.js';
import { ensureBuilt, mobr } from './cli.js';

let work: string;
let server: net.Server;
let port: number;
const sockets = new Set<net.Socket>();
let accepted = 0;

beforeAll(async () => {
  ensureBuilt();
  work = await tempDir('mobr-s3silent-');
  server = net.createServer((s) => {
    accepted++;
    sockets.add(s); // read and never answer
    s.on('data', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => server.close(r));
  await fsp.rm(work, { recursive: true, force: true });
});

const S3 = () => ['--backup_dir', 's3', '--backup_endpoint', `http://127.0.0.1:${port}`, '--backup_bucket', 'mobr-bucket', '--backup_filepath', 'repo', '--backup_access_key_id', 'AKIAEXAMPLE', '--backup_secret_access_key', 'secretsecret'];

describe('an S3 endpoint that never answers', () => {
  it('check: one line, exit 5, after two tries of the response timeout', async () => {
    const r = await mobr(['check', ...S3(), '--meta_path', path.join(work, 'm')], work, { env: { MO_BR_S3_RESPONSE_TIMEOUT_MS: '1500' } });
    expect(r.code, r.stderr).toBe(5);
    expect(r.stderr).toMatch(/^mo_br: .*did not answer within 1\.5 s \(2 tries; MO_BR_S3_RESPONSE_TIMEOUT_MS changes the limit\)\n$/);
    expect(r.stderr).not.toContain('secretsecret');
    expect(r.ms).toBeGreaterThan(2_900);
    expect(r.ms, 'the limit from the environment, not two of the default 25 s (a whole CLI run: its start-up at load 40 is no part of the bound)').toBeLessThan(50_000);
    expect(accepted).toBeGreaterThanOrEqual(2);
  }, 120_000);

  it('a malformed timeout in the environment: one line, exit 2', async () => {
    const r = await mobr(['check', ...S3(), '--meta_path', path.join(work, 'm')], work, { env: { MO_BR_S3_RESPONSE_TIMEOUT_MS: 'soon' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^mo_br: bad MO_BR_S3_RESPONSE_TIMEOUT_MS "soon": want a whole number of milliseconds\n$/);
  }, 60_000);

  it('an endpoint that never completes the connection: one line, exit 5, after two tries of the connect timeout', async () => {
    // a listener (backlog 1) in a child that is then stopped: two connections fill its queue
    const listen = "const s=require('net').createServer(()=>{}); s.listen(0,'127.0.0.1',1,()=>console.log(s.address().port))";
    const child = spawn(process.execPath, ['-e', listen], { stdio: ['ignore', 'pipe', 'inherit'] });
    const full: net.Socket[] = [];
    try {
      const stuck = await new Promise<number>((resolve) => child.stdout.once('data', (d) => resolve(Number(String(d).trim()))));
      child.kill('SIGSTOP');
      for (let i = 0; i < 2; i++) full.push(net.connect(stuck, '127.0.0.1').on('error', () => undefined));
      await new Promise((r) => setTimeout(r, 200));
      const s3 = S3().map((a) => (a === `http://127.0.0.1:${port}` ? `http://127.0.0.1:${stuck}` : a));
      const r = await mobr(['check', ...s3, '--meta_path', path.join(work, 'm')], work, { env: { MO_BR_S3_CONNECT_TIMEOUT_MS: '1500' } });
      expect(r.code, r.stderr).toBe(5);
      expect(r.stderr).toMatch(/^mo_br: .*could not connect to s3 http:\/\/127\.0\.0\.1:\d+ mobr-bucket\/repo within 1\.5 s \(2 tries; MO_BR_S3_CONNECT_TIMEOUT_MS changes the limit\)\n$/);
      expect(r.stderr).not.toContain('secretsecret');
      expect(r.ms).toBeGreaterThan(2_900);
    } finally {
      child.kill('SIGKILL');
      for (const s of full) s.destroy();
    }
  }, 60_000);
});
