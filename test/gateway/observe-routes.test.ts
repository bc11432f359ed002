import fs from 'node:fs';
import t from 'tap';
import { Agent, request } from 'undici';
import { createToken } from '../../gateway/index.js';
import { startTestGateway } from '../helpers/gateway.js';

/**
 * GET /v1/status and POST /v1/policy/suggest on a real gateway: what they answer, what they
 * refuse (bad bodies with every problem, unknown sandboxes, no token), and that proposing a
 * change changes nothing.
 */
const gw = await startTestGateway({
  api: { host: '127.0.0.1', port: 0 },
  policyYaml: 'version: 1\nnetwork_policies:\n  docs:\n    endpoints: [{ host: docs.example.com, port: 443, protocol: rest, access: read-only }]\n',
});
const tls = new Agent({ connect: { ca: fs.readFileSync(gw.gateway.caCertPath, 'utf8') } });
t.teardown(async () => {
  await tls.close();
  await gw.close();
});

async function tcp(method: string, route: string, token: string | undefined, body?: unknown) {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await request(`${gw.gateway.apiUrl}${route}`, { method: method as 'GET', dispatcher: tls, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
}

t.test('status: the listeners, their tunnels and backends, the sandboxes', async (t) => {
  const res = await gw.call('GET', '/v1/status');
  t.equal(res.status, 200);
  t.match(res.json, { version: /^\d+\.\d+\.\d+/, audit_file: gw.gateway.auditFile, listeners: [{ name: 'default', url: gw.gateway.url, open_tunnels: 0, backends: {} }], sandboxes: [] });
  t.equal((await tcp('GET', '/v1/status', undefined)).status, 401, 'needs a token on TCP');
});

t.test('suggest: the smallest change as a diff, applied by nobody', async (t) => {
  const { token } = await createToken(gw.home, 'read', 'suggest');
  const before = (await gw.call('GET', '/v1/policy')).json.yaml;
  const res = await tcp('POST', '/v1/policy/suggest', token, { denials: [{ code: 'l7_denied', host: 'docs.example.com', port: 443, method: 'POST', path: '/v1/pages/7' }, { code: 'policy_denied', host: 'api.github.com', port: 443, method: 'GET', path: '/repos/o/r' }] });
  t.equal(res.status, 200, JSON.stringify(res.json));
  t.equal(res.json.target, 'default');
  t.equal(res.json.changed, true);
  t.match(res.json.diff, /^--- policy\.yaml\n\+\+\+ policy\.yaml\n@@/);
  t.match(res.json.yaml, /host: api\.github\.com/);
  const changes = (res.json.changes as string[]).join('\n');
  t.match(changes, /docs\.example\.com:443.*allow POST \/v1\/pages\//, 'the read-only endpoint gains the write it was refused');
  t.match(changes, /new endpoint \{ host: api\.github\.com, port: 443 \} allowing GET \/repos\/o\/r/);
  t.equal((await gw.call('GET', '/v1/policy')).json.yaml, before, 'the policy in force is unchanged');

  const same = await tcp('POST', '/v1/policy/suggest', token, { denials: [{ code: 'policy_denied', host: 'docs.example.com', port: 443 }] });
  t.match(same.json, { changed: false, diff: '', yaml: before }, 'what is already allowed proposes nothing');
});

t.test('suggest refuses what it cannot read, with every problem', async (t) => {
  const bad = await gw.call('POST', '/v1/policy/suggest', { denials: [{ code: 'policy_denied', host: '', port: 70000, path: 'no-slash' }], extra: 1 });
  t.equal(bad.status, 400);
  t.match(bad.json.reason, /denials\.0\.host/);
  t.match(bad.json.reason, /denials\.0\.port/);
  t.match(bad.json.reason, /denials\.0\.path/);
  t.match(bad.json.reason, /extra|Unrecognized/);
  t.equal((await gw.call('POST', '/v1/policy/suggest', { denials: [] })).status, 400, 'no denials: nothing to plan');
  const ghost = await gw.call('POST', '/v1/policy/suggest', { sandbox: 'ghost', denials: [{ code: 'policy_denied', host: 'api.github.com', port: 443 }] });
  t.equal(ghost.status, 404);
  t.equal((await tcp('POST', '/v1/policy/suggest', undefined, { denials: [{ code: 'policy_denied', host: 'a.example.com', port: 443 }] })).status, 401);
});
