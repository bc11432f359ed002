import t from 'tap';
import zlib from 'node:zlib';
import { ProxyAgent, request } from 'undici';
import { startWorld } from '../proxy/fixtures.js';
import type { World } from '../proxy/fixtures.js';
import { startTestDns } from '../helpers/dns.js';
import type { TestDns } from '../helpers/dns.js';
import { SECRETS } from '../credentials/context.js';
import { rawRequest } from './wire.js';

/**
 * Issue 16 item 8: egress DLP against ordinary encodings. A secret compressed with gzip, deflate or
 * brotli, percent-encoded in a form, JSON-escaped, in a path segment, or spelled as DNS labels of a
 * CONNECT target that a wildcard allows: each must be refused before any of it leaves (for host
 * names: before the name is even resolved).
 */
const AWS_ID = 'AKIAZ7QWERTYUIOPASD2';
const AWS_SECRET = 'aws_secret_access_key = "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"';
const PEM = '-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi1mFDFiMEbGSBlpMpGJgoLqyI8\nAZnCVnPqb4xJ0oYdkFhd3K8bcSlkTQIDAQABAoIBAQCqOjw7ZnJ3Bx5tK2N0pYk9\n-----END RSA PRIVATE KEY-----';

let world: World;
let dns: TestDns;
let agent: ProxyAgent;

t.before(async () => {
  dns = await startTestDns({});
  world = await startWorld((p) => `
version: 1
network_policies:
  api:
    endpoints:
      - { host: api.example.test, port: ${p.api} }
      - { host: "**.example.test", port: 443 }
providers:
  github: { from: "env:GITHUB_TOKEN", hosts: [api.github.com] }
`, { dns: dns.address, env: { GITHUB_TOKEN: SECRETS.GITHUB_TOKEN } });
  agent = new ProxyAgent({ uri: world.sluice.url, requestTls: { ca: world.sluice.caCertPem } });
});

t.teardown(async () => {
  await agent?.close();
  await world?.close();
  await dns?.close();
});

async function post(body: Buffer | string, headers: Record<string, string>, path = '/upload') {
  const before = world.api.requests.length;
  const res = await request(`https://api.example.test:${world.api.port}${path}`, { dispatcher: agent, method: 'POST', headers, body });
  const text = await res.body.text();
  return { status: res.statusCode, code: res.headers['x-sluice-error'], text, reached: world.api.requests.length - before };
}

t.test('compressed request bodies are decoded and scanned', async (t) => {
  const json = JSON.stringify({ note: 'backup', key: AWS_ID, more: 'x'.repeat(5000) });
  const cases: Array<[string, Buffer]> = [
    ['gzip', zlib.gzipSync(json)],
    ['x-gzip', zlib.gzipSync(json)],
    ['deflate', zlib.deflateSync(json)],
    ['br', zlib.brotliCompressSync(json)],
    ['gzip, br', zlib.brotliCompressSync(zlib.gzipSync(json))],
  ];
  for (const [coding, body] of cases) {
    const res = await post(body, { 'content-type': 'application/json', 'content-encoding': coding });
    t.equal(res.status, 403, coding);
    t.equal(res.code, 'dlp_blocked', coding);
    t.equal(res.reached, 0, `${coding}: nothing reached the upstream`);
  }
  const clean = await post(zlib.gzipSync(JSON.stringify({ note: 'nothing secret' })), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
  t.equal(clean.status, 200, 'a clean compressed body passes');
  t.equal(world.api.requests.at(-1)!.body.toString(), JSON.stringify({ note: 'nothing secret' }), 'forwarded decoded');
  t.notOk(world.api.requests.at(-1)!.headers['content-encoding'], 'without its Content-Encoding');
});

t.test('a body in a coding Sluice cannot decode is refused, not passed unseen', async (t) => {
  const res = await post(Buffer.from(`k=${AWS_ID}`), { 'content-type': 'text/plain', 'content-encoding': 'compress' });
  t.equal(res.status, 415);
  t.equal(res.code, 'encoding_unsupported');
  t.equal(res.reached, 0);
});

t.test('percent-encoded and JSON-escaped secrets in bodies', async (t) => {
  const percent = (s: string) => [...Buffer.from(s)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
  const unicode = (s: string) => [...s].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
  const cases: Array<[string, string, string]> = [
    ['form, fully percent-encoded AWS key id', `user=a&key=${percent(AWS_ID)}`, 'application/x-www-form-urlencoded'],
    ['form, percent-encoded AWS secret assignment', `cfg=${encodeURIComponent(AWS_SECRET)}`, 'application/x-www-form-urlencoded'],
    ['form, percent-encoded private key', `file=${encodeURIComponent(PEM)}`, 'application/x-www-form-urlencoded'],
    ['JSON, \\u-escaped AWS key id', `{"key":"${unicode(AWS_ID)}"}`, 'application/json'],
    ['JSON, private key with \\n escapes', JSON.stringify({ pem: PEM }), 'application/json'],
    ['JSON, percent-encoded inside a string', `{"url":"https://x.example/?k=${percent(AWS_ID)}"}`, 'application/json'],
  ];
  for (const [name, body, type] of cases) {
    // Spread over many small chunks: each escape may be cut in two.
    const chunks = body.match(/[\s\S]{1,7}/g)!.map((c) => Buffer.from(c));
    const res = await post(Buffer.concat(chunks), { 'content-type': type });
    t.equal(res.code, 'dlp_blocked', name);
    t.equal(res.reached, 0, `${name}: nothing reached the upstream`);
  }
});

t.test('a secret in a path segment is refused', async (t) => {
  for (const path of [`/files/${AWS_ID}/raw`, `/files/${encodeURIComponent(AWS_ID).replace('A', '%41')}`]) {
    const res = await post('x', { 'content-type': 'text/plain' }, path);
    t.equal(res.code, 'dlp_blocked', path);
    t.equal(res.reached, 0);
  }
});

t.test('secrets in a CONNECT host name are refused before the name is resolved', async (t) => {
  const names = [
    `${AWS_ID}.example.test`,
    `${AWS_ID.toLowerCase()}.example.test`,
    `${SECRETS.GITHUB_TOKEN.toLowerCase().replaceAll('_', '-')}.example.test`.replace('ghp-', 'ghp_'),
    `${SECRETS.GITHUB_TOKEN.slice(0, 20)}.${SECRETS.GITHUB_TOKEN.slice(20)}.example.test`,
    `${Buffer.from(SECRETS.GITHUB_TOKEN).toString('hex').slice(0, 60)}.${Buffer.from(SECRETS.GITHUB_TOKEN).toString('hex').slice(60)}.example.test`,
  ];
  for (const name of names) {
    const res = await rawRequest(world.sluice.port, `CONNECT ${name}:443 HTTP/1.1\r\nHost: ${name}:443\r\n\r\n`);
    t.equal(res.status, 403, name);
    t.match(res.headers['x-sluice-error'], /^(dlp_blocked|secret_exfiltration)$/, name);
  }
  const queried = dns.queries.map((q) => q.split('/')[0]!);
  t.same(queried.filter((q) => names.some((n) => n.toLowerCase() === q)), [], 'no DNS query carried any of them');
  const innocent = await rawRequest(world.sluice.port, 'CONNECT innocent.example.test:443 HTTP/1.1\r\nHost: innocent.example.test:443\r\n\r\n');
  t.equal(innocent.headers['x-sluice-error'], 'dns_failed', 'an innocent name under the wildcard is resolved (and fails here: NXDOMAIN)');
  t.ok(dns.queries.some((q) => q.startsWith('innocent.example.test/')), 'the test DNS saw that one');
});
