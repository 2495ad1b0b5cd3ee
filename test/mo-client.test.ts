import { describe, expect, it } from 'vitest';
import { backupDialect, buildBackupStatement, mapError, parseServerVersion } from '../src/mo/client.js';

describe('BACKUP statement', () => {
  it('filesystem, full and incremental', () => {
    expect(buildBackupStatement({ target: { kind: 'filesystem', dir: "/data/it's", parallelism: 4 } })).toBe(
      "BACKUP '' FILESYSTEM '/data/it\\'s' PARALLELISM '4'",
    );
    expect(buildBackupStatement({ target: { kind: 'filesystem', dir: '/b' }, incrementalFrom: '1715745404915410000-1' })).toBe(
      "BACKUP '' FILESYSTEM '/b' PARALLELISM '1' TYPE 'incremental' TIMESTAMP '1715745404915410000-1'",
    );
  });
  it('S3OPTION', () => {
    const sql = buildBackupStatement({
      target: { kind: 's3', endpoint: 'http://127.0.0.1:9000', accessKeyId: 'AK', secretAccessKey: 'SK', bucket: 'b', filepath: '/x', isMinio: true },
    });
    expect(sql).toBe(
      "BACKUP '' S3OPTION {'endpoint'='http://127.0.0.1:9000', 'access_key_id'='AK', 'secret_access_key'='SK', 'bucket'='b', 'filepath'='/x', 'is_minio'='true'}",
    );
  });
});

describe('BACKUP statement per server release (backup_stmt at the tags)', () => {
  it('reads the release from select version()', () => {
    expect(parseServerVersion('8.0.30-MatrixOne-v1.1.1')).toEqual([1, 1, 1]);
    expect(parseServerVersion('8.0.30-MatrixOne-v2.0.1-hotfix-20241211')).toEqual([2, 0, 1]);
    expect(parseServerVersion('8.0.30-MatrixOne-v')).toBeUndefined();
  });
  it('no PARALLELISM before v1.1.2, no TYPE/TIMESTAMP before v1.2.0; unknown versions are the newest', () => {
    expect(backupDialect('8.0.30-MatrixOne-v1.0.0')).toEqual({ parallelism: false, incremental: false, isMinioValue: false });
    expect(backupDialect('8.0.30-MatrixOne-v1.1.1')).toEqual({ parallelism: false, incremental: false, isMinioValue: false });
    expect(backupDialect('8.0.30-MatrixOne-v1.1.2')).toEqual({ parallelism: true, incremental: false, isMinioValue: true });
    expect(backupDialect('8.0.30-MatrixOne-v1.2.0')).toEqual({ parallelism: true, incremental: true, isMinioValue: true });
    expect(backupDialect('8.0.30-MatrixOne-dev')).toEqual({ parallelism: true, incremental: true, isMinioValue: true });
    const fs = { kind: 'filesystem' as const, dir: '/b', parallelism: 4 };
    expect(buildBackupStatement({ target: fs, serverVersion: '8.0.30-MatrixOne-v1.1.1' })).toBe("BACKUP '' FILESYSTEM '/b'");
    expect(buildBackupStatement({ target: fs, serverVersion: '8.0.30-MatrixOne-v1.1.3' })).toBe("BACKUP '' FILESYSTEM '/b' PARALLELISM '4'");
    const s3 = { kind: 's3' as const, endpoint: 'e', accessKeyId: 'k', secretAccessKey: 's', bucket: 'b', filepath: 'p', isMinio: false, parallelism: 2 };
    expect(buildBackupStatement({ target: s3, serverVersion: '8.0.30-MatrixOne-v1.0.2' })).toBe(
      "BACKUP '' S3OPTION {'endpoint'='e', 'access_key_id'='k', 'secret_access_key'='s', 'bucket'='b', 'filepath'='p'}",
    );
    expect(buildBackupStatement({ target: s3, serverVersion: '8.0.30-MatrixOne-v1.2.0' })).toMatch(/'is_minio'='false', 'parallelism'='2'\}$/);
    expect(() => buildBackupStatement({ target: fs, incrementalFrom: '1-1', serverVersion: '8.0.30-MatrixOne-v1.1.3' })).toThrow(/no incremental backup/);
  });
});

describe('error mapping', () => {
  it('one line, no secrets', () => {
    const e = mapError({ errno: 20101, sqlMessage: 'internal error: bad key s3cr3tKEY\nmore' }, 'h:1', 'dump', ['s3cr3tKEY'], 'backup');
    expect(e.code).toBe('SERVER_ERROR');
    expect(e.message).not.toContain('s3cr3tKEY');
    expect(e.message).not.toContain('\n');
    expect(mapError({ errno: 1045, message: 'x' }, 'h:1', 'dump', [], 'connect').code).toBe('AUTH_FAILED');
    expect(mapError({ code: 'ENOTFOUND' }, 'nohost:6001', 'dump', [], 'connect').message).toBe('cannot connect to MatrixOne at nohost:6001: host not found');
  });
});
