import t from 'tap';
import zlib from 'node:zlib';
import type http from 'node:http';
import { ProxyAgent, request } from 'undici';
import { createTestCA } from '../helpers/tls.js';
import { startUpstream } from '../helpers/upstream.js';
import type { Upstream } from '../helpers/upstream.js';
import { startTestSluice } from '../helpers/sluice.js';
import type { TestSluice } from '../helpers/sluice.js';
import { SECRETS, leakedSecrets } from '../credentials/context.js';

/**
 * Issue 16 item 3: the real key read back from responses, and placeholders replaced where the
 * provider does not take its key. The upstream here plays api.github.com gone rogue: it echoes
 * the Authorization header it received gzip-, deflate- or brotli-compressed whatever
 * Accept-Encoding said, base64-wrapped at 60 columns the way GitHub's contents API wraps files
 * (at every offset, so that a line break falls at every position of the key), JSON-escaped,
 * percent-encoded, or one byte per write. The sandbox side must never see the key.
 */
const TOKEN = SECRETS.GITHUB_TOKEN;

function wrap60(b64: string, newline: string): string {
  return b64.match(/.{1,60}/g)!.join(newline);
}

function echo(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'https://x');
  const auth = String(req.headers.authorization ?? '');
  const key = auth.replace(/^Bearer /, '');
  const json = (body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(200, { 'content-type': 'application/json', ...headers });
    return JSON.stringify(body);
  };
  const shift = Number(url.searchParams.get('shift') ?? 0);
  const padded = Buffer.concat([Buffer.alloc(shift, 0x41), Buffer.from(`token: ${key}\n`), Buffer.alloc(17, 0x42)]);
  switch (url.pathname) {
    case '/gzip':
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      return void res.end(zlib.gzipSync(JSON.stringify({ auth })));
    case '/deflate':
      res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'deflate' });
      return void res.end(zlib.deflateSync(`auth=${auth}`));
    case '/deflate-raw':
      res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'deflate' });
      return void res.end(zlib.deflateRawSync(`auth=${auth}`));
    case '/br':
      res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'br' });
      return void res.end(zlib.brotliCompressSync(`auth=${auth}`));
    case '/gzip-br':
      res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip, br' });
      return void res.end(zlib.brotliCompressSync(zlib.gzipSync(`auth=${auth}`)));
    case '/compress':
      res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'compress' });
      return void res.end(`auth=${auth}`);
    case '/contents':
      // GitHub's contents API: base64 with a "\n" (JSON escape) every 60 characters.
      return void res.end(json({ encoding: 'base64', content: `${wrap60(padded.toString('base64'), '\n')}\n` }));
    case '/contents-raw':
      res.writeHead(200, { 'content-type': 'text/plain' });
      return void res.end(wrap60(padded.toString('base64'), '\r\n'));
    case '/contents-php':
      // PHP's json_encode writes "/" as "\/".
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(`{"content":"${wrap60(padded.toString('base64'), '\\n').replaceAll('/', '\\/')}"}`);
    case '/unicode':
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(`{"all":"${[...key].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}","one":"${key.slice(0, 9)}\\u00${key.charCodeAt(9).toString(16)}${key.slice(10)}"}`);
    case '/percent':
      res.writeHead(200, { 'content-type': 'text/plain' });
      return void res.end(`k=${[...key].map((c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).join('')}`);
    case '/trickle': {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const bytes = Buffer.from(`{"auth":"${auth}"}`);
      let i = 0;
      const next = (): void => {
        if (i < bytes.length) res.write(bytes.subarray(i, ++i), () => setImmediate(next));
        else res.end();
      };
      return next();
    }
    default:
      return void res.end(json({ url: req.url, auth }));
  }
}

let upstream: Upstream;
let sluice: TestSluice;
let agent: ProxyAgent;
let placeholder: string;
const seenByUpstream: string[] = [];

t.before(async () => {
  const ca = await createTestCA();
  upstream = await startUpstream({
    cert: await ca.issue(['api.github.com']),
    handler: (req, res) => {
      seenByUpstream.push(`${req.url} ${JSON.stringify(req.headers)}`);
      echo(req, res);
    },
  });
  sluice = await startTestSluice(`
version: 1
network_policies:
  github:
    endpoints:
      - { host: api.github.com, port: ${upstream.port} }
privacy:
  egress: { default: off }
providers:
  github: { from: "env:GITHUB_TOKEN", endpoints: [{ host: api.github.com, port: ${upstream.port} }] }
`, { upstreamCA: [ca.caPem], resolve: { 'api.github.com': '127.0.0.1' }, env: { GITHUB_TOKEN: TOKEN } });
  placeholder = sluice.pipeline.envFor('default').GITHUB_TOKEN!;
  agent = new ProxyAgent({ uri: sluice.url, requestTls: { ca: sluice.caCertPem } });
});

t.teardown(async () => {
  await agent?.close();
  await sluice?.close();
  await upstream?.close();
});

async function get(path: string, headers: Record<string, string> = { authorization: `Bearer ${placeholder}` }) {
  const res = await request(`https://api.github.com:${upstream.port}${path}`, { dispatcher: agent, headers: { 'accept-encoding': 'gzip, deflate, br', ...headers } });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, body };
}

