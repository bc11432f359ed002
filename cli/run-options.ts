import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { installDirOf } from '../sandbox/install-dir.js';
import { UsageError, flag, list, str } from './args.js';
import type { CommandSpec, Invocation } from './args.js';

export interface RunOptions {
  command: string[];
  driver: 'bwrap' | 'docker';
  policy?: string;
  image?: string;
  workdir?: string;
  name?: string;
  env: Record<string, string>;
  /** Host paths bound read-only at the same place (--mount-install: CMD's install directory). */
  readOnly: string[];
  resolve?: string[];
  dns?: string;
  verbose: boolean;
  detach: boolean;
  noGateway: boolean;
  quiet: boolean;
  /** --enforcement audit: learning mode (a Sluice of its own only). */
  learning: boolean;
  /** What the user should know about defaults taken (printed unless --quiet). */
  notes: string[];
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `-e NAME=VALUE`, or `-e NAME` for the value this shell has (as `docker run -e` does). */
function envPairs(pairs: string[], hostEnv: NodeJS.ProcessEnv, command: CommandSpec): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    if (!ENV_NAME.test(name)) throw new UsageError(`-e expects NAME or NAME=VALUE, got ${JSON.stringify(pair)}`, command);
    if (eq >= 0) env[name] = pair.slice(eq + 1);
    else if (hostEnv[name] !== undefined) env[name] = hostEnv[name];
    else throw new UsageError(`-e ${name}: ${name} is not set in this environment (give -e ${name}=VALUE)`, command);
  }
  return env;
}

/**
 * The current directory is the workdir unless one is given, as in sandbox-runtime and Docker
 * Sandboxes. Two exceptions, each said: `/` (the whole host, never mounted) and a root-owned
 * directory when Sluice runs as root, which would have to be lent to the sandbox's user with ACL
 * entries on every file in it (workdir-lend.ts): that is done only when --workdir asks for it.
 */
function defaultWorkdir(cwd: string, callerUid: number): { workdir?: string; note?: string } {
  if (cwd === '/') return { note: 'the current directory is /: no workdir is mounted (give --workdir DIR)' };
  const st = statSync(cwd, { throwIfNoEntry: false });
  if (!st?.isDirectory()) return {};
  if (callerUid === 0 && st.uid === 0) {
    return { note: `the current directory ${cwd} is root's: not mounted, since the sandbox never runs as root (give --workdir ${cwd} to lend it to the sandbox's user for the run)` };
  }
  try {
    accessSync(cwd, constants.W_OK);
  } catch {
    return { note: `the current directory ${cwd} is not writable by you: not mounted (give --workdir DIR)` };
  }
  return { workdir: cwd };
}

/** `sluice run`'s options from the parsed command line (commands.ts); UsageError on nonsense. */
export function runOptions(inv: Invocation, hostEnv: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): RunOptions {
  const driver = str(inv, 'driver') ?? 'bwrap';
  if (driver !== 'bwrap' && driver !== 'docker') throw new UsageError('--driver must be bwrap or docker', inv.command);
  const env = envPairs(list(inv, 'env'), hostEnv, inv.command);
  const notes: string[] = [];
  let command = inv.rest;
  const readOnly: string[] = [];
  if (flag(inv, 'mount-install')) {
    const found = installDirOf(command[0] ?? '', hostEnv.PATH ?? '', cwd);
    if ('problem' in found) throw new UsageError(`--mount-install: ${found.problem}`, inv.command);
    readOnly.push(found.dir);
    // A link outside the mounted tree (/usr/local/bin/agent -> ../lib/node_modules/…) would not
    // be there under docker: the sandbox runs what it points to.
    if (found.executable !== command[0]) command = [found.executable, ...command.slice(1)];
  }
  const policy = str(inv, 'policy');
  const image = str(inv, 'image');
  const given = str(inv, 'workdir');
  const fallback = given ? {} : defaultWorkdir(cwd, process.getuid?.() ?? 0);
  if (fallback.note) notes.push(fallback.note);
  const workdir = given ? path.resolve(cwd, given) : fallback.workdir;
  const name = str(inv, 'name');
  const resolve = list(inv, 'resolve');
  const dns = str(inv, 'dns');
  return {
    command,
    driver,
    ...(policy ? { policy: path.resolve(cwd, policy) } : {}),
    ...(image ? { image } : {}),
    ...(workdir ? { workdir } : {}),
    ...(name ? { name } : {}),
    env,
    readOnly,
    ...(resolve.length ? { resolve } : {}),
    ...(dns ? { dns } : {}),
    verbose: flag(inv, 'verbose'),
    detach: flag(inv, 'detach'),
    noGateway: flag(inv, 'no-gateway'),
    quiet: flag(inv, 'quiet'),
    learning: str(inv, 'enforcement') === 'audit',
    notes,
  };
}
