import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCommandLine, UsageError } from './args.js';
import type { Parsed } from './args.js';
import { COMMANDS } from './commands.js';
import { commandHelp, groupHelp, topHelp, usageLine } from './help.js';
import { processIO } from './io.js';
import type { CliIO } from './io.js';

/**
 * The version in Sluice's package.json, found from this module upwards (dist/cli or cli/ when run
 * from source). app/version.ts does the same, but importing app/ would load the proxy for `--help`.
 */
export function version(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (!fs.existsSync(file)) continue;
    const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version: string };
    if (pkg.name === 'sluice') return pkg.version;
  }
  return 'unknown';
}

export async function main(argv: string[], io: CliIO = processIO()): Promise<number> {
  // `sluice help run` is `sluice run --help`.
  const words = argv[0] === 'help' ? [...argv.slice(1), '--help'] : argv;
  let parsed: Parsed;
  try {
    parsed = parseCommandLine(words, COMMANDS);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    const name = err.command ? `sluice ${err.command.name}` : 'sluice';
    const usage = err.command ? `${usageLine(err.command)}\n` : '';
    io.stderr.write(`${name}: ${err.message}\n${usage}(see \`${name} --help\`)\n`);
    return 2;
  }
  if (parsed.version) {
    io.stdout.write(`sluice ${version()} (node ${process.version})\n`);
    return 0;
  }
  const inv = parsed.invocation;
  if (!inv) {
    const text = parsed.words.length === 0 ? topHelp() : groupHelp(parsed.words[0]!);
    if (parsed.help) {
      io.stdout.write(text);
      return 0;
    }
    (parsed.words.length === 0 ? io.stdout : io.stderr).write(parsed.words.length === 0 ? text : `sluice ${parsed.words[0]}: which one?\n\n${text}`);
    return 2;
  }
  if (parsed.help) {
    io.stdout.write(commandHelp(inv.command));
    return 0;
  }
  try {
    const handler = await inv.command.load();
    return await handler(inv, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`sluice ${inv.command.name}: ${err.message}\n${usageLine(inv.command)}\n(see \`sluice ${inv.command.name} --help\`)\n`);
      return 2;
    }
    // Loaded only now: every command would otherwise pay for the sandbox drivers at start-up.
    const { explainSpawnError } = await import('../sandbox/index.js');
    io.stderr.write(`sluice ${inv.command.name}: ${explainSpawnError(err) ?? (err as Error).message}\n`);
    return 1;
  }
}
