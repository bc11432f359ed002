import { GLOBAL_OPTIONS, UsageError } from './args.js';
import type { CommandSpec, Invocation, OptionSpec } from './args.js';
import { COMMANDS, commandGroups } from './commands.js';
import type { CliIO } from './io.js';

/**
 * Shell completion. The scripts are thin: they hand the words typed so far to
 * `sluice __complete`, which answers from the command table (the same one that parses and
 * prints help), so completion knows every command, option and choice without a copy of them.
 * The first line of the answer says what else the shell should offer: `files`, `dirs` or nothing.
 */
export interface Completion {
  extra: 'files' | 'dirs' | 'none';
  words: string[];
}

function optionWords(options: Record<string, OptionSpec>): string[] {
  return Object.keys(options).map((k) => `--${k}`);
}

/** Candidates for the last word of `words` (the words after `sluice`, the last one possibly empty). */
export async function completeWords(words: readonly string[], sandboxes: () => Promise<string[]> = listSandboxNames): Promise<Completion> {
  const current = words.at(-1) ?? '';
  const before = words.slice(0, -1);
  const found: string[] = [];
  let command: CommandSpec | undefined;
  let afterDashes = false;
  let pendingValue: OptionSpec | undefined;
  let positionals = 0;
  for (const w of before) {
    if (pendingValue) {
      pendingValue = undefined;
      continue;
    }
    if (w === '--') {
      afterDashes = true;
      break;
    }
    if (w.startsWith('-')) {
      const name = w.replace(/^-+/, '').split('=')[0]!;
      const spec = command?.options[name] ?? GLOBAL_OPTIONS[name] ?? Object.values({ ...command?.options, ...GLOBAL_OPTIONS }).find((o) => o.short === name);
      if (spec?.type === 'string' && !w.includes('=')) pendingValue = spec;
      continue;
    }
    if (!command) {
      found.push(w);
      command = COMMANDS.find((c) => c.name === found.join(' '));
      continue;
    }
    if (command.passthrough) {
      afterDashes = true;
      break;
    }
    positionals += 1;
  }
  if (afterDashes) return { extra: 'files', words: [] };
  const match = (candidates: readonly string[]) => candidates.filter((c) => c.startsWith(current));
  if (pendingValue) {
    if (pendingValue.choices) return { extra: 'none', words: match(pendingValue.choices) };
    if (pendingValue.complete === 'sandbox') return { extra: 'none', words: match(await sandboxes()) };
    return { extra: pendingValue.complete === 'dir' ? 'dirs' : pendingValue.complete === 'file' ? 'files' : 'none', words: [] };
  }
  if (current.startsWith('-')) return { extra: 'none', words: match([...optionWords(command?.options ?? {}), ...optionWords(GLOBAL_OPTIONS)]) };
  if (!command) {
    const prefix = found.join(' ');
    const next = prefix === '' ? commandGroups() : COMMANDS.filter((c) => !c.hidden && c.name.startsWith(`${prefix} `)).map((c) => c.name.slice(prefix.length + 1).split(' ')[0]!);
    return { extra: 'none', words: match(next) };
  }
  if (command.passthrough) return { extra: 'files', words: [] };
  const want = command.positionals;
  if (!want || positionals >= want.max) return { extra: 'none', words: [] };
  if (want.complete === 'sandbox') return { extra: 'none', words: match(await sandboxes()) };
  if (want.complete === 'file') return { extra: 'files', words: [] };
  if (Array.isArray(want.complete)) return { extra: 'none', words: match(want.complete as readonly string[]) };
  return { extra: 'none', words: [] };
}

async function listSandboxNames(): Promise<string[]> {
  try {
    const { listSandboxes } = await import('../sandbox/index.js');
    return (await listSandboxes()).map((s) => s.name);
  } catch {
    return [];
  }
}

/** `sluice __complete WORD…`: what the completion scripts call. */
export async function complete(inv: Invocation, io: CliIO): Promise<number> {
  const result = await completeWords(inv.words);
  io.stdout.write(`${[result.extra, ...result.words].join('\n')}\n`);
  return 0;
}

const BASH = `# sluice completion for bash: source <(sluice completion bash)
_sluice() {
  local IFS=$'\\n' reply extra
  reply=($(sluice __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)) || return
  extra=\${reply[0]}
  COMPREPLY=("\${reply[@]:1}")
  case $extra in
    files) COMPREPLY+=($(compgen -f -- "\${COMP_WORDS[COMP_CWORD]}")) ;;
    dirs) COMPREPLY+=($(compgen -d -- "\${COMP_WORDS[COMP_CWORD]}")) ;;
  esac
}
complete -o filenames -F _sluice sluice
`;

const ZSH = `#compdef sluice
# sluice completion for zsh: source <(sluice completion zsh)
_sluice() {
  local -a reply
  reply=("\${(@f)$(sluice __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  local extra=\${reply[1]}
  shift reply
  (( \${#reply} )) && compadd -- "\${reply[@]}"
  case $extra in
    files) _files ;;
    dirs) _files -/ ;;
  esac
}
if (( $+functions[compdef] )); then compdef _sluice sluice; fi
`;

const FISH = `# sluice completion for fish: sluice completion fish | source
function __sluice_complete
  set -l words (commandline -opc) (commandline -ct)
  set -l reply (sluice __complete $words[2..-1] 2>/dev/null)
  for word in $reply[2..-1]
    echo $word
  end
  switch "$reply[1]"
    case files
      __fish_complete_path (commandline -ct)
    case dirs
      __fish_complete_directories (commandline -ct)
  end
end
complete -c sluice -f -a '(__sluice_complete)'
`;

export const COMPLETION_SCRIPTS: Record<string, string> = { bash: BASH, zsh: ZSH, fish: FISH };

/** `sluice completion bash|zsh|fish`: the script to source. */
export async function completion(inv: Invocation, io: CliIO): Promise<number> {
  const script = COMPLETION_SCRIPTS[inv.positionals[0]!];
  if (!script) throw new UsageError(`unknown shell "${inv.positionals[0]}"; one of bash, zsh, fish`);
  io.stdout.write(script);
  return 0;
}
