import { PassThrough } from 'node:stream';
import { main } from '../../cli/main.js';

/** Runs `sluice ARGS…` in-process with captured output (no child process: fast, and safe to spy on). */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await main(args, { stdout, stderr, env });
  return { code, stdout: out, stderr: err };
}
