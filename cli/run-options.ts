import path from 'node:path';
import { UsageError, flag, list, str } from './args.js';
import type { Invocation } from './args.js';

export interface RunOptions {
  command: string[];
  driver: 'bwrap' | 'docker';
  policy?: string;
  image?: string;
  workdir?: string;
  name?: string;
  env: Record<string, string>;
  resolve?: string[];
  dns?: string;
  verbose: boolean;
  detach: boolean;
  noGateway: boolean;
  quiet: boolean;
  /** --enforcement audit: learning mode (a Sluice of its own only). */
  learning: boolean;
}

/** `sluice run`'s options from the parsed command line (commands.ts); UsageError on nonsense. */
export function runOptions(inv: Invocation): RunOptions {
  const driver = str(inv, 'driver') ?? 'bwrap';
  if (driver !== 'bwrap' && driver !== 'docker') throw new UsageError('--driver must be bwrap or docker', inv.command);
  const env: Record<string, string> = {};
  for (const pair of list(inv, 'env')) {
    const eq = pair.indexOf('=');
    if (eq <= 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(pair.slice(0, eq))) throw new UsageError(`-e expects KEY=VALUE, got ${JSON.stringify(pair)}`, inv.command);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const policy = str(inv, 'policy');
  const image = str(inv, 'image');
  const workdir = str(inv, 'workdir');
  const name = str(inv, 'name');
  const resolve = list(inv, 'resolve');
  const dns = str(inv, 'dns');
  return {
    command: inv.rest,
    driver,
    ...(policy ? { policy: path.resolve(policy) } : {}),
    ...(image ? { image } : {}),
    ...(workdir ? { workdir: path.resolve(workdir) } : {}),
    ...(name ? { name } : {}),
    env,
    ...(resolve.length ? { resolve } : {}),
    ...(dns ? { dns } : {}),
    verbose: flag(inv, 'verbose'),
    detach: flag(inv, 'detach'),
    noGateway: flag(inv, 'no-gateway'),
    quiet: flag(inv, 'quiet'),
    learning: str(inv, 'enforcement') === 'audit',
  };
}
