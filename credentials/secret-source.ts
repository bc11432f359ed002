import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const MIN_SECRET_LENGTH = 8;

export interface SecretSourceOptions {
  env: NodeJS.ProcessEnv;
  /** Where relative file: paths are resolved (the policy file's folder); default cwd. */
  baseDir?: string;
}

/**
 * Reads one provider's secret. Every message names the provider and the source, never the
 * value: these messages reach `sluice` output and the audit log.
 */
export async function readSecret(provider: string, from: string, opts: SecretSourceOptions): Promise<string> {
  let raw: string;
  if (from.startsWith('env:')) {
    const name = from.slice(4);
    const value = opts.env[name];
    if (value === undefined || value.trim() === '') {
      throw new Error(`provider "${provider}": environment variable ${name} is not set in Sluice's environment`);
    }
    raw = value;
  } else if (from.startsWith('file:')) {
    raw = await readSecretFile(provider, resolvePath(from.slice(5), opts));
  } else {
    throw new Error(`provider "${provider}": unsupported source (use env:VAR or file:PATH)`);
  }
  // A trailing newline from `echo key > file` is not part of the key; anything else is refused.
  const value = raw.trim();
  if (value === '') throw new Error(`provider "${provider}": ${describe(from)} is empty`);
  if (/[\r\n\0]/.test(value)) throw new Error(`provider "${provider}": the secret from ${describe(from)} contains CR, LF or NUL; refusing it`);
  // Every request is searched for the value: a tiny one would match innocent traffic everywhere.
  if (value.length < MIN_SECRET_LENGTH) {
    throw new Error(`provider "${provider}": the secret from ${describe(from)} is shorter than ${MIN_SECRET_LENGTH} characters; refusing it`);
  }
  return value;
}

function describe(from: string): string {
  return from.startsWith('env:') ? `environment variable ${from.slice(4)}` : `file ${from.slice(5)}`;
}

function resolvePath(p: string, opts: SecretSourceOptions): string {
  if (p === '~' || p.startsWith('~/')) return path.join(opts.env.HOME ?? os.homedir(), p.slice(1));
  return path.resolve(opts.baseDir ?? process.cwd(), p);
}

async function readSecretFile(provider: string, file: string): Promise<string> {
  let handle;
  try {
    handle = await fs.open(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`provider "${provider}": cannot open secret file ${file} (${code ?? 'error'})`, { cause: err });
  }
  try {
    // fstat on the opened handle: no window between the permission check and the read.
    const stat = await handle.stat();
    if (!stat.isFile()) throw new Error(`provider "${provider}": secret file ${file} is not a regular file`);
    if ((stat.mode & 0o077) !== 0) {
      throw new Error(`provider "${provider}": secret file ${file} is accessible by group or others (mode ${(stat.mode & 0o777).toString(8)}); run chmod 600 ${file}`);
    }
    if (stat.size > 64 * 1024) throw new Error(`provider "${provider}": secret file ${file} is larger than 64 KiB`);
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}
