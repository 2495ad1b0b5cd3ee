/**
 * The browsing commands on the command line (spec/browse.md): ls, find, diff, dump. Each takes a
 * backup ID found through the catalog, or the repository's place with --backup_dir and the
 * --backup_* flags (no catalog needed).
 */
import type { Command } from 'commander';
import type { DiffFlags } from './commands/diff.js';
import type { DumpFlags } from './commands/dump.js';
import type { LsFlags } from './commands/ls.js';
// command modules load when their command runs (see program.ts)
import { backupSide, sourceKeys, type GlobalOpts, type Runner } from './flag-groups.js';
import type { RepoFlags } from './resolve.js';

export function addBrowseCommands(program: Command, run: Runner): void {
  const side = (cmd: Command) => sourceKeys(backupSide(cmd), ' of the backup');

  const ls = program.command('ls').description('list the files of a backup').argument('<ID>', 'the backup').argument('[path]', 'only this file or folder (and what is below it)')
    .option('--long', 'mode, size, mtime (and the tae_list columns of a MatrixOne backup)');
  side(ls).action((id: string, under: string | undefined, o: LsFlags & GlobalOpts) => run(async (ctx) => (await import('./commands/ls.js')).runLs(id, under, o, ctx), o));

  const find = program.command('find').description('which backups hold a path matching a glob (newest first)').argument('<glob>', "a glob: * and ? within a segment, ** across; '/x' anchors at the top");
  side(find).action((glob: string, o: RepoFlags & GlobalOpts) => run(async (ctx) => (await import('./commands/find.js')).runFind(glob, o, ctx), o));

  const diff = program.command('diff').description('files new, removed and changed between two backups, and the bytes the second added').argument('<ID1>', 'the earlier backup').argument('<ID2>', 'the later backup')
    .option('--json_version <n>', '--json schema: 2 (default; new entries as "new") or 1 (as "added")');
  side(diff).action((a: string, b: string, o: DiffFlags & GlobalOpts) => run(async (ctx) => (await import('./commands/diff.js')).runDiff(a, b, o, ctx), o));

  const dump = program.command('dump').description("write one file's bytes to stdout, each chunk verified").argument('<ID>', 'the backup').argument('<path>', 'the file, as ls shows it')
    .option('--parallelism <n>', 'chunk decoding threads (default 2)');
  side(dump).action((id: string, p: string, o: DumpFlags & GlobalOpts) => run(async (ctx) => (await import('./commands/dump.js')).runDump(id, p, o, ctx), o));
}
