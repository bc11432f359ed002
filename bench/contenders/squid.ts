import { mkdir, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchEnv, Contender, RunningContender } from './contender.js';
import { freePort, spawnProxy, which } from './spawn-proxy.js';

/**
 * squid (apt), tunnel and plain-HTTP forwarding only: no cache, no disk logs, CONNECT allowed
 * to the bench ports only, names from a hosts file, DNS pointed at loopback so nothing leaves.
 */
function squidConf(env: BenchEnv, port: number): string {
  const u = env.upstream;
  return [
    `http_port 127.0.0.1:${port}`,
    'pid_filename none',
    'cache deny all',
    'cache_mem 0 MB',
    'access_log none',
    'cache_store_log none',
    'cache_log /dev/null',
    'logfile_rotate 0',
    `hosts_file ${env.hostsFile}`,
    'dns_nameservers 127.0.0.1',
    'dns_v4_first on',
    'max_filedescriptors 20000',
    'shutdown_lifetime 0 seconds',
    'via off',
    'forwarded_for delete',
    `acl bench_ports port ${u.https} ${u.http} ${u.hold}`,
    'acl CONNECT method CONNECT',
    'acl loopback src 127.0.0.0/8',
    'http_access deny !bench_ports',
    'http_access allow loopback',
    'http_access deny all',
    '',
  ].join('\n');
}

export function createSquidContender(): Contender {
  return {
    name: 'squid',
    capabilities: new Set(['tunnel', 'http']),
    missingReason: 'tunnel only (no TLS interception in this build/config)',
    async unavailable() {
      return (await which('squid')) ? undefined : 'squid not installed (apt install squid)';
    },
    async start(env: BenchEnv): Promise<RunningContender> {
      const port = await freePort();
      const dir = join(env.dir, `squid-${port}`);
      await mkdir(dir, { recursive: true });
      // squid drops to its own user after start; it must still read its config.
      await chmod(dir, 0o755);
      const conf = join(dir, 'squid.conf');
      await writeFile(conf, squidConf(env, port), { mode: 0o644 });
      const proc = await spawnProxy({ argv: ['squid', '-N', '-f', conf], port });
      return { name: 'squid', proxyUrl: `http://127.0.0.1:${port}`, proxyPort: port, pid: proc.pid, close: () => proc.close() };
    },
  };
}
