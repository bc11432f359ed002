import t from 'tap';
import http from 'node:http';
import type { AttributeClient } from '../../core/index.js';
import { createSandboxAttribution } from '../../sandbox/index.js';
import { startTestSluice } from '../helpers/sluice.js';
import { curl, get, startWorld } from './fixtures.js';

/**
 * `binaries` through a real Sluice whose listener attributes its clients (the hook `sluice run`
 * installs). Here the "sandbox" is this test's own network namespace, so real clients are
 * attributed by the real code: curl is /usr/bin/curl, undici in this process is node. Then the
 * fail-closed path (a connection that cannot be attributed), the once-per-connection cost, and the
 * load warning for clients outside any sandbox.
 */
const policy = (p: { api: number; other: number; plain: number }) => `version: 1
network_policies:
  curl_api:
    endpoints: [{ host: api.example.test, port: ${p.api} }]
    binaries: [{ path: /usr/bin/curl }]
  curl_plain:
    endpoints: [{ host: plain.example.test, port: ${p.plain} }]
    binaries: [{ path: "/usr/bin/cu*" }]
  anyone:
    endpoints: [{ host: other.example.test, port: ${p.other} }]
`;

/** Plain HTTP in absolute form from this process (undici's ProxyAgent would CONNECT instead). */
function plainGet(world: { sluice: { host: string; port: number } }, url: string): Promise<{ status: number; json: () => Record<string, string> }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: world.sluice.host, port: world.sluice.port, path: url, headers: { host: new URL(url).host } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: () => JSON.parse(Buffer.concat(chunks).toString()) as Record<string, string> }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('real clients attributed: curl is named, node is not', async (t) => {
  const world = await startWorld(policy, { attributeClient: createSandboxAttribution({ init: async () => ({ pid: process.pid, supervisor: false }) }) });
  t.teardown(() => world.close());
  const api = `https://api.example.test:${world.api.port}`;
  t.equal((await curl(world, [`${api}/x`])).status, 200, 'curl reaches the host its policy names it for');
  const refused = await get(world, `${api}/x`).catch((err: Error) => err);
  t.ok(refused instanceof Error, 'node (undici) is refused at CONNECT');
  t.equal((await get(world, `https://other.example.test:${world.other.port}/y`)).status, 200, 'a policy without binaries admits every program');
  t.equal((await curl(world, [`http://plain.example.test:${world.plain.port}/p`])).status, 200, 'plain HTTP from curl (glob)');
  const plain = await plainGet(world, `http://plain.example.test:${world.plain.port}/p`);
  t.equal(plain.status, 403, 'plain HTTP from node is refused');
  t.match(plain.json().reason, /no network policy allows plain\.example\.test:\d+ for \/\S*node\S*: curl_plain \(binaries: \/usr\/bin\/cu\*\) allows it only for other programs/);
  const events = await world.sluice.readAudit();
  const connect = events.find((e) => e.class_uid === 4001 && e.action === 'Denied' && (e.dst_endpoint as { hostname?: string }).hostname === 'api.example.test');
  t.match(connect?.message, /for \/\S*node\S*: curl_api \(binaries: \/usr\/bin\/curl\)/, 'the CONNECT refusal names node and the policy that names curl');
});

t.test('fail closed: a connection that cannot be attributed meets only policies without binaries', async (t) => {
  let calls = 0;
  const attributeClient: AttributeClient = async () => {
    calls++;
    return { error: 'no process in the sandbox holds the connection' };
  };
  const world = await startWorld(policy, { attributeClient });
  t.teardown(() => world.close());
  const plain = await plainGet(world, `http://plain.example.test:${world.plain.port}/p`);
  t.equal(plain.status, 403);
  t.match(plain.json().reason, /for a program Sluice could not identify: curl_plain .* only for other programs; Sluice could not tell which program opened this connection: no process in the sandbox holds the connection/);
  t.equal(world.plain.requests.length, 0, 'nothing reached the upstream');
  const api = await curl(world, [`https://api.example.test:${world.api.port}/x`]);
  t.not(api.code, 0, 'curl too is refused at CONNECT: the hook could not say it is curl');
  t.equal(world.api.requests.length, 0);
  calls = 0;
  // one curl, two URLs on one host: one client connection, one CONNECT, two requests in it
  const other = `https://other.example.test:${world.other.port}`;
  t.equal((await curl(world, [`${other}/1`, `${other}/2`])).code, 0, 'a policy without binaries still applies');
  t.same(world.other.requests.map((r) => r.url), ['/1', '/2']);
  t.equal(calls, 1, 'attributed once per client connection (CONNECT and the requests inside it)');
});

t.test('attribution only where a policy names binaries; the load warning only outside sandboxes', async (t) => {
  let calls = 0;
  const attributeClient: AttributeClient = async () => {
    calls++;
    return { error: 'unused' };
  };
  const world = await startWorld((p) => `version: 1\nnetwork_policies:\n  a:\n    endpoints: [{ host: other.example.test, port: ${p.other} }]\n`, { attributeClient });
  t.teardown(() => world.close());
  t.equal((await get(world, `https://other.example.test:${world.other.port}/`)).status, 200);
  t.equal(calls, 0, 'no policy names binaries: no client is attributed');

  const scoped = 'version: 1\nnetwork_policies:\n  a:\n    endpoints: [{ host: api.example.com, port: 443 }]\n    binaries: [{ path: /usr/bin/git }]\n';
  const outside = await startTestSluice(scoped);
  t.teardown(() => outside.close());
  t.match(outside.warnings.join('\n'), /binaries are enforced only for sandboxes Sluice runs/, 'clients outside any sandbox: binaries load with a warning');
  const inside = await startTestSluice(scoped, { sandbox: 'sluice-test', attributeClient });
  t.teardown(() => inside.close());
  t.same(inside.warnings, [], 'a sandbox listener enforces them: no warning');
});
