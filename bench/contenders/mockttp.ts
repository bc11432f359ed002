import { access, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { benchModulePath } from '../fork-child.js';
import type { BenchEnv, Contender, RunningContender } from './contender.js';
import { hostsNamespaceProblem } from './hosts-namespace-check.js';
import { freePort, inHostsNamespace, spawnProxy } from './spawn-proxy.js';

/** mockttp (npm) in its own process: interception with passthrough, tlsPassthrough for tunnels. */
export function createMockttpContender(): Contender {
  return {
    name: 'mockttp',
    capabilities: new Set(['tunnel', 'intercept', 'http']),
    missingReason: '',
    async unavailable() {
      try {
        await import('mockttp');
      } catch (err) {
        return `mockttp not installed (${(err as Error).message.split('\n')[0]})`;
      }
      return hostsNamespaceProblem();
    },
    async start(env: BenchEnv): Promise<RunningContender> {
      const port = await freePort();
      const dir = join(env.dir, `mockttp-${port}`);
      await mkdir(dir, { recursive: true });
      const caPath = join(dir, 'mockttp-ca.pem');
      const argv = [process.execPath, ...process.execArgv, benchModulePath('contenders/mockttp-child'), String(port), dir, env.pki.caCertPath, env.tunnelHost];
      const proc = await spawnProxy({
        argv: inHostsNamespace(argv, env.hostsFile),
        port,
        ready: () => access(caPath).then(() => true, () => false),
      });
      return { name: 'mockttp', proxyUrl: `http://127.0.0.1:${port}`, proxyPort: port, ca: await readFile(caPath, 'utf8'), pid: proc.pid, close: () => proc.close() };
    },
  };
}
