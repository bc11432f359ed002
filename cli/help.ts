import { GLOBAL_OPTIONS } from './args.js';
import type { CommandSpec, OptionSpec } from './args.js';
import { COMMANDS } from './commands.js';

/** Help text, made from the command table (commands.ts) so that it cannot drift from the parser. */
function optionLabel(key: string, spec: OptionSpec): string {
  const flag = spec.short ? `-${spec.short}, --${key}` : `    --${key}`;
  if (spec.type === 'boolean') return flag;
  return `${flag} ${spec.choices ? spec.choices.join('|') : (spec.value ?? 'VALUE')}`;
}

function optionLines(options: Record<string, OptionSpec>): string[] {
  const rows = Object.entries(options).map(([key, spec]) => [optionLabel(key, spec), spec.help + (spec.multiple ? '' : '')] as const);
  const width = Math.max(0, ...rows.map(([label]) => label.length));
  return rows.map(([label, help]) => `  ${label.padEnd(width)}  ${help}`);
}

export function usageLine(command: CommandSpec): string {
  const opts = Object.keys(command.options).length > 0 ? ' [options]' : '';
  const args = command.args ? ` ${command.args}` : '';
  return `usage: sluice ${command.name}${command.raw ? '' : opts}${args}`;
}

export function commandHelp(command: CommandSpec): string {
  const lines = [usageLine(command), '', `${command.summary.charAt(0).toUpperCase()}${command.summary.slice(1)}.`];
  if (command.details) lines.push('', command.details);
  if (Object.keys(command.options).length > 0) lines.push('', 'options:', ...optionLines(command.options));
  lines.push('', 'global options (anywhere before --):', ...optionLines(GLOBAL_OPTIONS));
  return `${lines.join('\n')}\n`;
}

/** `sluice policy --help`: the subcommands of a group. */
export function groupHelp(group: string, commands: readonly CommandSpec[] = COMMANDS): string {
  const members = commands.filter((c) => c.name.startsWith(`${group} `) && !c.hidden);
  const width = Math.max(...members.map((c) => `sluice ${c.name}${c.args ? ` ${c.args}` : ''}`.length));
  const lines = [`usage: sluice ${group} ${members.map((c) => c.name.slice(group.length + 1)).join('|')} ...`, ''];
  for (const c of members) lines.push(`  ${`sluice ${c.name}${c.args ? ` ${c.args}` : ''}`.padEnd(width)}  ${c.summary}`);
  lines.push('', `\`sluice ${group} SUBCOMMAND --help\` for its options.`);
  return `${lines.join('\n')}\n`;
}

export function topHelp(commands: readonly CommandSpec[] = COMMANDS): string {
  const visible = commands.filter((c) => !c.hidden);
  const label = (c: CommandSpec) => `${c.name}${c.args ? ` ${c.args}` : ''}`;
  const width = Math.min(34, Math.max(...visible.map((c) => label(c).length)));
  const lines = ['sluice — egress proxy and privacy router for AI-agent sandboxes', '', 'usage: sluice [--home DIR] COMMAND [options] [args]', '', 'commands:'];
  for (const c of visible) {
    const l = label(c);
    lines.push(l.length > width ? `  ${l}\n  ${' '.repeat(width)}  ${c.summary}` : `  ${l.padEnd(width)}  ${c.summary}`);
  }
  lines.push(
    '',
    'global options, before or after the command:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    '`sluice COMMAND --help` shows a command\'s options. First time here? `sluice doctor` checks the machine.',
  );
  return `${lines.join('\n')}\n`;
}
