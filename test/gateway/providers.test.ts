import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ProxyAgent, request } from 'undici';
import { createEventBus } from '../../core/index.js';
import { createCredentials } from '../../credentials/index.js';
import { startTestGateway } from '../helpers/gateway.js';
import type { TestGateway } from '../helpers/gateway.js';
import { tempDir } from '../helpers/sluice.js';
import { createTestCA } from '../helpers/tls.js';
import { startUpstream } from '../helpers/upstream.js';
import type { Upstream } from '../helpers/upstream.js';

// Real sandboxes and sluice processes: the file's wall time follows the shared machine's load
// (over the default 120 s at a load average of 25), as test/cli/run.test.ts found.
t.setTimeout(360_000);
/**
 * Providers through the API: names and bindings, never a value; a secret re-read from its source
 * on request, after which the new value is what reaches the upstream.
 */
const HOST = 'svc.example.com';
let gw: TestGateway;
let upstream: Upstream;
let dir: string;
let secretFile: string;
let caPem: string;

t.before(async () => {
  dir = tempDir();
  secretFile = path.join(dir, 'svc.key');
  fs.writeFileSync(secretFile, 'first-secret-value-0123456789\n', { mode: 0o600 });
  const ca = await createTestCA();
  caPem = ca.caPem;
  upstream = await startUpstream({ cert: await ca.issue([HOST]) });
  const policyYaml = `version: 1
network_policies:
  svc: { endpoints: [{ host: ${HOST}, port: ${upstream.port} }] }
providers:
  svc:
    from: file:./svc.key
    endpoints: [{ host: ${HOST}, port: ${upstream.port} }]
    inject: { header: x-api-key }
    env: SVC_KEY
  github: { from: env:GITHUB_TOKEN }
`;
  fs.writeFileSync(path.join(dir, 'policy.yaml'), policyYaml);
  gw = await startTestGateway({ policyFile: path.join(dir, 'policy.yaml'), upstreamCA: [caPem], resolve: { [HOST]: '127.0.0.1' }, env: { GITHUB_TOKEN: 'ghp_realgithubtokenvalue0123456789abcdef' } });
});
t.teardown(async () => {
  await gw?.close();
  await upstream?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

t.test('bindings, never values', async (t) => {
  const res = await gw.call('GET', '/v1/providers');
  t.equal(res.status, 200);
  const providers = res.json.providers as Array<Record<string, unknown>>;
  t.same(providers.map((p) => p.name), ['svc', 'github']);
  t.match(providers[0], { from: 'file:./svc.key', env: ['SVC_KEY'], inject: { header: 'x-api-key' }, endpoints: [{ host: HOST, port: upstream.port }] });
  t.match(providers[1], { from: 'env:GITHUB_TOKEN', env: ['GITHUB_TOKEN', 'GH_TOKEN'], placeholder_prefix: 'ghp_', inject: { header: 'authorization' } });
  t.notMatch(res.text, /first-secret|realgithubtoken/, 'no secret in the answer');
});

t.test('reload: the secret is read again from its source', async (t) => {
  const credentials = await createCredentials({ svc: { from: 'env:X', endpoints: [{ host: HOST }], inject: { header: 'x-api-key' }, env: 'SVC_KEY' } }, { home: gw.home, env: {}, bus: createEventBus(), placeholdersOnly: true });
  const placeholder = credentials.envFor('default').SVC_KEY!;
  credentials.close();
  const agent = new ProxyAgent({ uri: gw.gateway.url, requestTls: { ca: fs.readFileSync(gw.gateway.caCertPath, 'utf8') } });
  t.teardown(() => agent.close());
  const call = async () => {
    const res = await request(`https://${HOST}:${upstream.port}/key`, { dispatcher: agent, headers: { 'x-api-key': placeholder } });
    await res.body.text();
    return upstream.requests.at(-1)!.headers['x-api-key'];
  };
  t.equal(await call(), 'first-secret-value-0123456789', 'the placeholder becomes the secret from the file');
  fs.writeFileSync(secretFile, 'second-secret-value-9876543210\n', { mode: 0o600 });
  t.equal(await call(), 'first-secret-value-0123456789', 'until reloaded, the old value is used');
  const reloaded = await gw.call('POST', '/v1/providers/svc/reload');
  t.same(reloaded.json, { provider: 'svc', reloaded: [{ listener: 'default', ok: true }] });
  t.equal(await call(), 'second-secret-value-9876543210', 'after the reload, the new one');
  fs.chmodSync(secretFile, 0o644);
  const refused = await gw.call('POST', '/v1/providers/svc/reload');
  t.match(refused.json, { reloaded: [{ listener: 'default', ok: false, error: /svc/ }] }, 'a source that cannot be read is reported, naming the provider');
  t.notMatch(refused.text, /second-secret/, 'and not the value');
  t.equal(await call(), 'second-secret-value-9876543210', 'the last good secret stays in force');
  t.equal((await gw.call('POST', '/v1/providers/nope/reload')).status, 404);
});
