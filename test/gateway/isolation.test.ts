import fs from 'node:fs';
import t from 'tap';
import { createEventBus } from '../../core/index.js';
import { createCredentials } from '../../credentials/index.js';
import { buildBaseImage, ensureDocker } from '../../sandbox/index.js';
import type { SandboxDriver } from '../../sandbox/index.js';
import { readFrames, startTestGateway, uniqueName } from '../helpers/gateway.js';
import type { TestGateway } from '../helpers/gateway.js';
import { createTestCA } from '../helpers/tls.js';
import { startUpstream } from '../helpers/upstream.js';
import type { Upstream } from '../helpers/upstream.js';

// Real sandboxes and sluice processes: the file's wall time follows the shared machine's load
// (over the default 120 s at a load average of 25), as test/cli/run.test.ts found.
t.setTimeout(360_000);
/**
 * Ten sandboxes started at once on one gateway, each with a policy of its own (its own host, its
 * own credential provider): each reaches its host and not its neighbour's, holds only its own
 * placeholder, and cannot use its neighbour's placeholder even where its own would work.
 */
const COUNT = 10;
const secretOf = (i: number) => `svc-secret-${i}-${'q'.repeat(24)}`;
const hostOf = (i: number) => `s${i}.iso.example.com`;

function policyOf(i: number, port: number): string {
  return `version: 1
network_policies:
  own:
    endpoints: [{ host: ${hostOf(i)}, port: ${port} }]
providers:
  svc:
    from: env:SVC_SECRET_${i}
    endpoints: [{ host: ${hostOf(i)}, port: ${port} }]
    inject: { header: x-token }
    env: SVC_TOKEN
    placeholder: { prefix: svc_, length: 40 }
`;
}

const script = `
echo "ENV=$SVC_TOKEN"
echo "OWN=$(curl -sS -o /dev/null -w '%{http_code}' -H "x-token: $SVC_TOKEN" "https://$OWN:$PORT/own-$TAG" 2>&1)"
echo "NEIGHBOUR=$(curl -sS -o /dev/null -w '%{http_code}' "https://$NEXT:$PORT/neighbour-$TAG" 2>&1)"
echo "FOREIGN=$(curl -sS -H "x-token: $OTHER" "https://$OWN:$PORT/foreign-$TAG" 2>&1)"
`;

if (process.getuid?.() !== 0) {
  t.plan(0, 'the gateway runs sandboxes: needs root here; CI runs this as root');
} else {
  let gw: TestGateway;
  let upstream: Upstream;
  t.before(async () => {
    const ca = await createTestCA();
    upstream = await startUpstream({ cert: await ca.issue(Array.from({ length: COUNT }, (_, i) => hostOf(i))) });
    const env: Record<string, string> = { PATH: process.env.PATH ?? '' };
    const resolve: Record<string, string> = {};
    for (let i = 0; i < COUNT; i++) {
      env[`SVC_SECRET_${i}`] = secretOf(i);
      resolve[hostOf(i)] = '127.0.0.1';
    }
    gw = await startTestGateway({ upstreamCA: [ca.caPem], resolve, env });
  });
  t.teardown(async () => {
    await gw?.close();
    await upstream?.close();
  });

  for (const driver of ['bwrap', 'docker'] as SandboxDriver[]) {
    t.test(`${driver}: ten at once, each with its own policy and placeholders`, async (t) => {
      if (driver === 'docker') {
        await ensureDocker();
        await buildBaseImage();
      }
      const names = Array.from({ length: COUNT }, (_, i) => `sluice-${uniqueName(`${driver[0]}${i}`)}`);
      // What each sandbox should hold, derived as `sluice env` would from the same state key.
      const credentials = await createCredentials({ svc: { from: 'env:X', endpoints: [{ host: 'x.example.com' }], inject: { header: 'x-token' }, env: 'SVC_TOKEN', placeholder: { prefix: 'svc_', length: 40 } } }, { home: gw.home, env: {}, bus: createEventBus(), placeholdersOnly: true });
      const placeholders = names.map((n) => credentials.envFor(n).SVC_TOKEN!);
      credentials.close();
      t.equal(new Set(placeholders).size, COUNT, 'ten different placeholders');

      const created = await Promise.all(names.map((name, i) => gw.call('POST', '/v1/sandboxes', {
        name,
        driver,
        command: ['sh', '-c', script],
        policy: policyOf(i, upstream.port),
        env: { TAG: `${driver}-${i}`, OWN: hostOf(i), NEXT: hostOf((i + 1) % COUNT), PORT: String(upstream.port), OTHER: placeholders[(i + 1) % COUNT]! },
      })));
      for (const c of created) t.equal(c.status, 201, c.text);
      const proxies = created.map((c) => `${(c.json.proxy as { host: string }).host}:${(c.json.proxy as { port: number }).port}`);
      t.equal(new Set(proxies).size, COUNT, 'ten listeners, one per sandbox');

      for (let i = 0; i < COUNT; i++) {
        const name = names[i]!;
        t.equal((await gw.call('GET', `/v1/sandboxes/${name}/wait`)).json.exit_code, 0, `${name} ran`);
        const logs = await gw.call('GET', `/v1/sandboxes/${name}/logs`);
        const { stdout } = readFrames(logs.bytes);
        const line = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(stdout)?.[1] ?? '';
        t.equal(line('ENV'), placeholders[i], `${name} holds its own placeholder`);
        t.equal(line('OWN'), '200', `${name} reaches its own host`);
        t.match(line('NEIGHBOUR'), /403/, `${name} is refused its neighbour's host`);
        t.match(line('FOREIGN'), /credential_unknown/, `${name} cannot use its neighbour's placeholder`);
        const own = upstream.requests.find((r) => r.url === `/own-${driver}-${i}`);
        t.equal(own?.headers['x-token'], secretOf(i), `${name}'s own secret was injected, not another's`);
        t.notOk(upstream.requests.some((r) => r.url === `/neighbour-${driver}-${i}` || r.url === `/foreign-${driver}-${i}`), 'nothing refused reached the upstream');
        t.notOk(Array.from({ length: COUNT }, (_, j) => secretOf(j)).some((secret) => stdout.includes(secret)), `no real secret in ${name}'s output`);
        const policy = await gw.call('GET', `/v1/sandboxes/${name}/policy`);
        t.equal(policy.json.yaml, policyOf(i, upstream.port), `${name} has its own policy`);
      }
      const audit = fs.readFileSync(gw.gateway.auditFile, 'utf8');
      for (let j = 0; j < COUNT; j++) t.notOk(audit.includes(secretOf(j)), `secret ${j} is not in the audit log`);
      const records = (await gw.audit()).filter((r) => r.class_uid === 4002 && String((r.http_request as { url: { path: string } }).url.path).startsWith(`/own-${driver}-`));
      for (let i = 0; i < COUNT; i++) {
        const rec = records.find((r) => (r.http_request as { url: { path: string } }).url.path === `/own-${driver}-${i}`);
        t.equal((rec?.container as { name: string } | undefined)?.name, names[i], `the request to /own-${driver}-${i} is attributed to ${names[i]}`);
      }
      await Promise.all(names.map((n) => gw.call('DELETE', `/v1/sandboxes/${n}`)));
    });
  }
}
