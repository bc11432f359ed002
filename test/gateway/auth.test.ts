import fs from 'node:fs';
import t from 'tap';
import { Agent, request } from 'undici';
import { createToken, revokeToken } from '../../gateway/index.js';
import { startTestGateway } from '../helpers/gateway.js';
import type { TestGateway } from '../helpers/gateway.js';

/**
 * The API on TCP: TLS from Sluice's CA, and every call needs a bearer token whose scope covers
 * it. Tried as an attacker would: no token, a wrong one, a revoked one, a read token writing.
 * Every refusal is a JSON reason and an audit record; no token value reaches the log.
 */
let gw: TestGateway;
let tls: Agent;
let admin: string;
let reader: string;
let readerId: string;

t.before(async () => {
  gw = await startTestGateway({ api: { host: '127.0.0.1', port: 0 } });
  admin = (await createToken(gw.home, 'admin', 'ci')).token;
  const r = await createToken(gw.home, 'read', 'dashboard');
  reader = r.token;
  readerId = r.info.id;
  tls = new Agent({ connect: { ca: fs.readFileSync(gw.gateway.caCertPath, 'utf8') } });
});
t.teardown(async () => {
  await tls?.close();
  await gw?.close();
});

async function call(method: string, route: string, token: string | undefined, body?: string) {
  const headers: Record<string, string> = token === undefined ? {} : { authorization: token };
  if (body !== undefined) headers['content-type'] = 'application/yaml';
  const res = await request(`${gw.gateway.apiUrl}${route}`, { method: method as 'GET', dispatcher: tls, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

const policy = 'version: 1\nnetwork_policies: {}\n';

t.test('TLS: the certificate is Sluice CA\'s and names the address', async (t) => {
  t.match(gw.gateway.apiUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
  const untrusting = new Agent();
  t.teardown(() => untrusting.close());
  await t.rejects(request(`${gw.gateway.apiUrl}/v1/health`, { dispatcher: untrusting }), /certificate/, 'a client that does not trust the CA refuses it');
  t.equal((await call('GET', '/v1/health', undefined)).status, 200, 'health needs no token');
});

t.test('no token, a malformed one, a wrong one: 401 with a reason', async (t) => {
  for (const [label, token] of [
    ['no token', undefined],
    ['a Basic header', `Basic ${Buffer.from('sluice:x').toString('base64')}`],
    ['garbage', 'Bearer nope'],
    ['a forged secret', `Bearer ${admin.slice(0, -2)}xx`],
    ["the unix socket's idea of an admin", 'Bearer unix-socket'],
  ] as const) {
    const res = await call('GET', '/v1/sandboxes', token);
    t.equal(res.status, 401, label);
    t.equal(res.json.error, 'unauthorized', label);
    t.equal(res.headers['www-authenticate'], 'Bearer realm="sluice"');
    t.type(res.json.reason, 'string');
  }
});

t.test('read token: reads, and every write is 403', async (t) => {
  t.equal((await call('GET', '/v1/sandboxes', `Bearer ${reader}`)).status, 200);
  t.equal((await call('GET', '/v1/policy', `Bearer ${reader}`)).status, 200);
  for (const [method, route] of [['PUT', '/v1/policy'], ['POST', '/v1/sandboxes'], ['DELETE', '/v1/sandboxes/x'], ['POST', '/v1/sandboxes/x/stop'], ['PUT', '/v1/sandboxes/x/policy'], ['POST', '/v1/providers/p/reload']] as const) {
    const res = await call(method, route, `Bearer ${reader}`, method === 'PUT' ? policy : undefined);
    t.equal(res.status, 403, `${method} ${route}`);
    t.match(res.json, { error: 'forbidden', reason: /scope is read/ });
  }
  t.equal((await call('GET', '/v1/policy', undefined)).json.error, 'unauthorized');
});

t.test('admin token writes; a revoked token is refused at once', async (t) => {
  const put = await call('PUT', '/v1/policy', `Bearer ${admin}`, policy);
  t.equal(put.status, 200, JSON.stringify(put.json));
  t.ok(await revokeToken(gw.home, readerId));
  t.equal((await call('GET', '/v1/sandboxes', `Bearer ${reader}`)).status, 401, 'revoked');
});

t.test('refusals and writes are audited, naming the token by id, never by value', async (t) => {
  const records = (await gw.audit()).filter((r) => r.class_uid === 6003);
  const refused = records.filter((r) => r.status === 'Failure');
  t.ok(refused.length >= 12, `${refused.length} refusals recorded`);
  t.ok(refused.some((r) => (r.api as { response: { code: number } }).response.code === 401), '401s');
  t.ok(refused.some((r) => (r.api as { response: { code: number } }).response.code === 403 && JSON.stringify(r.actor).includes('dashboard')), '403s name the token');
  t.ok(records.some((r) => r.status === 'Success' && (r.api as { operation: string }).operation === 'PUT /v1/policy'), 'the admin write');
  const log = fs.readFileSync(gw.gateway.auditFile, 'utf8');
  // The secret is everything after `sluice_<id>_`: base64url has `_` in its alphabet, so it may hold one (a piece of it up to that `_` can be two characters long, and in the log by chance).
  for (const token of [admin, reader]) t.notOk(log.includes(token.split('_').slice(2).join('_')), 'no token secret in the audit log');
});
