import { existsSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { findOnPath } from './host-tools.js';

/**
 * Directories whose contents are the system's, not one program's: mounting one of them from the
 * host would lay the host's whole set of binaries over the image's (docker) for the sake of one.
 */
const SYSTEM_DIRS = ['/', '/bin', '/sbin', '/usr', '/usr/bin', '/usr/sbin', '/usr/local', '/usr/local/bin', '/usr/local/sbin', '/usr/lib', '/lib', '/lib64', '/etc', '/opt', '/home', '/root', '/tmp'];

export type InstallDir = { dir: string; executable: string } | { problem: string };

/**
 * Where CMD is installed, for `sluice run --mount-install`: an npm-installed agent (a global
 * `/usr/local/lib/node_modules/@scope/agent`, or a project's `node_modules/.bin/agent`) needs
 * its package and the packages beside it (dependencies are hoisted, native parts are sibling
 * packages), so the outermost `node_modules` above the resolved executable is the install
 * directory; otherwise (a self-contained binary) the directory the executable is in.
 * `executable` is what the sandbox runs: the command's absolute path when it lies in that
 * directory (a link there, such as node_modules/.bin/x, is kept: some programs read their own
 * argv[0]), else the file it resolves to.
 */
export function installDirOf(command: string, pathVar: string, cwd: string): InstallDir {
  if (!command) return { problem: 'no command given' };
  const found = command.includes('/') ? path.resolve(cwd, command) : findOnPath(command, pathVar);
  if (!found || !existsSync(found)) return { problem: `${command} not found${command.includes('/') ? '' : ' on PATH'}` };
  const executable = realpathSync(found);
  if (!statSync(executable).isFile()) return { problem: `${command} is not a file` };
  const parts = executable.split('/');
  const first = parts.indexOf('node_modules');
  const dir = first > 0 ? parts.slice(0, first + 1).join('/') : path.dirname(executable);
  if (SYSTEM_DIRS.includes(dir)) {
    return { problem: `${command} is ${executable}, among the system's own files in ${dir}: give what it needs with filesystem_policy.read_only, or an --image that carries it` };
  }
  const given = path.resolve(cwd, found);
  return { dir, executable: given.startsWith(`${dir}/`) ? given : executable };
}
