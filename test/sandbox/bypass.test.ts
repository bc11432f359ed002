import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { buildBaseImage, ensureDocker, measureStartup, prepareSandbox, type SandboxDriver } from '../../sandbox/index.js';
import { listFirewallTables } from '../../sandbox/firewall.js';
import { listSandboxNetworks } from '../../sandbox/netns.js';
import { OPENAI_ANSWER, startBypassFixture, startDecoys } from './bypass-fixture.js';
import { runProbes, type ProbeResult } from './run-probes.js';
import { startStandInProxy } from './stand-in-proxy.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const nodeModules = path.resolve(here, '../../node_modules');
const drivers: SandboxDriver[] = ['bwrap', 'docker'];

if (process.getuid?.() !== 0) {
  t.plan(0, 'bypass suite needs root: it creates network namespaces, veth pairs and nftables rules (CI runs it as root)');
} else {
  const fixture = await startBypassFixture();
  t.teardown(() => fixture.close());

  for (const driver of drivers) {
    t.test(`${driver}: only the proxy is reachable`, async (t) => {
      if (driver === 'docker') {
        await ensureDocker();
        await buildBaseImage();
      }
      const prepared = await prepareSandbox({
        driver,
        name: `bypass-${driver}-${process.pid}`,
        command: ['bash', path.join(here, 'probes.sh')],
        env: {
          SLUICE_TEST_DIR: here,
          SLUICE_NODE_MODULES: nodeModules,
          OPENAI_API_KEY: 'sk-sluice-placeholder',
        },
        filesystem: { read_only: [here, path.join(nodeModules, 'openai')] },
        limits: { pids: 256, memoryMb: 1024 },
      });
      const proxyHost = prepared.proxyListen.host;
      const decoys = await startDecoys([proxyHost, fixture.hostAddr]);
      const proxy = await startStandInProxy({ host: proxyHost, allow: { 'allowed.test:443': fixture.upstream.port } });
      t.teardown(async () => {
        await prepared.remove();
        await proxy.close();
        await decoys.close();
      });
      const results = await runProbes(prepared, {
        proxy: { host: proxy.host, port: proxy.port, caCertPem: fixture.caPem, authToken: `tok-${driver}` },
        env: {
          HOST_IP: proxyHost,
          PROXY_PORT: String(proxy.port),
          HOST_ADDR: fixture.hostAddr,
          OTHER_PORT: String(decoys.tcpPort),
          UDP_PORT: String(decoys.udpPort),
          OTHERNS_IP: fixture.otherNs.sandboxIp,
          OTHERNS_PORT: String(fixture.otherNsPort),
        },
      });
      const probe = (name: string): ProbeResult => results.get(name) ?? { code: -1, output: 'probe did not run' };

      t.test('allowed traffic goes through the proxy with no code changes', async (t) => {
        t.match(probe('curl_allowed'), { code: 0, output: /"url":"\/curl"/ }, 'curl');
        t.match(probe('python_allowed'), { code: 0, output: /"url":"\/python"/ }, 'python urllib');
        t.match(probe('git_allowed'), { code: 0, output: new RegExp(`${fixture.git.head}\\s+HEAD`) }, 'git ls-remote over HTTPS');
        t.match(probe('node_fetch_allowed'), { code: 0, output: /"url":"\/node"/ }, 'node fetch (preload)');
        t.match(probe('openai_allowed'), { code: 0, output: OPENAI_ANSWER }, 'openai SDK');
        t.ok(proxy.seen.includes('allowed.test:443'), 'the proxy saw the allowed host');
        const basic = `Basic ${Buffer.from(`sluice:tok-${driver}`).toString('base64')}`;
        t.ok(proxy.auth.length > 0 && proxy.auth.every((a) => a === basic), 'every client sent the sandbox token as Proxy-Authorization');
      });

      t.test('a denied host gets the 403 JSON from the proxy', async (t) => {
        t.match(probe('curl_denied'), { output: /\b403\b/ }, 'CONNECT to a denied host is refused with 403');
        t.match(probe('curl_denied_plain'), { code: 0, output: /"code":"policy_denied"/ }, 'plain HTTP gets the JSON reason');
        t.not(probe('curl_denied').code, 0, 'curl exits non-zero');
        t.match(probe('metadata_via_proxy'), { output: /"code":"policy_denied"/ }, 'metadata through the proxy is denied by the proxy');
      });

      t.test('every bypass attempt fails, and fails fast', async (t) => {
        const bypasses = [
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
          'raw_icmp',
          'raw_packet',
          'noproxy_curl',
          'noproxy_curl_resolve',
          'noproxy_python',
          'noproxy_node',
          'noproxy_node_direct_ip',
        ];
        for (const name of bypasses) {
          const r = probe(name);
          t.not(r.code, 0, `${name} fails: ${r.output}`);
          t.not(r.code, 124, `${name} is refused rather than left hanging`);
          t.notMatch(r.output, /CONNECTED|ANSWER|DECOY/, `${name} reached nothing`);
        }
        t.match(probe('tcp_proxy_control'), { code: 0, output: /CONNECTED/ }, 'control: the TCP probe does connect to the proxy port');
        for (const name of bypasses.filter((n) => n.startsWith('tcp_'))) {
          t.match(probe(name).output, /ConnectionRefusedError|unreachable|No route to host|Cannot assign|Connection reset/i, `${name} gets an immediate refusal`);
        }
        t.match(probe('raw_icmp').output, /PermissionError|Operation not permitted/, 'raw sockets refused by seccomp/capabilities');
        t.match(probe('raw_packet').output, /PermissionError|Operation not permitted/, 'packet sockets refused');
        t.same(decoys.tcpHits, [], 'no TCP connection reached a host decoy');
        t.same(decoys.udpHits, [], 'no UDP datagram reached a host decoy');
      });

      await prepared.remove();
      if (driver === 'bwrap') {
        const networks = await listSandboxNetworks();
        const tables = await listFirewallTables();
        t.notOk(networks.some((n) => n !== fixture.otherNs.name && tables.includes(n)), 'no firewall table left for a removed sandbox');
      }
    });
  }

  t.test('start-up time', async (t) => {
    for (const driver of drivers) {
      const figures = await measureStartup(driver, 3);
      t.comment(`${driver} start-up (create → first instruction of CMD): median ${figures.medianMs.toFixed(0)} ms, samples ${figures.samples.map((s) => s.toFixed(0)).join(', ')}; teardown ${figures.teardownMedianMs.toFixed(0)} ms`);
      t.equal(figures.samples.length, 3, `${driver}: every start-up run completed`);
    }
  });
}
