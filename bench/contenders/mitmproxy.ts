import { readFile, access, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchEnv, Contender, RunningContender } from './contender.js';
import { freePort, inHostsNamespace, spawnProxy, which } from './spawn-proxy.js';
import { hostsNamespaceProblem } from './hosts-namespace-check.js';

/**
 * mitmproxy's mitmdump (apt). Intercepts everything except the tunnel host (ignore_hosts), no
 * addons, no flow output, bodies streamed past 1 MiB (otherwise it buffers 64 MiB bodies whole),
 * and trusts the bench test CA for its upstream leg.
 */
export function createMitmproxyContender(): Contender {
  return {
    name: 'mitmproxy',
    capabilities: new Set(['tunnel', 'intercept', 'http']),
    missingReason: '',
    async unavailable() {
      if (!(await which('mitmdump'))) return 'mitmdump not installed (apt install mitmproxy)';
      return hostsNamespaceProblem();
    },
    async start(env: BenchEnv): Promise<RunningContender> {
      const port = await freePort();
      const confdir = join(env.dir, `mitmproxy-${port}`);
      await mkdir(confdir, { recursive: true });
      const caPath = join(confdir, 'mitmproxy-ca-cert.pem');
      const argv = [
        'mitmdump', '-q',
        '--listen-host', '127.0.0.1', '--listen-port', String(port),
        '--set', `confdir=${confdir}`,
        '--set', `ssl_verify_upstream_trusted_ca=${env.pki.caCertPath}`,
        '--set', 'flow_detail=0',
        '--set', 'termlog_verbosity=error',
        '--set', 'stream_large_bodies=1m',
        '--set', `ignore_hosts=^${env.tunnelHost.replaceAll('.', '\\.')}`,
      ];
      const proc = await spawnProxy({
        argv: inHostsNamespace(argv, env.hostsFile),
        port,
        ready: () => access(caPath).then(() => true, () => false),
      });
      return {
        name: 'mitmproxy',
        proxyUrl: `http://127.0.0.1:${port}`,
        proxyPort: port,
        ca: await readFile(caPath, 'utf8'),
        pid: proc.pid,
        close: () => proc.close(),
      };
    },
  };
}
