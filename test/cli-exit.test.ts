/** exit.ts: the one mapping from errors to exit codes and one-line messages; main's argument handling. */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { deniedReason, MobrError, withContext, type ErrorCode } from '../src/errors.js';
import { exitCodeFor, messageFor, reportError } from '../src/cli/exit.js';
import { normaliseArgs, run } from '../src/cli/main.js';

describe('exit codes', () => {
  const table: [ErrorCode, number][] = [
    ['CHECK_FAILED', 1], ['BAD_INPUT', 2], ['UNSAFE_PATH', 2], ['ENOENT_BACKUP', 3], ['NOT_FOUND', 3], ['NO_REPO', 3],
    ['AUTH_FAILED', 4], ['ACCESS_DENIED', 4], ['UNREACHABLE', 5], ['NOT_MATRIXONE', 5], ['CORRUPT', 6], ['CORRUPT_META', 6],
    ['CORRUPT_PACK', 6], ['CORRUPT_INDEX', 6], ['CORRUPT_MANIFEST', 6], ['LOCKED', 7], ['SERVER_ERROR', 8],
    ['NOT_AVAILABLE', 9], ['REPO_VERSION', 9], ['IO', 10], ['INTERRUPTED', 130], ['REPO_EXISTS', 70],
  ];
  it.each(table)('%s -> %i', (code, exit) => {
    expect(exitCodeFor(new MobrError(code, 'x'))).toBe(exit);
  });

  it('unknown errors are internal (70), raw errno errors map by errno', () => {
    expect(exitCodeFor(new TypeError('boom'))).toBe(70);
    expect(exitCodeFor('a string')).toBe(70);
    expect(exitCodeFor(Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' }))).toBe(4);
    for (const errno of ['EPERM', 'EROFS']) expect(exitCodeFor(Object.assign(new Error(errno), { code: errno }))).toBe(4);
    expect(exitCodeFor(Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' }))).toBe(10);
  });

  it('one errno -> ACCESS_DENIED mapping (deniedReason) serves withContext and the exit codes', () => {
    const err = (code: string) => Object.assign(new Error(code), { code });
    expect(['EACCES', 'EPERM', 'EROFS', 'ENOENT', 'toString'].map((c) => deniedReason(err(c)))).toEqual(['permission denied', 'permission denied', 'read-only file system', undefined, undefined]);
    expect(deniedReason(undefined)).toBeUndefined();
    expect(withContext('write x', err('EROFS')).code).toBe('ACCESS_DENIED');
    expect(withContext('write x', err('ENOSPC')).code).toBe('IO');
  });

  it('no other file writes that mapping again: EACCES is named in src/errors.ts only (issue #21.4)', () => {
    const src = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src');
    const files = (readdirSync(src, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(40);
    const naming = (text: string) => /['"`]EACCES['"`]|\bEACCES\s*:/.test(text); // compared with, or a key of a table
    expect(files.filter((f) => f !== 'errors.ts' && naming(readFileSync(path.join(src, f), 'utf8')))).toEqual([]);
    expect(naming(readFileSync(path.join(src, 'errors.ts'), 'utf8'))).toBe(true);
    expect(naming("if (code === 'EACCES' || code === 'EPERM') throw denied;")).toBe(true);
    expect(naming('const MINE = { EACCES: 4 };')).toBe(true);
  });

  it('one line, no stack, secrets masked', () => {
    const lines: string[] = [];
    const code = reportError(new MobrError('AUTH_FAILED', 'login failed\n  for key hunter22\n'), { write: (s: string) => lines.push(s) }, ['hunter22']);
    expect(code).toBe(4);
    expect(lines).toEqual(['mo_br: login failed for key ***\n']);
    expect(messageFor(new TypeError('undefined is not a function'))).toBe('internal error: undefined is not a function');
  });
});

describe('arguments', () => {
  it('Go-style --flag=true / --flag=false for booleans', () => {
    expect(normaliseArgs(['list', '--not_check_data=true', '--json=false', '--meta_path=x'])).toEqual(['list', '--not_check_data', '--meta_path=x']);
    expect(() => normaliseArgs(['--is_minio=perhaps'])).toThrow(/bad value for --is_minio/);
  });

  it('commander errors become one BAD_INPUT line, exit 2; secrets never echoed', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) } };
    expect(await run(['backup', '--password', 'hunter22', '--passwrd', 'hunter22'], io)).toBe(2);
    expect(err.length).toBe(1);
    expect(err[0]).toMatch(/^mo_br: unknown option '--passwrd' \(Did you mean --password\?\)\n$/);
    expect(err[0]).not.toContain('hunter22');
    expect(await run(['list', 'a', 'b', '--meta_path', '/nonexistent/x'], io)).toBe(2);
    expect(err[1]).toMatch(/too many arguments/);
  });
});
