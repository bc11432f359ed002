import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SLUICE_BIN = path.join(root, 'bin', 'sluice');

export interface CliRun {
  child: ChildProcess;
  /** stdout/stderr so far */
  stdout(): string;
  stderr(): string;
  /** resolves once stderr or stdout matches (or rejects when the process exits first) */
  waitFor(pattern: RegExp, stream?: 'stdout' | 'stderr'): Promise<string>;
  done: Promise<{ code: number; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number }>;
}

/**
 * `bin/sluice ARGS` as a user runs it (the compiled CLI: `npm run build` first), with the test
 * runner's loaders kept out of its environment.
 */
export function sluiceCli(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; extraFd?: number } = {}): CliRun {
  const env = { ...process.env, ...opts.env };
  delete env.NODE_OPTIONS;
  const t0 = Date.now();
  // extraFd: an open pipe at that descriptor, as an IDE or a harness might leave one
  const stdio: Array<'pipe' | 'ignore'> = ['pipe', 'pipe', 'pipe'];
  if (opts.extraFd) {
    while (stdio.length < opts.extraFd) stdio.push('ignore');
    stdio[opts.extraFd] = 'pipe';
  }
  const child = spawn(SLUICE_BIN, args, { env, cwd: opts.cwd ?? root, stdio });
  child.stdin?.end();
  let out = '';
  let err = '';
  const waiters: Array<() => void> = [];
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
    waiters.forEach((w) => w());
  });
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
    waiters.forEach((w) => w());
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
  let exited = false;
  const done = new Promise<{ code: number; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number }>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      exited = true;
      waiters.forEach((w) => w());
      resolve({ code: code ?? -1, signal, stdout: out, stderr: err, ms: Date.now() - t0 });
    });
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    done,
    waitFor(pattern, stream) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const text = stream === 'stdout' ? out : stream === 'stderr' ? err : `${out}\n${err}`;
          const m = pattern.exec(text);
          if (m) resolve(m[0]);
          else if (exited) reject(new Error(`exited before ${pattern}: ${err.slice(-800)}`));
        };
        waiters.push(check);
        check();
      });
    },
  };
}
