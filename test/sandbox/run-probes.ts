import type { PreparedSandbox, StartOptions } from '../../sandbox/index.js';

export interface ProbeResult {
  code: number;
  output: string;
}

/** Runs probes.sh in the prepared sandbox and parses its "PROBE name code output" lines. */
export async function runProbes(
  prepared: PreparedSandbox,
  options: StartOptions & { env: Record<string, string> },
): Promise<{ results: Map<string, ProbeResult>; proxyPort: number }> {
  const running = await prepared.start({ ...options, stdio: 'pipe' });
  running.stdin?.end();
  let out = '';
  let err = '';
  running.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  running.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const code = await running.wait();
  const results = new Map<string, ProbeResult>();
  for (const line of out.split('\n')) {
    const m = /^PROBE (\S+) (\d+) ?(.*)$/.exec(line);
    if (m) results.set(m[1] ?? '', { code: Number(m[2]), output: m[3] ?? '' });
  }
  if (!out.includes('PROBES-DONE')) throw new Error(`probes did not finish (exit ${code}): ${out}\n${err}`);
  return { results, proxyPort: running.proxyAddress.port };
}
