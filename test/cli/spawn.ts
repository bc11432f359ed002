import { execFile, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** `bin/sluice` as a new user runs it: a child process, with tap's loaders taken out of NODE_OPTIONS. */
export const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'sluice');

export function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return env;
}

export function sluice(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(bin, args, { env: { ...cleanEnv(), ...env }, timeout: timeoutMs }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/**
 * The proxy URL a spawned `sluice up` prints once it listens, and its stdout so far (kept growing:
 * `output()` reads it later, e.g. the lines `--trace-gc` adds). Rejects if it exits first.
 */
export function listeningUrl(child: ChildProcess): Promise<{ url: string; output(): string }> {
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ url: m[1]!, output: () => out });
    });
    child.once('exit', (code) => reject(new Error(`sluice up exited (${code}): ${out}`)));
  });
}
