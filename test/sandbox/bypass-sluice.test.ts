import t from 'tap';
import { buildBaseImage, type SandboxDriver } from '../../sandbox/index.js';
import { createNetworkPool } from '../../sandbox/network-pool.js';
import { startTestSluice } from '../helpers/sluice.js';
import { startBypassFixture } from './bypass-fixture.js';
import { bypassSuite } from './bypass-suite.js';

/**
 * The bypass suite against the real Sluice proxy. bwrap: Sluice on 127.0.0.1, which the
 * sandbox cannot reach, so the driver relays from the veth address (the `sluice up` case);
 * docker: Sluice listening on the bridge gateway itself (the in-process `sluice run` case).
 */
const drivers: SandboxDriver[] = ['bwrap', 'docker'];

if (process.getuid?.() !== 0) {
  t.plan(0, 'bypass suite needs root: it creates network namespaces, veth pairs and nftables rules (CI runs it as root)');
} else {
  t.setTimeout(600_000); // many sandboxes, started one after another on shared CI cores
  const fixture = await startBypassFixture();
  t.teardown(() => fixture.close());
  const port = fixture.upstream.port;
  const policy = `
version: 1
network_policies:
  allowed:
    endpoints:
      - { host: allowed.test, port: ${port} }
`;
  const cells: Array<{ driver: SandboxDriver; warm: boolean }> = [...drivers.map((driver) => ({ driver, warm: false })), { driver: 'docker', warm: true }];
  for (const { driver, warm } of cells) {
    // warm: the gateway's path, a network made ahead by the pool, whose holder container's
    // network namespace the sandbox's container joins (docker-network.ts startNetHolder)
    const pool = warm ? createNetworkPool({ size: 1, onError: (_d, err) => t.fail(`pool: ${(err as Error).message}`) }) : undefined;
    t.test(`${driver}${warm ? ' on a warm network' : ''} with the real Sluice proxy`, async (t) => {
      if (pool) {
        await buildBaseImage();
        pool.fill(driver);
        for (const deadline = Date.now() + 120_000; pool.ready(driver) < 1 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
        t.equal(pool.ready(driver), 1, 'a warm network is ready');
        t.teardown(() => pool.close());
      }
      return bypassSuite(t, driver, fixture, async (host, listenPort) => {
        const sluice = await startTestSluice(policy, {
          upstreamCA: [fixture.caPem],
          resolve: { 'allowed.test': '127.0.0.1' },
          ...(driver === 'docker' ? { listen: { host, port: listenPort ?? 0 } } : {}),
        });
        return {
          // Sluice's CA for intercepted TLS; the upstream's CA too, in case the policy tunnels
          // a shared listener: the sandbox proves its name with the credential Sluice issued for it
          endpoint: { host: sluice.host, port: sluice.port, caCertPem: `${sluice.caCertPem}\n${fixture.caPem}`, authToken: `sb-${driver}:${sluice.pipeline.proxyTokenFor(`sb-${driver}`)}` },
          allowedOrigin: `https://allowed.test:${port}`,
          check(t) {
            const events = JSON.stringify(sluice.auditEvents());
            t.match(events, /allowed\.test/, 'the audit log records the allowed host');
            t.match(events, /denied\.test/, 'and the denied one');
          },
          close: () => sluice.close(),
        };
      }, pool ? { pool } : {});
      if (warm) t.equal(pool?.ready(driver), 0, 'the sandbox ran on the warm network');
    });
  }
}
