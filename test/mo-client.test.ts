import { describe, expect, it } from 'vitest';
import { buildBackupStatement, mapError } from '../src/mo/client.js';

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
