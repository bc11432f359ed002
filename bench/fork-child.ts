import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);

/**
 * Path of a sibling bench module, with this file's own extension: `.js` in dist, `.ts` when the
 * harness runs from source through tsx (whose loader the forked child inherits via execArgv).
 */
export function benchModulePath(relative: string): string {
  return join(dirname(here), `${relative}${extname(here)}`);
}

export function benchModuleExists(relative: string): boolean {
  return existsSync(benchModulePath(relative));
}

/** The repository root (the folder holding package.json), from dist/bench or bench. */
export function repoRoot(): string {
  let dir = dirname(here);
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  throw new Error(`no package.json above ${here}`);
}

/** A bench module in a child process with the same loader; `stdout: 'pipe'` to read what it prints. */
export function forkChild(relative: string, env?: NodeJS.ProcessEnv, opts: { args?: string[]; stdout?: 'inherit' | 'pipe' } = {}): ChildProcess {
  return fork(benchModulePath(relative), opts.args ?? [], {
    execArgv: process.execArgv,
    env: env ?? process.env,
    stdio: ['ignore', opts.stdout ?? 'inherit', 'inherit', 'ipc'],
  });
}