/** Every reading a client could make of a body: as it is, JSON-decoded, base64 of any field, percent-decoded. */
function readings(body: Buffer, encoding: string | string[] | undefined): string[] {
  let raw = body;
  // Whatever coding the client is handed, it can undo: so does the check.
  for (const coding of String(encoding ?? '').split(',').map((c) => c.trim()).filter(Boolean).reverse()) {
    if (coding === 'gzip') raw = zlib.gunzipSync(raw);
    else if (coding === 'br') raw = zlib.brotliDecompressSync(raw);
    else if (coding === 'deflate') raw = (raw[0]! & 0x0f) === 8 ? zlib.inflateSync(raw) : zlib.inflateRawSync(raw);
  }
  const text = raw.toString('latin1');
  const out = [text, text.replace(/\r?\n|\\n/g, '')];
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    for (const v of Object.values(parsed)) {
      if (typeof v !== 'string') continue;
      out.push(v, Buffer.from(v.replace(/\s/g, ''), 'base64').toString('latin1'));
    }
  } catch {
    out.push(Buffer.from(text.replace(/\s/g, ''), 'base64').toString('latin1'));
  }
  try {
    out.push(decodeURIComponent(text));
  } catch {
    // not percent-encoded
  }
  return out;
}

t.test('the placeholder is replaced at the injection point and the upstream gets the key', async (t) => {
  const res = await get('/plain');
  t.equal(res.status, 200);
  t.match(seenByUpstream.at(-1), `Bearer ${TOKEN}`, 'the upstream received the real key');
  t.same(leakedSecrets(readings(res.body, res.headers['content-encoding']).join('\n')), [], 'the echo came back scrubbed');
});

t.test('compressed echoes are decoded and scrubbed, whatever Accept-Encoding said', async (t) => {
  for (const path of ['/gzip', '/deflate', '/deflate-raw', '/br', '/gzip-br']) {
    const res = await get(path);
    t.equal(res.status, 200, path);
    t.notOk(res.headers['content-encoding'], `${path}: passed on decoded`);
    t.same(leakedSecrets(readings(res.body, res.headers['content-encoding']).join('\n')), [], `${path}: no key`);
    t.match(res.body.toString(), /ghp_|\[REDACTED/, `${path}: the echo is there, with the placeholder or a marker`);
  }
});

t.test('an encoding Sluice cannot decode is refused, not passed on', async (t) => {
  const res = await get('/compress');
  t.equal(res.status, 502);
  t.equal(res.headers['x-sluice-error'], 'upstream_error');
  t.same(leakedSecrets(res.body.toString()), []);
});

t.test('base64 wrapped at 60 columns, at every offset, raw or in JSON', async (t) => {
  let leaked = 0;
  for (const path of ['/contents', '/contents-raw', '/contents-php']) {
    for (let shift = 0; shift < 90; shift++) {
      const res = await get(`${path}?shift=${shift}`);
      if (leakedSecrets(readings(res.body, res.headers['content-encoding']).join('\n')).length > 0) {
        leaked++;
        t.fail(`${path} shift ${shift} leaked`);
      }
    }
  }
  t.equal(leaked, 0, 'no offset leaked the key');
});

t.test('JSON \\u escapes, percent-encoding and a one-byte-per-write stream', async (t) => {
  for (const path of ['/unicode', '/percent', '/trickle']) {
    const res = await get(path);
    t.equal(res.status, 200, path);
    t.same(leakedSecrets(readings(res.body, res.headers['content-encoding']).join('\n')), [], `${path}: no key`);
  }
});

t.test('a placeholder outside the injection point is refused, even toward its own host', async (t) => {
  const before = seenByUpstream.length;
  const attempts: Array<[string, string, Record<string, string>]> = [
    ['query value', `/plain?access_token=${placeholder}`, {}],
    ['path segment', `/echo/${placeholder}`, {}],
    ['another header', '/plain', { 'x-echo-me': placeholder }],
    ['a cookie', '/plain', { cookie: `t=${placeholder}` }],
  ];
  for (const [name, path, headers] of attempts) {
    const res = await get(path, headers);
    t.equal(res.status, 403, name);
    t.equal(res.headers['x-sluice-error'], 'credential_endpoint_mismatch', name);
  }
  t.equal(seenByUpstream.length, before, 'none of them reached the upstream');
  t.same(leakedSecrets(seenByUpstream.slice(0, before).filter((s) => !s.includes('authorization')).join('\n')), [], 'the key went nowhere but the Authorization header');
});

t.test('a fully percent-encoded or JSON-escaped real key in a header is refused', async (t) => {
  const percent = [...TOKEN].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('');
  const unicode = [...TOKEN].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
  const spellings: Array<[string, string]> = [['percent-encoded', percent], ['\\u-escaped', unicode]];
  for (const [name, value] of spellings) {
    const res = await get('/plain', { 'x-data': value });
    t.equal(res.status, 403, name);
    t.equal(res.headers['x-sluice-error'], 'secret_exfiltration', name);
  }
});
