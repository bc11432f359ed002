import { execFile } from 'node:child_process';
import fs from 'node:fs';
import t from 'tap';
import { ProxyAgent, request } from 'undici';
import { createEventBus } from '../../core/index.js';
import { createCredentials } from '../../credentials/index.js';
import { cliEnv, readFrames, SLUICE_BIN, startTestGateway, uniqueName } from '../helpers/gateway.js';
import type { TestGateway } from '../helpers/gateway.js';
import { createTestCA } from '../helpers/tls.js';
import { startUpstream } from '../helpers/upstream.js';
import type { Upstream } from '../helpers/upstream.js';

// Real sandboxes and sluice processes: the file's wall time follows the shared machine's load
// (over the default 120 s at a load average of 25), as test/cli/run.test.ts found.
t.setTimeout(360_000);
/**
 * Sandbox identity on a shared gateway is bound to what the sandbox cannot choose: the listener
 * it can reach. These are the attacks: a sandbox dialling another sandbox's listener or the
 * shared one, or presenting another sandbox's credential and placeholder on its own listener.
 * On the shared listener, a host client proves a name with the credential `sluice env` prints.
 */
const HOST = 'id.example.com';
const SECRET = 'identity-test-secret-0123456789';
let gw: TestGateway;
let upstream: Upstream;

const providers = (port: number) => `providers:
  svc:
    from: env:SVC_SECRET
    endpoints: [{ host: ${HOST}, port: ${port} }]
    inject: { header: x-api-key }
    env: SVC_KEY
`;

t.before(async () => {
  const ca = await createTestCA();
  upstream = await startUpstream({ cert: await ca.issue([HOST]) });
  gw = await startTestGateway({
    policyYaml: `version: 1\nnetwork_policies:\n  id: { endpoints: [{ host: ${HOST}, port: ${upstream.port} }] }\n${providers(upstream.port)}`,
    upstreamCA: [ca.caPem],
    resolve: { [HOST]: '127.0.0.1' },
    env: { SVC_SECRET: SECRET },
  });
});
t.teardown(async () => {
  await gw?.close();
  await upstream?.close();
});

async function placeholdersFor(name: string): Promise<{ key: string; token: string }> {
  const c = await createCredentials({ svc: { from: 'env:X', endpoints: [{ host: HOST }], inject: { header: 'x-api-key' }, env: 'SVC_KEY' } }, { home: gw.home, env: {}, bus: createEventBus(), placeholdersOnly: true });
  const out = { key: c.envFor(name).SVC_KEY!, token: c.proxyTokenFor(name) };
  c.close();
  return out;
}

t.test('shared listener: the name `sluice env` prints is proven by its credential; forgeries get 407', async (t) => {
  const env = await new Promise<string>((resolve, reject) => execFile(SLUICE_BIN, ['env', '--sandbox', 'hostagent', '--proxy', gw.gateway.url, '--policy', `${gw.home}/policy.yaml`], { env: cliEnv({ SLUICE_HOME: gw.home }) }, (err, stdout) => (err ? reject(err) : resolve(stdout))));
  const vars = Object.fromEntries(env.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  const mine = await placeholdersFor('hostagent');
  t.equal(vars.SVC_KEY, mine.key);
  t.match(vars.HTTPS_PROXY, /^http:\/\/sluice:hostagent%3A[A-Za-z0-9_-]{43}@127\.0\.0\.1:\d+$/);
  const ca = fs.readFileSync(gw.gateway.caCertPath, 'utf8');
  const url = `https://${HOST}:${upstream.port}/`;
  const proven = new URL(vars.HTTPS_PROXY!);
  const agent = new ProxyAgent({ uri: `${proven.protocol}//${proven.host}`, token: `Basic ${Buffer.from(`${decodeURIComponent(proven.username)}:${decodeURIComponent(proven.password)}`).toString('base64')}`, requestTls: { ca } });
  t.teardown(() => agent.close());
  const ok = await request(url, { dispatcher: agent, headers: { 'x-api-key': mine.key } });
  await ok.body.text();
  t.equal(ok.statusCode, 200, 'its own placeholder works under its own name');
  t.equal(upstream.requests.at(-1)!.headers['x-api-key'], SECRET);
  const other = await placeholdersFor('victim');
  const forged = new ProxyAgent({ uri: gw.gateway.url, token: `Basic ${Buffer.from(`sluice:victim:${mine.token}`).toString('base64')}`, requestTls: { ca } });
  t.teardown(() => forged.close());
  await t.rejects(request(url, { dispatcher: forged, headers: { 'x-api-key': other.key } }), /407/, "claiming another name with one's own credential: 407");
});

if (process.getuid?.() !== 0) {
  t.test('sandboxes', { skip: 'needs root here (network namespaces, nftables); CI runs this as root' }, () => undefined);
} else {
  t.test("a sandbox cannot reach another's listener or the shared one, nor use another's credential and placeholder", async (t) => {
    const victim = `sluice-${uniqueName('victim')}`;
    const created = await gw.call('POST', '/v1/sandboxes', { name: victim, command: ['sleep', '60'] });
    t.equal(created.status, 201);
    const victimProxy = created.json.proxy as { host: string; port: number };
    const stolen = await placeholdersFor(victim);
    const shared = new URL(gw.gateway.url);
    const attacker = `sluice-${uniqueName('attacker')}`;
    const curl = `curl -sS --max-time 5 -o /dev/null -w '%{http_code}'`;
    const script = [
      `echo "VIA_VICTIM=$(${curl} -x http://${victimProxy.host}:${victimProxy.port} -H "x-api-key: $STOLEN_KEY" https://${HOST}:${upstream.port}/ 2>&1)"`,
      `echo "VIA_SHARED=$(${curl} -x http://127.0.0.1:${shared.port} -H "x-api-key: $STOLEN_KEY" https://${HOST}:${upstream.port}/ 2>&1)"`,
      `echo "CLAIMED=$(curl -sS --max-time 5 -x "$HTTPS_PROXY" --proxy-user "sluice:${victim}:$STOLEN_TOKEN" -H "x-api-key: $STOLEN_KEY" https://${HOST}:${upstream.port}/claimed 2>&1)"`,
      `echo "OWN=$(${curl} -H "x-api-key: $SVC_KEY" https://${HOST}:${upstream.port}/own 2>&1)"`,
    ].join('\n');
    t.equal((await gw.call('POST', '/v1/sandboxes', { name: attacker, command: ['sh', '-c', script], env: { STOLEN_KEY: stolen.key, STOLEN_TOKEN: stolen.token } })).status, 201);
    await gw.call('GET', `/v1/sandboxes/${attacker}/wait`);
    const { stdout } = readFrames((await gw.call('GET', `/v1/sandboxes/${attacker}/logs`)).bytes);
    const line = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(stdout)?.[1] ?? '';
    t.match(line('VIA_VICTIM'), /^000|Couldn't connect|Connection refused|reset/, `the victim's listener is unreachable: ${line('VIA_VICTIM')}`);
    t.match(line('VIA_SHARED'), /^000|Couldn't connect|Connection refused|reset/, `the shared listener is unreachable: ${line('VIA_SHARED')}`);
    t.match(line('CLAIMED'), /credential_unknown/, "on its own listener, the victim's credential changes nothing: the placeholder is refused");
    t.equal(line('OWN'), '200', 'its own placeholder works');
    t.notOk(upstream.requests.some((r) => r.url === '/claimed'), 'nothing stolen reached the upstream');
    await gw.call('DELETE', `/v1/sandboxes/${victim}?force=true`);
    await gw.call('DELETE', `/v1/sandboxes/${attacker}`);
  });
}
