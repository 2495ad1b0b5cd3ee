/**
 * Commands over several repositories (find, stats, prune without --backup_dir: every repository
 * the catalog names) work on each one they can open and name, per repository, what they could
 * not: one repository that is gone, unreachable or without keys never stops the others. After the
 * others' results, the command ends with one line naming each one skipped, and the exit code of
 * the first such failure (so a nightly job still sees it). Ctrl-C stops them all.
 */
import { MobrError, withContext } from '../errors.js';
import type { Repository } from '../repo/repository.js';
import { describeLocation, type Location, type S3Credentials } from '../store/location.js';
import { openRepository } from './stores.js';

/** Errors whose message starts with the repository (its store's name): no context added. */
const NAMES_ITS_STORE = new Set(['PASSWORD_NEEDED', 'WRONG_PASSWORD']);

/** A repository a command could not work on, and why. */
export interface SkippedRepository {
  location: Location;
  code: string;
  message: string;
}

/**
 * Runs `fn` on each repository in turn; an error (other than an interrupt or a bug) opening or
 * working on one is recorded and the next one goes on.
 */
export async function eachRepository<T>(
  locations: readonly Location[],
  creds: S3Credentials | undefined,
  fn: (repo: Repository, location: Location) => Promise<T>,
): Promise<{ results: T[]; skipped: SkippedRepository[]; errors: MobrError[] }> {
  const results: T[] = [];
  const skipped: SkippedRepository[] = [];
  const errors: MobrError[] = [];
  for (const location of locations) {
    try {
      const repo = await openRepository(location, creds);
      try {
        results.push(await fn(repo, location));
      } finally {
        await repo.close();
      }
    } catch (e) {
      if (!(e instanceof MobrError) || e.code === 'INTERRUPTED') throw e;
      // one repository: its own error, naming it (once: a password error names it already)
      const named = e.message.includes(describeLocation(location)) || NAMES_ITS_STORE.has(e.code);
      if (locations.length === 1) throw named ? e : withContext(describeLocation(location), e);
      skipped.push({ location, code: e.code, message: e.message });
      errors.push(e);
    }
  }
  return { results, skipped, errors };
}

/** After the results of the others: one failure naming every repository skipped (none: nothing). */
export function failIfSkipped(skipped: readonly SkippedRepository[], errors: readonly MobrError[], total: number): void {
  if (skipped.length === 0) return;
  const each = skipped.map((s) => `${describeLocation(s.location)}: ${s.message}`).join('; ');
  throw new MobrError(errors[0].code, `${skipped.length} of ${total} repositories skipped (the others are done): ${each}`, { cause: errors[0] });
}

/** The --json field listing the repositories skipped. */
export function skippedJson(skipped: readonly SkippedRepository[]): Record<string, unknown>[] {
  return skipped.map((s) => ({ location: s.location, code: s.code, message: s.message }));
}
