/**
 * Backup IDs (spec/repository.md §7), apart from the manifest format so that the catalog (and
 * with it every command's start-up) checks an ID without loading manifests, sealing and msgpack.
 */
import { MobrError } from '../errors.js';

/**
 * The one rule for backup IDs, the same in the library, the CLI, the catalog and `meta rebuild`
 * (spec/repository.md §7): 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or
 * digit, compared exactly (case matters); `latest` is reserved (it names the newest backup). mo_br's
 * IDs (UUIDs) and names like `nightly-1` both qualify. An ID is also an object name, so this keeps
 * it a safe key segment, and a catalog field (no comma, quote or space).
 */
export function isBackupId(id: unknown): id is string {
  return typeof id === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(id) && id !== 'latest';
}

/** The ID itself when it follows the rule above, else BAD_INPUT naming it. */
export function checkBackupId(id: unknown, what = 'backup ID'): string {
  if (isBackupId(id)) return id;
  const shown = typeof id === 'string' ? JSON.stringify(id.slice(0, 60)) : String(id);
  const want = "1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit";
  throw new MobrError('BAD_INPUT', `bad ${what} ${shown}: want ${want} (a UUID like 25536ff0-126f-11ef-9902-26dd28356ef3, or a name like nightly-1)`);
}
