/**
 * An S3 endpoint is checked in one place (src/store/s3-options.ts checkEndpoint, issue #21.4):
 * the CLI's flags (`--endpoint`, `--backup_endpoint`, …) and a location opened by the library
 * refuse the same values for the same reason, in one line, and a key typed into the value never
 * reaches the message, even when the value is not a URL at all.
 */
import { describe, expect, it } from 'vitest';
import { locationFromFlags } from '../src/cli/location-flags.js';
import { validateLocation } from '../src/store/open.js';

const LEAK = /LeakMarker/i;
const BAD: [endpoint: string, reason: RegExp][] = [
  ['not a url', /not a URL/],
  ['ftp//x', /not a URL/],
  ['ftp://host', /use http:\/\/ or https:\/\//],
  ['http://', /not a URL|no host/],
  ['http://AKIDLEAKMARKER:SeCrEtLeakMarker@host:9000', /put keys in .*, not in the URL/],
  ['http//AKIDLEAKMARKER:SeCrEtLeakMarker@host:9000', /not a URL/],
  ['AKIDLEAKMARKER:SeCrEtLeakMarker@host', /use http:\/\/ or https:\/\//],
];

function refusal(f: () => unknown): Error & { code?: string } {
  try {
    f();
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('not refused');
}

describe('S3 endpoint check', () => {
  it('flags and library refuse the same endpoints for the same reason, one line, no key shown', () => {
    for (const [endpoint, reason] of BAD) {
      const fromFlags = refusal(() => locationFromFlags({ dir: 's3', endpoint, bucket: 'b1' }, { dir: '--backup_dir', other: '--backup_' }));
      const fromLibrary = refusal(() => validateLocation({ backupDir: 's3', endpoint, bucket: 'b1', filepath: '', isMinio: false }));
      for (const e of [fromFlags, fromLibrary]) {
        expect(e.code, endpoint).toBe('BAD_INPUT');
        expect(e.message, endpoint).toMatch(reason);
        expect(e.message, endpoint).not.toMatch(LEAK);
        expect(e.message).not.toContain('\n');
      }
      expect(fromFlags.message).toMatch(/^bad --backup_endpoint\b/);
      expect(fromLibrary.message).toMatch(/^bad S3 endpoint\b/);
      expect(fromFlags.message.replace('--backup_endpoint', 'S3 endpoint').replace(/put keys in .*, not/, 'put keys in …, not')).toBe(
        fromLibrary.message.replace(/put keys in .*, not/, 'put keys in …, not'),
      );
    }
  });

  it('accepts http and https endpoints with a host, a port and a path', () => {
    for (const endpoint of ['http://127.0.0.1:9000', 'https://s3.example.com', 'http://[::1]:9000/base']) {
      expect(locationFromFlags({ dir: 's3', endpoint, bucket: 'b1' }, { dir: '--backup_dir', other: '--' })).toMatchObject({ endpoint });
      expect(() => validateLocation({ backupDir: 's3', endpoint, bucket: 'b1', filepath: '', isMinio: false })).not.toThrow();
    }
  });
});
