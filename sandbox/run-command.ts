import { execFile } from 'node:child_process';
import { explainSpawnError } from './host-tools.js';

/** runCommand's shape: a ToolRunner (tool-runner.ts) can stand in for it. */
export type RunTool = (file: string, args: string[], opts?: { input?: string; timeoutMs?: number }) => Promise<CommandResult>;

export interface CommandResult {
  stdout: string;
  stderr: string;
}

/**
 * Runs a host tool (ip, nft, tar…) from an argv array, never a shell string, and turns a
 * non-zero exit into an Error carrying the tool's stderr, which is what a user needs to see.
 * The timeout is hard: a tool stuck in the kernel (rtnl contention) cannot hang clean-up.
 */
export function runCommand(file: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<CommandResult> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} ${args.join(' ')}: no answer after ${timeoutMs} ms`));
    }, timeoutMs + 1000);
    const child = execFile(file, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      clearTimeout(guard);
      if (err) {
        const missing = explainSpawnError(err);
        if (missing) {
          reject(new Error(missing, { cause: err }));
          return;
        }
        const detail = stderr.trim() || err.message;
        reject(new Error(`${file} ${args.join(' ')}: ${detail}`, { cause: err }));
      } else {
        resolve({ stdout, stderr });
      }
    });
    child.stdin?.on('error', () => undefined);
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Like runCommand but for clean-up paths, where "already gone" is success. */
export async function runQuietly(file: string, args: string[], input?: string, run: RunTool = runCommand): Promise<boolean> {
  try {
    await run(file, args, { timeoutMs: 10_000, ...(input !== undefined ? { input } : {}) });
    return true;
  } catch {
    return false;
  }
}
