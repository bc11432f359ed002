import os from 'node:os';
import path from 'node:path';

/** State dir: --home, else SLUICE_HOME, else ~/.sluice. */
export function resolveHome(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return path.resolve(flag);
  if (env.SLUICE_HOME) return path.resolve(env.SLUICE_HOME);
  return path.join(os.homedir(), '.sluice');
}
