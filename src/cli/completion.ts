/**
 * `mo_br completion bash|zsh|fish`: a completion script for the shell, generated from the
 * program's own commands and flags (so it never falls behind). Install:
 *   bash: `source <(mo_br completion bash)` (or save it in /etc/bash_completion.d/mo_br)
 *   zsh:  `source <(mo_br completion zsh)` (uses bash's completion through bashcompinit)
 *   fish: `mo_br completion fish > ~/.config/fish/completions/mo_br.fish`
 */
import { MobrError } from '../errors.js';

export interface CompletionCommand {
  /** "backup", or "meta rebuild" for a subcommand. */
  name: string;
  description: string;
  /** Long flags with `--`, and whether each takes a value. */
  flags: { flag: string; takesValue: boolean; description: string }[];
}

const shellWord = (s: string) => s.replace(/[^A-Za-z0-9_ -]/g, '');
const fishQuote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

function bash(cmds: CompletionCommand[], globals: string[]): string {
  const top = [...new Set(cmds.map((c) => c.name.split(' ')[0]))];
  const cases = cmds
    .map((c) => `    "${c.name}") opts="${c.flags.map((f) => f.flag).join(' ')}" ;;`)
    .join('\n');
  const subs = [...new Set(cmds.filter((c) => c.name.includes(' ')).map((c) => c.name.split(' ')[0]))]
    .map((p) => `    ${p}) subs="${cmds.filter((c) => c.name.startsWith(`${p} `)).map((c) => c.name.split(' ')[1]).join(' ')}" ;;`)
    .join('\n');
  return `# mo_br completion (bash); zsh: autoload -U +X bashcompinit && bashcompinit first
_mo_br() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" cmd="" sub="" subs="" opts="" i w
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ "$w" == -* ]] && continue
    if [[ -z "$cmd" ]]; then cmd="$w"; elif [[ -z "$sub" ]]; then sub="$w"; fi
  done
  if [[ -z "$cmd" ]]; then
    COMPREPLY=( $(compgen -W "${top.join(' ')} ${globals.join(' ')}" -- "$cur") )
    return
  fi
  case "$cmd" in
${subs}
  esac
  if [[ -n "$subs" && -z "$sub" ]]; then
    COMPREPLY=( $(compgen -W "$subs" -- "$cur") )
    return
  fi
  local key="$cmd"
  [[ -n "$subs" ]] && key="$cmd $sub"
  case "$key" in
${cases}
  esac
  COMPREPLY=( $(compgen -W "$opts ${globals.join(' ')} --help" -- "$cur") )
}
complete -o default -F _mo_br mo_br ./mo_br
`;
}

function fish(cmds: CompletionCommand[], globals: { flag: string; takesValue: boolean; description: string }[]): string {
  const lines = ['# mo_br completion (fish)', 'complete -c mo_br -f'];
  const tops = cmds.filter((c) => !c.name.includes(' '));
  for (const g of globals) lines.push(`complete -c mo_br -l ${g.flag.slice(2)}${g.takesValue ? ' -r' : ''} -d ${fishQuote(g.description)}`);
  const parents = new Set(cmds.filter((c) => c.name.includes(' ')).map((c) => c.name.split(' ')[0]));
  for (const p of parents) if (!tops.some((t) => t.name === p)) tops.push({ name: p, description: `${p} commands`, flags: [] });
  const names = tops.map((t) => t.name).join(' ');
  for (const t of tops) lines.push(`complete -c mo_br -n "not __fish_seen_subcommand_from ${names}" -a ${t.name} -d ${fishQuote(t.description)}`);
  for (const c of cmds) {
    const [first, second] = c.name.split(' ');
    if (second) lines.push(`complete -c mo_br -n "__fish_seen_subcommand_from ${first}" -a ${second} -d ${fishQuote(c.description)}`);
    for (const f of c.flags) {
      lines.push(`complete -c mo_br -n "__fish_seen_subcommand_from ${first}" -l ${f.flag.slice(2)}${f.takesValue ? ' -r' : ''} -d ${fishQuote(shellWord(f.description))}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export function completionScript(shell: string, cmds: CompletionCommand[], globals: { flag: string; takesValue: boolean; description: string }[]): string {
  if (shell === 'bash') return bash(cmds, globals.map((g) => g.flag));
  if (shell === 'zsh') return `#compdef mo_br\nautoload -U +X bashcompinit && bashcompinit\n${bash(cmds, globals.map((g) => g.flag))}`;
  if (shell === 'fish') return fish(cmds, globals);
  throw new MobrError('BAD_INPUT', `bad shell ${JSON.stringify(shell.slice(0, 20))}: use bash, zsh or fish`);
}
