import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { findOnPath } from './host-tools.js';
import { installDirOf } from './install-dir.js';
import { runCommand } from './run-command.js';

/** Native parts an npm package may carry beyond this are not looked at (a bound on the walk). */
const MAX_FILES = 20_000;

export interface CommandLibraries {
  /** absolute host paths of the shared libraries the command's executables link */
  libraries: string[];
  /** sonames the host itself cannot resolve for them (`ldd` says "not found") */
  unresolved: string[];
  /** the executables that were read */
  executables: string[];
}

/**
 * The shared libraries a command needs, found as the dynamic loader would on this host: `ldd` of
 * the resolved executable; for a script, of its interpreter (`#!/usr/bin/env node` included);
 * for an npm-installed command, also of every native part in its install directory (Node addons,
 * bundled binaries). Libraries inside the install directory are left out: `--mount-install`
 * brings them. A command that cannot be found is an error: an image built for a command
 * that is not there would hold nothing for it.
 */
export async function commandLibraries(command: string, pathVar = process.env.PATH ?? '', cwd = process.cwd()): Promise<CommandLibraries> {
  const found = command.includes('/') ? path.resolve(cwd, command) : findOnPath(command, pathVar);
  if (!found || !existsSync(found)) throw new Error(`${command} not found${command.includes('/') ? '' : ' on PATH'}`);
  const executable = realpathSync(found);
  const executables = new Set<string>();
  const interpreter = scriptInterpreter(executable, pathVar);
  if (isElf(executable)) executables.add(executable);
  else if (interpreter && isElf(interpreter)) executables.add(interpreter);
  else throw new Error(`${command} (${executable}) is neither a dynamically linked program nor a script whose interpreter is one`);
  const install = installDirOf(command, pathVar, cwd);
  const installDir = 'dir' in install && install.dir.split('/').includes('node_modules') ? install.dir : undefined;
  if (installDir) for (const part of await nativeParts(installDir)) executables.add(part);
  const { libraries, unresolved } = await ldd([...executables]);
  return {
    libraries: libraries.filter((lib) => !installDir || !lib.startsWith(`${installDir}/`)).sort(),
    unresolved: [...new Set(unresolved)].sort(),
    executables: [...executables].sort(),
  };
}

function readHead(file: string, bytes: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    return buf.subarray(0, readSync(fd, buf, 0, bytes, 0));
  } finally {
    closeSync(fd);
  }
}

function isElf(file: string): boolean {
  try {
    return statSync(file).isFile() && readHead(file, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } catch {
    return false;
  }
}

/** `#!/path/to/interp` or `#!/usr/bin/env [-S] name …`, resolved to the interpreter's file. */
function scriptInterpreter(file: string, pathVar: string): string | undefined {
  const head = readHead(file, 256).toString('utf8');
  if (!head.startsWith('#!')) return undefined;
  const words = head.slice(2).split('\n')[0]!.trim().split(/\s+/);
  let program = words[0];
  if (program && path.basename(program) === 'env') program = words.slice(1).find((w) => !w.startsWith('-') && !w.includes('='));
  if (!program) return undefined;
  const resolved = program.includes('/') ? program : findOnPath(program, pathVar);
  return resolved && existsSync(resolved) ? realpathSync(resolved) : undefined;
}

/** ELF files under an install directory: `.node` addons and executables (prebuilt binaries). */
async function nativeParts(dir: string): Promise<string[]> {
  const { stdout } = await runCommand('find', [dir, '-xdev', '-type', 'f', '(', '-name', '*.node', '-o', '-name', '*.so', '-o', '-name', '*.so.*', '-o', '-perm', '/111', ')']);
  return stdout.split('\n').filter(Boolean).slice(0, MAX_FILES).filter(isElf);
}

/** Runs ldd once over every file; it exits non-zero when one is static or not ELF, so its output is read regardless. */
export async function ldd(files: string[]): Promise<{ libraries: string[]; unresolved: string[] }> {
  if (files.length === 0) return { libraries: [], unresolved: [] };
  const out = await new Promise<string>((resolve) => {
    const child = spawn('ldd', files, { stdio: ['ignore', 'pipe', 'ignore'] });
    let text = '';
    child.stdout.on('data', (c: Buffer) => (text += c.toString()));
    child.on('close', () => resolve(text));
    child.on('error', () => resolve(text));
  });
  const libraries = new Set<string>();
  const unresolved: string[] = [];
  for (const line of out.split('\n')) {
    const missing = /^\s+(\S+)\s+=>\s+not found/.exec(line);
    if (missing?.[1]) {
      unresolved.push(missing[1]);
      continue;
    }
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s+(\/\S+)\s+\(0x/.exec(line);
    if (m?.[1]) libraries.add(m[1]);
  }
  return { libraries: [...libraries], unresolved };
}
