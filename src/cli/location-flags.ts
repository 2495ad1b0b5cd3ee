/** A Location (src/store/location.ts) from one family of mo_br's flags, checked before anything is opened. */
import * as path from 'node:path';
import { MobrError } from '../errors.js';
import { locationToJSON, type Location } from '../store/location.js';

/** Flag values of one family (`--path`… for backup, `--backup_path`… for restore/check). */
export interface LocationFlags {
  dir?: string;
  path?: string;
  endpoint?: string;
  bucket?: string;
  filepath?: string;
  region?: string;
  compression?: string;
  roleArn?: string;
  isMinio?: boolean;
}

/** Builds a location from flags; `prefix` names the flag family for messages ("--", "--backup_"). */
export function locationFromFlags(f: LocationFlags, prefix: { dir: string; other: string }): Location {
  if (f.dir === undefined || f.dir === '') throw new MobrError('BAD_INPUT', `missing ${prefix.dir} (s3 or filesystem)`);
  if (f.dir === 'filesystem') {
    if (!f.path) throw new MobrError('BAD_INPUT', `missing ${prefix.other}path (the backup folder for ${prefix.dir} filesystem)`);
    return { backupDir: 'filesystem', path: path.resolve(f.path) };
  }
  if (f.dir === 's3') {
    if (!f.bucket) throw new MobrError('BAD_INPUT', `missing ${prefix.other}bucket (needed with ${prefix.dir} s3)`);
    if (f.endpoint !== undefined && f.endpoint !== '') checkEndpoint(f.endpoint, prefix.other);
    return locationToJSON({
      backupDir: 's3',
      endpoint: f.endpoint || undefined,
      bucket: f.bucket,
      filepath: f.filepath ?? '',
      region: f.region || undefined,
      compression: f.compression || undefined,
      roleArn: f.roleArn || undefined,
      isMinio: f.isMinio === true,
    });
  }
  throw new MobrError('BAD_INPUT', `bad ${prefix.dir} ${JSON.stringify(f.dir)}: use s3 or filesystem`);
}

function checkEndpoint(endpoint: string, other: string): void {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch (e) {
    throw new MobrError('BAD_INPUT', `bad ${other}endpoint ${JSON.stringify(endpoint)}: not a URL (like http://127.0.0.1:9000)`, { cause: e });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new MobrError('BAD_INPUT', `bad ${other}endpoint ${JSON.stringify(endpoint)}: use http:// or https://`);
  }
  if (url.username || url.password) {
    throw new MobrError('BAD_INPUT', `bad ${other}endpoint: put keys in ${other}access_key_id / ${other}secret_access_key, not in the URL`);
  }
}
