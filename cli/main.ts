import { processIO } from './io.js';
import type { CliIO } from './io.js';
import { up, UP_USAGE } from './up.js';
import { policy, explain } from './policy.js';
import { ca } from './ca.js';
import { env } from './env.js';
import { run, ps, stop, image } from './run.js';

const USAGE = `sluice — egress proxy and privacy router for AI-agent sandboxes

  sluice up [--policy FILE] [--listen HOST:PORT] [--resolve HOST=IP]... [--dns HOST:PORT] [--home DIR] [--verbose]
  sluice policy check FILE        validate a policy; prints file:line:col: message per error
  sluice policy show              print the embedded default policy
  sluice explain [--policy FILE] METHOD URL
  sluice ca path|export [--home DIR]
  sluice env [--policy FILE] [--sandbox NAME] [--home DIR] [--export]
                                  the environment a sandbox gets: provider placeholders, never secrets
  sluice run [--driver bwrap|docker] [--policy FILE] [--image IMAGE] [--workdir DIR] [--name NAME] -- CMD [ARGS...]
                                  run CMD in a sandbox whose only way out is Sluice
  sluice ps | sluice stop NAME    list / stop sandboxes
  sluice image build [--force]    build the local base image for the docker driver

State (CA, audit log) lives in ~/.sluice unless --home or SLUICE_HOME says otherwise.
`;

type Command = (argv: string[], io: CliIO) => Promise<number>;

const COMMANDS: Record<string, Command> = { up, policy, explain, ca, env, run, ps, stop, image };

export async function main(argv: string[], io: CliIO = processIO()): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(USAGE);
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr.write(`sluice: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  try {
    return await command(rest, io);
  } catch (err) {
    const e = err as Error & { code?: string };
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' || e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      io.stderr.write(`sluice ${name}: ${e.message}\n${name === 'up' ? UP_USAGE : ''}\n`);
      return 2;
    }
    io.stderr.write(`sluice ${name}: ${e.message}\n`);
    return 1;
  }
}
