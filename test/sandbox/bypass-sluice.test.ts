import t from 'tap';
import type { SandboxDriver } from '../../sandbox/index.js';
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
  for (const driver of drivers) {
    t.test(`${driver} with the real Sluice proxy`, (t) =>
      bypassSuite(t, driver, fixture, async (host) => {
        const sluice = await startTestSluice(policy, {
          upstreamCA: [fixture.caPem],
          resolve: { 'allowed.test': '127.0.0.1' },
          ...(driver === 'docker' ? { listen: { host, port: 0 } } : {}),
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
      }),
    );
  }
}
