import { processIO } from './io.js';
import type { CliIO } from './io.js';

const USAGE = `sluice — egress proxy and privacy router for AI-agent sandboxes

  sluice up [--policy FILE] [--listen HOST:PORT] [--api-listen HOST:PORT] [--resolve HOST=IP]... [--dns HOST:PORT] [--home DIR] [--verbose]
                                  the gateway: the proxy, the sandboxes it runs, the control-plane API
  sluice policy check FILE        validate a policy; prints file:line:col: message per error
  sluice policy show              print the embedded default policy
  sluice explain [--policy FILE] [--body JSON] [--header "NAME: VALUE"]... [--resolve HOST=IP]... METHOD URL
                                  what the live proxy would do with this request, and why
  sluice ca path|export [--home DIR]
  sluice env [--policy FILE] [--sandbox NAME [--proxy URL]] [--home DIR] [--export]
                                  the environment a sandbox gets: provider placeholders, never secrets
  sluice run [-d] [--driver bwrap|docker] [--policy FILE] [--image IMAGE] [--workdir DIR] [--name NAME] [-e KEY=VALUE]... [--no-gateway] -- CMD [ARGS...]
                                  run CMD in a sandbox whose only way out is Sluice (on the gateway when one runs)
  sluice ps [-a] | stop [-t SECONDS] NAME... | rm [-f] NAME... | logs [-f] NAME | wait NAME
                                  the gateway's sandboxes: list, stop, remove, output, exit code
  sluice policy get NAME|--default | sluice policy set NAME|--default FILE
                                  a sandbox's (or the default) policy on the gateway; static sections stay locked
  sluice events [--sandbox NAME]... [--type TYPE,...] [--action allow|deny] [--json]
                                  the gateway's audit events, live
  sluice token create --scope admin|read [--name NAME] | token list | token revoke ID
                                  bearer tokens for the gateway's TCP API
  sluice image build [--force]    build the local base image for the docker driver
  sluice bench [--quick] [--only SCENARIO,...] [--peers PEER,...|none]
                                  Sluice side by side with direct, mitmproxy, squid, sandbox-runtime, mockttp

State (CA, audit log) lives in ~/.sluice unless --home or SLUICE_HOME says otherwise.
`;

type Command = (argv: string[], io: CliIO) => Promise<number>;

/** Loaded on demand: `sluice ca path` should not load the bench harness or the sandbox drivers. */
const COMMANDS: Record<string, () => Promise<Command>> = {
  up: async () => (await import('./up.js')).up,
  policy: async () => (await import('./policy.js')).policy,
  explain: async () => (await import('./explain.js')).explain,
  ca: async () => (await import('./ca.js')).ca,
  env: async () => (await import('./env.js')).env,
  run: async () => (await import('./run.js')).run,
  ps: async () => (await import('./sandboxes.js')).ps,
  stop: async () => (await import('./sandboxes.js')).stop,
  rm: async () => (await import('./sandboxes.js')).rm,
  logs: async () => (await import('./sandboxes.js')).logs,
  wait: async () => (await import('./sandboxes.js')).wait,
  events: async () => (await import('./events.js')).events,
  token: async () => (await import('./token.js')).token,
  image: async () => (await import('./image.js')).image,
  bench: async () => (await import('./bench.js')).bench,
};

const UP_USAGE = 'usage: sluice up [--policy FILE] [--listen HOST:PORT] [--api-listen HOST:PORT] [--resolve HOST=IP]... [--dns HOST:PORT] [--home DIR] [--verbose]';

export async function main(argv: string[], io: CliIO = processIO()): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(USAGE);
    return name ? 0 : 2;
  }
  const load = COMMANDS[name];
  if (!load) {
    io.stderr.write(`sluice: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  try {
    const command = await load();
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
