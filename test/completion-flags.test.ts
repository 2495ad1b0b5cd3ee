/**
 * `--help` and shell completion cover every flag (issue #24, "done when"): for each command, the
 * flags its help lists, the flags the bash completion offers after it and the fish completion's
 * flags are one set; the global flags the argument pre-processing takes anywhere (argv.ts, which
 * commander never sees) are the ones help and completion show; and every `--flag` the README's
 * and spec/cli.md's examples give exists. Built in-process from the program's command tree, and
 * `./mo_br completion bash` (one run) checked to print the same script.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli/program.js';
import { completionScript } from '../src/cli/completion.js';
import { completionCommands, globalFlags } from '../src/cli/tree.js';
import { GLOBAL_FLAGS } from '../src/cli/argv.js';
import { ROOT, ensureBuilt, mobr } from './helpers/cli.js';

const program = buildProgram({ write: () => true }, async () => undefined);
const commands = completionCommands(program);
const globals = globalFlags(program);
const bash = completionScript('bash', commands, globals);
const fish = completionScript('fish', commands, globals);

/** Each command path ("backup", "meta rebuild") with its commander node. */
function leaves(p: Command): [string, Command][] {
  return p.commands.flatMap((c): [string, Command][] => (c.commands.length > 0 ? c.commands.map((s): [string, Command] => [`${c.name()} ${s.name()}`, s]) : [[c.name(), c]]));
}

/** The long flags listed in a help text's "Options:" section (not the global ones). */
function helpFlags(text: string): string[] {
  const own = text.split(/\n(?=Global Options:)/)[0].split(/\nOptions:\n/)[1] ?? '';
  return [...own.matchAll(/^ {2}(?:-\w, )?(--[a-z][A-Za-z_-]*)/gm)].map((m) => m[1]).filter((f) => f !== '--help');
}

/** The flags bash completion offers after `mo_br <name>` (its case line). */
function bashFlags(name: string): string[] {
  const line = bash.split('\n').find((l) => l.startsWith(`    "${name}") opts="`));
  expect(line, `bash completion has no case for ${name}`).toBeDefined();
  return /opts="([^"]*)"/.exec(line!)![1].split(' ').filter(Boolean);
}

/** The flags fish completion offers after the command's first word (a subcommand's and its siblings'). */
function fishFlags(first: string): string[] {
  const re = new RegExp(`^complete -c mo_br -n "__fish_seen_subcommand_from ${first}" -l ([A-Za-z_]+)`, 'gm');
  return [...fish.matchAll(re)].map((m) => `--${m[1]}`);
}

const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();

describe('help and completion cover every flag', () => {
  it('for each command: the flags of its --help, of bash completion and of fish completion are the same', () => {
    const all = leaves(program);
    expect(all.length).toBeGreaterThan(25);
    expect(helpFlags(all.find(([n]) => n === 'backup')![1].helpInformation())).toContain('--backup_dir');
    for (const [name, cmd] of all) {
      const help = helpFlags(cmd.helpInformation());
      expect(sorted(bashFlags(name)), `bash completion of ${name}`).toEqual(sorted(help));
      const first = name.split(' ')[0];
      const siblings = all.filter(([n]) => n.split(' ')[0] === first).flatMap(([, c]) => helpFlags(c.helpInformation()));
      expect(sorted(fishFlags(first)), `fish completion of ${first}`).toEqual(sorted(siblings));
    }
  });

  it('the global flags taken anywhere on the command line are the ones --help and completion show', () => {
    const help = program.helpInformation();
    const shown = globals.map((g) => g.flag);
    expect(sorted(shown)).toEqual(sorted(GLOBAL_FLAGS.map((f) => `--${f}`)));
    for (const f of shown) {
      expect(help).toContain(`  ${f}`);
      expect(bash).toContain(` ${f} `);
      expect(fish).toContain(`complete -c mo_br -l ${f.slice(2)}`);
    }
    // a subcommand's help shows them too (mo_br takes them after the subcommand)
    expect(leaves(program).find(([n]) => n === 'check')![1].helpInformation()).toContain('--metrics_file');
  });

  it("every --flag in the README's and spec/cli.md's code is one mo_br takes", () => {
    const known = new Set<string>([...globals.map((g) => g.flag), '--help', '--version']);
    for (const c of commands) for (const f of c.flags) known.add(f.flag);
    // flags of other programs the documents show beside mo_br's
    const others = /^(npm|npx|docker|node|git|mc|restic|kopia|borg|apt-get|vitest|sh|bash|source|curl|chromium|unshare|script|mo_ctl)\b/;
    const unknown: string[] = [];
    let checked = 0;
    for (const doc of ['README.md', 'spec/cli.md']) {
      const text = readFileSync(path.join(ROOT, doc), 'utf8');
      const code = [...text.matchAll(/```(\w*)\n([\s\S]*?)```/g)].filter((m) => ['', 'sh', 'bash'].includes(m[1])).map((m) => m[2]);
      for (const line of code.join('\n').replace(/\\\n/g, ' ').split('\n')) {
        const cmd = line.replace(/^\s*(?:\$ )?/, '');
        if (!/(^|[\s/])mo_br\s/.test(cmd) || others.test(cmd)) continue;
        for (const m of cmd.matchAll(/(?<![\w-])(--[a-z][A-Za-z_]*)/g)) if (++checked && !known.has(m[1])) unknown.push(`${doc}: ${m[1]} in "${cmd.trim().slice(0, 80)}"`);
      }
    }
    expect(unknown).toEqual([]);
    expect(checked).toBeGreaterThan(100);
  });

  describe('through ./mo_br', () => {
    beforeAll(() => ensureBuilt());
    it('mo_br completion bash prints the script built from the program', async () => {
      const r = await mobr(['completion', 'bash'], ROOT);
      expect([r.code, r.stderr]).toEqual([0, '']);
      expect(r.stdout).toBe(bash);
    });
  });
});
