/** Best-effort cleanup (src/util/best-effort.ts): "already gone" is ignored, any other failure is reported, never thrown. */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { tmpdir } from 'node:os';
import { MobrError } from '../src/errors.js';
import { bestEffort, ignoreMissing, onCleanupFailure } from '../src/util/best-effort.js';

const reported: string[] = [];
const prev = onCleanupFailure((what, e) => reported.push(`${what}: ${(e as Error).message}`));
afterEach(() => void (reported.length = 0));
afterAll(() => void onCleanupFailure(prev));

describe('bestEffort', () => {
  it('returns the value when the cleanup works', async () => {
    expect(await bestEffort(Promise.resolve(7), 'x')).toBe(7);
    expect(reported).toEqual([]);
  });

  it('ignores a thing already gone (ENOENT, ENOTDIR, NOT_FOUND) without a report', async () => {
    const gone = path.join(tmpdir(), `mobr-no-such-${process.pid}`, 'x');
    expect(await bestEffort(fsp.unlink(gone), 'remove x')).toBeUndefined();
    expect(await bestEffort(Promise.reject(new MobrError('NOT_FOUND', 'gone')), 'delete y')).toBeUndefined();
    expect(reported).toEqual([]);
  });

  it('reports any other failure under its name, and does not throw it', async () => {
    expect(await bestEffort(async () => Promise.reject(new MobrError('ACCESS_DENIED', 'denied')), 'close repo')).toBeUndefined();
    expect(await bestEffort(() => { throw new Error('sync') as never; }, 'sync dir')).toBeUndefined();
    expect(reported).toEqual(['close repo: denied', 'sync dir: sync']);
  });
});

describe('ignoreMissing', () => {
  it('undefined when the thing is not there; anything else is thrown', async () => {
    expect(await ignoreMissing(fsp.stat(path.join(tmpdir(), `mobr-no-such-${process.pid}`)))).toBeUndefined();
    expect(await ignoreMissing(fsp.stat(tmpdir()))).toBeDefined();
    await expect(ignoreMissing(Promise.reject(Object.assign(new Error('denied'), { code: 'EACCES' })))).rejects.toMatchObject({ code: 'EACCES' });
  });
});

