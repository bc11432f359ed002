import t from 'tap';
import { measureStartup, type SandboxDriver } from '../../sandbox/index.js';
import { startBypassFixture } from './bypass-fixture.js';
import { bypassSuite } from './bypass-suite.js';
import { startStandInProxy } from './stand-in-proxy.js';

// Sandboxes started for real: the file's wall time follows the shared machine's load (30 s at a
// load average of 6, 115 s at 25: near the default 120 s).
t.setTimeout(360_000);
if (process.getuid?.() !== 0) {
  t.plan(0, 'bypass suite needs root: it creates network namespaces, veth pairs and nftables rules (CI runs it as root)');
} else {
  t.setTimeout(600_000); // many sandboxes, started one after another on shared CI cores
  const fixture = await startBypassFixture();
  t.teardown(() => fixture.close());

  const variants: Array<{ driver: SandboxDriver; label: string; extra?: Parameters<typeof bypassSuite>[4] }> = [
    { driver: 'bwrap', label: 'bwrap (veth network)' },
    { driver: 'bwrap', label: 'bwrap (unix-socket network, no root needed, as nobody)', extra: { bwrapNetwork: 'unix-socket', process: { run_as_user: '65534' } } },
    { driver: 'docker', label: 'docker' },
  ];
  for (const { driver, label, extra } of variants) {
    t.test(`${label} with a stand-in proxy on the sandbox-facing address`, (t) =>
      bypassSuite(t, driver, fixture, async (host) => {
        const proxy = await startStandInProxy({ host, allow: { 'allowed.test:443': fixture.upstream.port } });
        const token = `tok-${driver}`;
        return {
          endpoint: { host, port: proxy.port, caCertPem: fixture.caPem, authToken: token },
          allowedOrigin: 'https://allowed.test',
          check(t) {
            t.ok(proxy.seen.includes('allowed.test:443'), 'the proxy saw the allowed host');
            const basic = `Basic ${Buffer.from(`sluice:${token}`).toString('base64')}`;
            t.ok(proxy.auth.length > 0 && proxy.auth.every((a) => a === basic), 'every client sent the sandbox token as Proxy-Authorization');
          },
          close: () => proxy.close(),
        };
      }, extra),
    );
  }

  t.test('start-up time', async (t) => {
    const cases = [
      { label: 'bwrap (veth)', driver: 'bwrap' as const, opts: {} },
      { label: 'bwrap (unix-socket)', driver: 'bwrap' as const, opts: { bwrapNetwork: 'unix-socket' as const } },
      { label: 'docker', driver: 'docker' as const, opts: {} },
    ];
    for (const { label, driver, opts } of cases) {
      const figures = await measureStartup(driver, 3, opts);
      t.comment(
        `${label} start-up (create → first instruction of CMD): median ${figures.medianMs.toFixed(0)} ms, ` +
          `samples ${figures.samples.map((s) => s.toFixed(0)).join(', ')}; teardown ${figures.teardownMedianMs.toFixed(0)} ms`,
      );
      t.equal(figures.samples.length, 3, `${label}: every start-up run completed`);
    }
  });
}
