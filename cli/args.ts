import type { CliIO } from './io.js';

/**
 * The command line, parsed once against the table in commands.ts: which command, its options,
 * its positionals, and the global flags, which may stand anywhere before `--`. One table gives
 * parsing, `--help` and shell completion, so they cannot disagree.
 */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** Placeholder shown in help: FILE, HOST:PORT … */
  value?: string;
  choices?: readonly string[];
  help: string;
  /** What completes the value in a shell. */
  complete?: 'file' | 'dir' | 'sandbox';
}

export interface CommandSpec {
  /** Full name, e.g. `policy check`. */
  name: string;
  summary: string;
  /** Positional part of the usage line, e.g. `FILE` or `[--] CMD [ARGS...]`. */
  args?: string;
  /** How many positionals the command takes (passthrough commands: at least `min`). */
  positionals?: { min: number; max: number; complete?: 'file' | 'sandbox' | readonly string[] };
  options: Record<string, OptionSpec>;
  /** From the first positional on, every word belongs to the command being run (sluice run CMD …). */
  passthrough?: boolean;
  /** The command parses its own words (bench); only --help is taken here. */
  raw?: boolean;
  /** Paragraphs after the usage in `--help`. */
  details?: string;
  hidden?: boolean;
  load(): Promise<Handler>;
}

export interface Invocation {
  command: CommandSpec;
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  /** Words after `--`, or from the first positional of a passthrough command. */
  rest: string[];
  /** `--home`, unresolved. */
  home: string | undefined;
  /** Every word after the command name, for commands that parse their own (raw). */
  words: string[];
}

export type Handler = (inv: Invocation, io: CliIO) => Promise<number>;

export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  home: { type: 'string', value: 'DIR', complete: 'dir', help: 'state directory (CA, audit log); default $SLUICE_HOME, else ~/.sluice' },
  help: { type: 'boolean', short: 'h', help: 'show help for the command and exit' },
  version: { type: 'boolean', short: 'V', help: 'print the version and exit' },
};

/** A command-line mistake: printed with a pointer to `--help`, exit code 2. */
export class UsageError extends Error {
  constructor(message: string, readonly command?: CommandSpec) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface Parsed {
  /** The command, or undefined when the words name only a group (`policy`) or nothing. */
  invocation?: Invocation;
  /** Command words seen (`['policy']` for a bare group). */
  words: string[];
  help: boolean;
  version: boolean;
}

/** Looks a long or short option up in the command's options, then the global ones. */
function findOption(name: string, short: boolean, command: CommandSpec | undefined): { key: string; spec: OptionSpec; global: boolean } | undefined {
  const tables: Array<[Record<string, OptionSpec>, boolean]> = [[GLOBAL_OPTIONS, true]];
  if (command) tables.unshift([command.options, false]);
  for (const [table, global] of tables) {
    for (const [key, spec] of Object.entries(table)) {
      if (short ? spec.short === name : key === name) return { key, spec, global };
    }
  }
  return undefined;
}

export function parseCommandLine(argv: readonly string[], commands: readonly CommandSpec[]): Parsed {
  const words: string[] = [];
  let command: CommandSpec | undefined;
  const values: Invocation['values'] = {};
  const positionals: string[] = [];
  let rest: string[] = [];
  let home: string | undefined;
  let help = false;
  let version = false;
  let commandWords: string[] = [];
  const isGroup = (prefix: string) => commands.some((c) => c.name.startsWith(`${prefix} `));

  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (command?.raw) {
      // Completion passes the user's words through, --help included.
      if ((word === '--help' || word === '-h') && !command.hidden) help = true;
      commandWords.push(word);
      continue;
    }
    if (word === '--') {
      rest = argv.slice(i + 1);
      break;
    }
    if (word.startsWith('-') && word !== '-') {
      const long = word.startsWith('--');
      const eq = long ? word.indexOf('=') : -1;
      const name = long ? word.slice(2, eq < 0 ? undefined : eq) : word.slice(1);
      if (!long && name.length !== 1) throw new UsageError(`unknown option ${word} (short options stand alone: -f, not -fq)`, command);
      const found = findOption(name, !long, command);
      if (!found) {
        const where = command ? '' : words.length > 0 ? ` after "${words.join(' ')}"` : ' before the command';
        throw new UsageError(`unknown option ${long ? `--${name}` : word}${where}`, command);
      }
      let value: string | boolean = true;
      if (found.spec.type === 'string') {
        if (eq >= 0) value = word.slice(eq + 1);
        else if (i + 1 < argv.length) value = argv[++i]!;
        else throw new UsageError(`option --${found.key} needs a value (${found.spec.value ?? 'VALUE'})`, command);
        if (found.spec.choices && !found.spec.choices.includes(value)) {
          throw new UsageError(`option --${found.key} must be one of ${found.spec.choices.join(', ')}; got "${value}"`, command);
        }
      } else if (eq >= 0) {
        throw new UsageError(`option --${found.key} takes no value`, command);
      }
      if (found.global) {
        if (found.key === 'home') home = value as string;
        else if (found.key === 'help') help = true;
        else if (found.key === 'version') version = true;
      } else if (found.spec.multiple) {
        values[found.key] = [...((values[found.key] as string[] | undefined) ?? []), value as string];
      } else {
        values[found.key] = value;
      }
      continue;
    }
    if (!command) {
      words.push(word);
      const name = words.join(' ');
      const exact = commands.find((c) => c.name === name);
      if (exact) {
        command = exact;
        commandWords = [];
        continue;
      }
      if (isGroup(name)) continue;
      throw new UsageError(words.length === 1 ? `unknown command "${word}"` : `unknown command "${name}"`);
    }
    if (command.passthrough) {
      rest = argv.slice(i);
      break;
    }
    positionals.push(word);
  }
  if (!command) return { words, help, version };
  // After `--`, words are positionals even when they look like options (a file named -x.yaml).
  if (!command.passthrough && !command.raw) positionals.push(...rest.splice(0));
  if (!command.raw && !help && !version) checkPositionals(command, positionals, rest);
  return {
    invocation: { command, values, positionals, rest, home, words: commandWords },
    words,
    help,
    version,
  };
}

function checkPositionals(command: CommandSpec, positionals: string[], rest: string[]): void {
  const want = command.positionals ?? { min: 0, max: 0 };
  if (command.passthrough) {
    if (rest.length < want.min) throw new UsageError(`missing ${command.args ?? 'arguments'}`, command);
    return;
  }
  if (positionals.length < want.min) throw new UsageError(`missing ${command.args ?? 'arguments'}`, command);
  if (positionals.length > want.max) {
    const extra = positionals.slice(want.max).map((p) => `"${p}"`).join(' ');
    throw new UsageError(want.max === 0 ? `takes no arguments; got ${extra}` : `too many arguments: ${extra}`, command);
  }
}

/** Typed reads of parsed option values. */
export function str(inv: Invocation, key: string): string | undefined {
  const v = inv.values[key];
  return typeof v === 'string' ? v : undefined;
}

export function flag(inv: Invocation, key: string): boolean {
  return inv.values[key] === true;
}

export function list(inv: Invocation, key: string): string[] {
  const v = inv.values[key];
  return Array.isArray(v) ? v : [];
}
