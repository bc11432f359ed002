import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { benchModulePath, repoRoot } from '../fork-child.js';
import type { BenchEnv, Contender, RunningContender } from './contender.js';
import { hostsNamespaceProblem } from './hosts-namespace-check.js';
import { freePort, inHostsNamespace, spawnProxy } from './spawn-proxy.js';

/**
 * Where @anthropic-ai/sandbox-runtime is: the project's node_modules, or a scratch install named
 * by BENCH_SRT_DIR (its engines field asks for node >= 22.12, so it is not a dependency yet).
 */
function packageDir(): string | undefined {
  const candidates = [
    process.env.BENCH_SRT_DIR,
    join(repoRoot(), 'node_modules/@anthropic-ai/sandbox-runtime'),
  ].filter((d): d is string => !!d);
  return candidates.find((d) => existsSync(join(d, 'dist/sandbox/http-proxy.js')));
}

export function createSandboxRuntimeContender(): Contender {
  return {
    name: 'sandbox-runtime',
    capabilities: new Set(['tunnel', 'http']),
    missingReason: 'tunnel + domain filter only (its TLS termination needs a decider process)',
    async unavailable() {
      if (!packageDir()) return '@anthropic-ai/sandbox-runtime not installed (npm i -D it, or set BENCH_SRT_DIR)';
      return hostsNamespaceProblem();
    },
    async start(env: BenchEnv): Promise<RunningContender> {
      const port = await freePort();
      const allowed = ['bench.test', env.tunnelHost, 'plain.test'].join(',');
      const argv = [process.execPath, ...process.execArgv, benchModulePath('contenders/sandbox-runtime-child'), String(port), packageDir()!, allowed];
      const proc = await spawnProxy({ argv: inHostsNamespace(argv, env.hostsFile), port });
      return { name: 'sandbox-runtime', proxyUrl: `http://127.0.0.1:${port}`, proxyPort: port, pid: proc.pid, close: () => proc.close() };
    },
  };
}
