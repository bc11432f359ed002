import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { buildBaseImage, ensureDocker, prepareSandbox, type ProxyEndpoint, type SandboxDriver, type SandboxSpec } from '../../sandbox/index.js';
import { listFirewallTables } from '../../sandbox/firewall.js';
import { OPENAI_ANSWER, startDecoys, type BypassFixture } from './bypass-fixture.js';
import { runProbes, type ProbeResult } from './run-probes.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const nodeModules = path.resolve(here, '../../node_modules');

/** The proxy a bypass run talks to: the stand-in or a real Sluice. */
export interface ProxyUnderTest {
  endpoint: ProxyEndpoint;
  /** origin of the allowed upstream as clients in the sandbox name it */
  allowedOrigin: string;
  /** extra assertions on what the proxy saw */
  check?(t: Test): void;
  close(): Promise<void>;
}

const BYPASSES = [
  'tcp_proxy_host_other_port',
  'tcp_host_address',
  'tcp_loopback',
  'tcp_other_namespace',
  'tcp_metadata',
  'curl_metadata_direct',
  'tcp_ipv6',
  'tcp_ipv6_loopback_host',
  'udp',
  'dns_system',
  'dns_direct',
  'dns_embedded',
  'raw_icmp',
  'raw_packet',
  'userns_nested',
  'noproxy_curl',
  'noproxy_curl_resolve',
  'noproxy_python',
  'noproxy_node',
  'noproxy_node_direct_ip',
];

/**
 * One sandbox runs probes.sh; the host side offers decoys the sandbox must not reach. Allowed
 * clients must work through the proxy unchanged, and every bypass must fail with a refusal.
 */
export async function bypassSuite(
  t: Test,
  driver: SandboxDriver,
  fixture: BypassFixture,
  startProxy: (listenHost: string, listenPort?: number) => Promise<ProxyUnderTest>,
  specExtra: Partial<SandboxSpec> = {},
): Promise<void> {
  if (driver === 'docker') {
    await ensureDocker();
    await buildBaseImage();
  }
  const prepared = await prepareSandbox({
    driver,
    command: ['bash', path.join(here, 'probes.sh')],
    env: { SLUICE_TEST_DIR: here, SLUICE_NODE_MODULES: nodeModules },
    filesystem: { read_only: [here, path.join(nodeModules, 'openai')] },
    limits: { pids: 256, memoryMb: 1024 },
    ...specExtra,
  });
  const proxyHost = prepared.proxyListen.host;
  const decoys = await startDecoys([proxyHost, fixture.hostAddr]);
  // a warm network's firewall already names a port: the proxy listens there, as the gateway's does
  const proxy = await startProxy(proxyHost, prepared.proxyListen.port);
  t.teardown(async () => {
    await prepared.remove();
    await proxy.close();
    await decoys.close();
  });
  const started = await runProbes(prepared, {
    proxy: proxy.endpoint,
    env: {
      ALLOWED_ORIGIN: proxy.allowedOrigin,
      HOST_IP: proxyHost,
      HOST_ADDR: fixture.hostAddr,
      OTHER_PORT: String(decoys.tcpPort),
      UDP_PORT: String(decoys.udpPort),
      OTHERNS_IP: fixture.otherNs.sandboxIp,
      OTHERNS_PORT: String(fixture.otherNsPort),
    },
  });
  const { results, proxyPort } = started;
  const probe = (name: string): ProbeResult => results.get(name) ?? { code: -1, output: 'probe did not run' };

  t.test('allowed traffic goes through the proxy with no code changes', async (t) => {
    t.match(probe('curl_allowed'), { code: 0, output: /"url":"\/curl"/ }, 'curl');
    t.match(probe('python_allowed'), { code: 0, output: /"url":"\/python"/ }, 'python urllib');
    t.match(probe('git_allowed'), { code: 0, output: new RegExp(`${fixture.git.head}\\s+HEAD`) }, 'git ls-remote over HTTPS');
    t.match(probe('node_fetch_allowed'), { code: 0, output: /"url":"\/node"/ }, 'node fetch (preload)');
    t.match(probe('openai_allowed'), { code: 0, output: OPENAI_ANSWER }, 'openai SDK');
    t.match(probe('tcp_proxy_control'), { code: 0, output: /CONNECTED/ }, `control: the TCP probe connects to the proxy port ${proxyPort}`);
    proxy.check?.(t);
  });

  t.test('a denied host gets the 403 JSON from the proxy', async (t) => {
    t.match(probe('curl_denied'), { output: /\b403\b/ }, 'CONNECT to a denied host is refused with 403');
    t.not(probe('curl_denied').code, 0, 'curl exits non-zero');
    t.match(probe('curl_denied_plain'), { code: 0, output: /"error":"policy_denied"/ }, 'plain HTTP gets the JSON reason');
    t.match(probe('metadata_via_proxy'), { output: /"error":"(policy|ssrf)_denied"/ }, 'metadata through the proxy is refused by the proxy');
  });

  t.test('every bypass attempt fails, and fails fast', async (t) => {
    for (const name of BYPASSES) {
      const r = probe(name);
      t.not(r.code, 0, `${name} fails: ${r.output}`);
      t.not(r.code, 124, `${name} is refused rather than left hanging`);
      t.notMatch(r.output, /CONNECTED|ANSWER|DECOY/, `${name} reached nothing`);
    }
    for (const name of BYPASSES.filter((n) => n.startsWith('tcp_'))) {
      t.match(probe(name).output, /ConnectionRefusedError|unreachable|No route to host|Cannot assign|Connection reset/i, `${name} gets an immediate refusal`);
    }
    t.match(probe('raw_icmp').output, /PermissionError|Operation not permitted/, 'raw sockets refused');
    t.match(probe('raw_packet').output, /PermissionError|Operation not permitted/, 'packet sockets refused');
    t.same(decoys.tcpHits, [], 'no TCP connection reached a host decoy');
    t.same(decoys.udpHits, [], 'no UDP datagram reached a host decoy');
  });

  await prepared.remove();
  const tables = await listFirewallTables();
  t.notOk(tables.includes(prepared.name), 'firewall removed with the sandbox');
}
