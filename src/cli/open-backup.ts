/**
 * Backups and repositories for the browsing commands (ls, find, diff, dump, stats), on top of
 * resolve.ts: a backup by ID through the catalog or in the repository the --backup_* flags name;
 * without an ID, the flags' repository or every repository the catalog records.
 */
import { MobrError, isMobrError } from '../errors.js';
import { bestEffort } from '../util/best-effort.js';
import type { Manifest } from '../repo/manifest.js';
import type { Repository } from '../repo/repository.js';
import { checkBackupId, type CliContext } from './context.js';
import { describeLocation, sameLocation, type Location } from '../store/location.js';
import { catalogRecord, flagLocation, openBackup, resolveAlias, type RepoFlags } from './resolve.js';

interface OpenedBackups {
  location: Location;
  repo: Repository;
  manifests: Manifest[];
}

/** Opens the repository of the backups `ids` (one repository for all) and loads their manifests; the caller closes `repo`. */
export async function openBackups(ids: string[], flags: RepoFlags, ctx: CliContext, parallelism?: number): Promise<OpenedBackups> {
  const first = await openBackup(ids[0], flags, ctx, parallelism);
  try {
    const manifests = [await first.manifest()];
    for (const raw of ids.slice(1)) {
      const id = checkBackupId(await resolveAlias(raw, flags, ctx));
      if (first.fromCatalog && !sameLocation((await catalogRecord(id, ctx)).location, first.location)) {
        throw new MobrError('BAD_INPUT', `backups ${first.record.id} and ${id} are in different repositories; compare backups of one repository`);
      }
      manifests.push(
        await first.repo.loadManifest(id).catch((e: unknown) => {
          if (isMobrError(e, 'ENOENT_BACKUP')) throw new MobrError('ENOENT_BACKUP', `no backup with ID ${id} in ${describeLocation(first.location)}`, { cause: e });
          throw e;
        }),
      );
    }
    return { location: first.location, repo: first.repo, manifests };
  } catch (e) {
    await bestEffort(first.close(), `close ${describeLocation(first.location)}`);
    throw e;
  }
}

/** Every manifest of a repository (a damaged one fails the command: it names the backup). */
export async function loadAllManifests(repo: Repository): Promise<Manifest[]> {
  const out: Manifest[] = [];
  for (const id of await repo.listBackupIds()) out.push(await repo.loadManifest(id));
  return out;
}

/** The repositories to search without an ID: the flags' one, or every one the catalog names. */
export async function repositoriesToSearch(flags: RepoFlags, ctx: CliContext): Promise<Location[]> {
  const fromFlags = flagLocation(flags);
  if (fromFlags) return [fromFlags];
  const out: Location[] = [];
  for (const r of await ctx.catalog.read()) if (!out.some((l) => sameLocation(l, r.location))) out.push(r.location);
  if (out.length === 0) throw new MobrError('ENOENT_BACKUP', `no backup in ${ctx.catalog.file}; give --backup_dir (s3 or filesystem) with where the backups are`);
  return out;
}
