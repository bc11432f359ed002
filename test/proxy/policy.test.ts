import t from 'tap';
import { startWorld, get, curl, run } from './fixtures.js';
import type { World } from './fixtures.js';

const policy = (p: { api: number; other: number; plain: number }) => `
version: 1
network_policies:
  api:
    endpoints:
      - host: api.example.test
        port: ${p.api}
        protocol: rest
        access: read-only
        deny_rules:
          - { method: GET, path: "/secret/**" }
  wildcard:
    endpoints:
      - host: "*.example.test"
        port: ${p.other}
  plain:
    endpoints:
      - host: plain.example.test
        port: ${p.plain}
        protocol: rest
        rules:
          - allow: { method: GET, path: "/ok/**" }
          - allow: { method: POST, path: "/ok/submit" }
`;

let world: World;
t.before(async () => {
  world = await startWorld(policy);
});
t.teardown(() => world.close());

t.test('an allowed HTTPS host is intercepted and forwarded (undici ProxyAgent)', async (t) => {
  const res = await get(world, `https://api.example.test:${world.api.port}/hello?x=1`);
  t.equal(res.status, 200);
  const echo = res.json();
  t.equal(echo.url, '/hello?x=1');
  t.equal((echo.headers as Record<string, string>).host, `api.example.test:${world.api.port}`);
  t.notOk((echo.headers as Record<string, string>)['proxy-authorization'], 'Proxy-* headers are stripped');
});

t.test('read-only preset: GET and HEAD pass, POST gets the 403 JSON', async (t) => {
  const head = await get(world, `https://api.example.test:${world.api.port}/x`, { method: 'HEAD' });
  t.equal(head.status, 200);
  const post = await get(world, `https://api.example.test:${world.api.port}/x`, { method: 'POST', body: '{}' });
  t.equal(post.status, 403);
  t.equal(post.headers['content-type'], 'application/json');
  t.equal(post.headers['x-sluice-error'], 'l7_denied');
  const body = post.json();
  t.equal(body.error, 'policy_denied', "the body speaks OpenShell's code; X-Sluice-Error keeps Sluice's finer one");
  t.equal(body.host, 'api.example.test');
  t.equal(body.port, world.api.port);
  t.equal(body.method, 'POST');
  t.equal(body.path, '/x');
  t.equal(body.policy, 'api');
  t.type(body.reason, 'string');
  t.ok((body.reason as string).length > 10, 'the reason is words, not a code');
  t.equal(body.layer, 'l7');
  t.same(body.rule_missing, { type: 'rest_allow', layer: 'l7', method: 'POST', path: '/x', host: 'api.example.test', port: world.api.port });
  t.ok(Array.isArray(body.next_steps) && (body.next_steps as unknown[]).length > 0, 'next_steps');
  t.match(body.agent_guidance, /- allow: \{ method: POST, path: \/x \}/, 'agent_guidance names the exact YAML that would allow it');
});

t.test('deny_rules win over the access preset', async (t) => {
  const res = await get(world, `https://api.example.test:${world.api.port}/secret/keys`);
  t.equal(res.status, 403);
  t.equal(res.json().error, 'policy_denied');
  t.equal(res.headers['x-sluice-error'], 'l7_denied');
  t.match(res.json().agent_guidance, /deny rule/, 'guidance names the deny rule, not an allow to add');
  const encoded = await get(world, `https://api.example.test:${world.api.port}/public/..%2F..%2Fsecret/keys`);
  t.equal(encoded.status, 400, 'an encoded slash is refused outright (no allow_encoded_slash)');
  t.equal(encoded.json().error, 'path_invalid');
  t.notOk(world.api.requests.some((r) => r.url.includes('secret')), 'no secret path reached the upstream');
  const dots = await get(world, `https://api.example.test:${world.api.port}/public/../secret/keys`);
  t.equal(dots.status, 403, 'dot-segments are resolved before matching');
});

t.test('a host no policy names is denied at CONNECT with the 403 JSON (curl)', async (t) => {
  const res = await curl(world, ['-v', `https://evil.example.test:${world.api.port}/`]);
  t.not(res.code, 0, 'curl fails: the tunnel never opens');
  t.match(res.stderr, /403/);
  t.match(res.stderr, /< proxy-status: sluice; error=http_request_denied; details="policy_denied: no network policy allows evil\.example\.test/i, 'curl -v shows why (RFC 9209 Proxy-Status)');
  t.match(res.stderr, /< x-sluice-error: policy_denied/i);
  t.notOk(world.api.requests.some((r) => r.url === '/' && r.headers.host?.startsWith('evil')), 'nothing reached the upstream');
});

t.test('wildcard *.example.test matches one label only, on its port', async (t) => {
  const one = await get(world, `https://a.example.test:${world.other.port}/w`);
  t.equal(one.status, 200);
  const deep = await curl(world, [`https://deep.sub.example.test:${world.other.port}/w`]);
  t.not(deep.code, 0, 'two labels do not match *');
  const wrongPort = await curl(world, [`https://a.example.test:${world.api.port}/w`]);
  t.not(wrongPort.code, 0, 'the wildcard endpoint does not cover other ports');
});

t.test('plain HTTP forwarding with L7 rules (absolute-form)', async (t) => {
  const ok = await curl(world, [`http://plain.example.test:${world.plain.port}/ok/thing`]);
  t.equal(ok.status, 200);
  t.equal(JSON.parse(ok.body).url, '/ok/thing');
  const post = await curl(world, ['-X', 'POST', '-d', 'a=1', `http://plain.example.test:${world.plain.port}/ok/submit`]);
  t.equal(post.status, 200);
  const denied = await curl(world, [`http://plain.example.test:${world.plain.port}/other`]);
  t.equal(denied.status, 403);
  t.equal(JSON.parse(denied.body).error, 'policy_denied');
});

t.test("Python's urllib through HTTPS_PROXY", async (t) => {
  const script = `
import json, os, ssl, urllib.request, urllib.error, sys
ctx = ssl.create_default_context(cafile=os.environ['CA'])
opener = urllib.request.build_opener(urllib.request.ProxyHandler({'https': os.environ['HTTPS_PROXY']}), urllib.request.HTTPSHandler(context=ctx))
out = {}
out['ok'] = json.loads(opener.open(sys.argv[1]).read())['url']
try:
    opener.open(urllib.request.Request(sys.argv[1], data=b'x', method='POST'))
except urllib.error.HTTPError as e:
    out['denied'] = [e.code, json.loads(e.read())['error']]
print(json.dumps(out))
`;
  const { stdout } = await run('python3', ['-c', script, `https://api.example.test:${world.api.port}/py`], {
    env: { ...process.env, HTTPS_PROXY: world.sluice.url, CA: world.sluiceCaFile, NO_PROXY: '' },
  });
  const out = JSON.parse(stdout) as { ok: string; denied: [number, string] };
  t.equal(out.ok, '/py');
  t.same(out.denied, [403, 'policy_denied']);
});

t.test('every decision is in the audit log, without query strings', async (t) => {
  await get(world, `https://api.example.test:${world.api.port}/audited?token=abc123`);
  const events = (await world.sluice.readAudit());
  const text = JSON.stringify(events);
  t.notMatch(text, /abc123/, 'no query string in the audit log');
  t.ok(events.some((e) => e.class_uid === 4002), 'HTTP activity events');
  t.ok(events.some((e) => e.class_uid === 4001), 'network activity events');
  t.ok(events.some((e) => e.class_uid === 5019), 'policy loaded event');
});
