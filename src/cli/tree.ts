/**
 * What the commander tree says about mo_br's commands, for the argument pre-processing
 * (argv.ts), the config keys and the completion scripts: each command path ("backup",
 * "meta rebuild") with its long flags.
 */
import type { Command } from 'commander';
import type { OptionTable } from './argv.js';
import type { CompletionCommand } from './completion.js';

function leaves(program: Command): { name: string; cmd: Command }[] {
  const out: { name: string; cmd: Command }[] = [];
  for (const c of program.commands) {
    if (c.commands.length > 0) for (const s of c.commands) out.push({ name: `${c.name()} ${s.name()}`, cmd: s });
    else out.push({ name: c.name(), cmd: c });
  }
  return out;
}

const longName = (flag: string | undefined) => (flag ?? '').replace(/^--/, '');

export function optionTable(program: Command): OptionTable {
  const valueFlags = new Set<string>();
  const commands = new Map<string, Map<string, { takesValue: boolean; env?: string }>>();
  for (const { name, cmd } of leaves(program)) {
    const opts = new Map<string, { takesValue: boolean; env?: string }>();
    for (const o of cmd.options) {
      if (!o.long) continue;
      const takesValue = o.required || o.optional;
      opts.set(longName(o.long), { takesValue, env: o.envVar });
      if (takesValue) valueFlags.add(longName(o.long));
    }
    commands.set(name, opts);
  }
  for (const o of program.options) if (o.long && (o.required || o.optional)) valueFlags.add(longName(o.long));
  return { valueFlags, commands };
}

/** The commands with the flags their --help shows (a hidden alias, like snapshot restore's --newaccount, is taken but not offered). */
export function completionCommands(program: Command): CompletionCommand[] {
  return leaves(program).map(({ name, cmd }) => ({
    name,
    description: cmd.description(),
    flags: cmd.options.filter((o) => o.long && !o.hidden).map((o) => ({ flag: o.long!, takesValue: o.required || o.optional, description: o.description })),
  }));
}

export function globalFlags(program: Command): { flag: string; takesValue: boolean; description: string }[] {
  return program.options.filter((o) => o.long && o.long !== '--version' && o.long !== '--help').map((o) => ({ flag: o.long!, takesValue: o.required || o.optional, description: o.description }));
}
