import { existsSync } from 'node:fs';
import { access, mkdir, readFile } from 'node:fs/promises';
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
    capabilities: new Set(['tunnel', 'intercept', 'http']),
    missingReason: '',
    async unavailable() {
      if (!packageDir()) return '@anthropic-ai/sandbox-runtime not installed (npm i -D it, or set BENCH_SRT_DIR)';
      return hostsNamespaceProblem();
    },
    async start(env: BenchEnv): Promise<RunningContender> {
      const port = await freePort();
      const dir = join(env.dir, `srt-${port}`);
      await mkdir(dir, { recursive: true });
      const caPath = join(dir, 'srt-ca.pem');
      const allowed = ['bench.test', env.tunnelHost, 'plain.test'].join(',');
      const argv = [process.execPath, ...process.execArgv, benchModulePath('contenders/sandbox-runtime-child'), String(port), packageDir()!, allowed, env.tunnelHost, env.pki.caCertPath, dir];
      const proc = await spawnProxy({
        argv: inHostsNamespace(argv, env.hostsFile),
        port,
        ready: () => access(caPath).then(() => true, () => false),
      });
      return { name: 'sandbox-runtime', proxyUrl: `http://127.0.0.1:${port}`, proxyPort: port, ca: await readFile(caPath, 'utf8'), pid: proc.pid, close: () => proc.close() };
    },
  };
}
