import path from 'node:path';
import { parseArgs } from 'node:util';

export const RUN_USAGE =
  'usage: sluice run [-d] [--driver bwrap|docker] [--policy FILE] [--image IMAGE] [--workdir DIR] [--name NAME] [-e KEY=VALUE]... [--home DIR] [--no-gateway] [-q] [--resolve HOST=IP]... [--dns HOST:PORT] [--verbose] -- CMD [ARGS...]';

export interface RunOptions {
  command: string[];
  driver: 'bwrap' | 'docker';
  policy?: string;
  image?: string;
  workdir?: string;
  name?: string;
  home?: string;
  env: Record<string, string>;
  resolve?: string[];
  dns?: string;
  verbose: boolean;
  detach: boolean;
  noGateway: boolean;
  quiet: boolean;
}

/** Parses `sluice run`'s arguments; throws Error with a message for the user on nonsense. */
export function parseRunArgs(argv: string[]): RunOptions | undefined {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      driver: { type: 'string', default: 'bwrap' },
      policy: { type: 'string' },
      image: { type: 'string' },
      workdir: { type: 'string' },
      name: { type: 'string' },
      home: { type: 'string' },
      env: { type: 'string', short: 'e', multiple: true },
      resolve: { type: 'string', multiple: true },
      dns: { type: 'string' },
      verbose: { type: 'boolean', short: 'v' },
      detach: { type: 'boolean', short: 'd' },
      'no-gateway': { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length === 0) return undefined;
  if (values.driver !== 'bwrap' && values.driver !== 'docker') throw new Error('--driver must be bwrap or docker');
  const env: Record<string, string> = {};
  for (const pair of values.env ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(pair.slice(0, eq))) throw new Error(`-e expects KEY=VALUE, got ${JSON.stringify(pair)}`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return {
    command: positionals,
    driver: values.driver,
    ...(values.policy ? { policy: path.resolve(values.policy) } : {}),
    ...(values.image ? { image: values.image } : {}),
    ...(values.workdir ? { workdir: path.resolve(values.workdir) } : {}),
    ...(values.name ? { name: values.name } : {}),
    ...(values.home ? { home: values.home } : {}),
    env,
    ...(values.resolve ? { resolve: values.resolve } : {}),
    ...(values.dns ? { dns: values.dns } : {}),
    verbose: values.verbose ?? false,
    detach: values.detach ?? false,
    noGateway: values['no-gateway'] ?? false,
    quiet: values.quiet ?? false,
  };
}
