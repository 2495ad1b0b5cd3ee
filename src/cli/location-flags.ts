/** A Location (src/store/location.ts) from one family of mo_br's flags, checked before anything is opened. */
import * as path from 'node:path';
import { MobrError } from '../errors.js';
import { locationToJSON, type Location } from '../store/location.js';
import { checkEndpoint } from '../store/s3-options.js';
import { isPlainName, showName } from '../util/names.js';

/** Flag values of one family (`--path`… for backup, `--backup_path`… for restore/check). */
interface LocationFlags {
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
    const other = prefix.other;
    if (f.endpoint !== undefined && f.endpoint !== '') checkEndpoint(f.endpoint, `${other}endpoint`, `${other}access_key_id / ${other}secret_access_key`);
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

/**
 * Refuses a location that would be recorded (the catalog, a new repository) when a field holds a
 * control character or bytes that are not UTF-8, before anything is written: the catalog is read
 * line by line by mo_ctl (`tail -n 1 | awk -F,`), where a newline makes it read the wrong ID
 * (issue #26.12), and a repository's folder is opened by its UTF-8 name. `prefix` names the flag
 * family for the message ("--", "--target_", "--backup_").
 */
export function recordableLocation(location: Location, prefix: string): Location {
  for (const [k, v] of Object.entries(location)) {
    if (typeof v !== 'string') continue;
    const flag = `${prefix}${k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`;
    const where = 'in a location the catalog records';
    const shown = JSON.stringify(v.slice(0, 60));
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x1f\x7f]/.test(v)) throw new MobrError('BAD_INPUT', `bad ${flag} ${shown}: a control character (newline, tab, …) ${where}`);
    if (!isPlainName(v)) throw new MobrError('BAD_INPUT', `bad ${flag} ${showName(v)}: bytes that are not UTF-8 (shown as \\xNN) ${where}; give a UTF-8 path`);
  }
  return location;
}
