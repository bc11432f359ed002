import t from 'tap';
import net from 'node:net';
import tls from 'node:tls';
import { startWorld } from './fixtures.js';
import type { World } from './fixtures.js';

let world: World;
t.before(async () => {
  world = await startWorld((p) => `
version: 1
network_policies:
  api:
    endpoints: [{ host: api.example.test, port: ${p.api} }, { host: other.example.test, port: ${p.api} }]
`);
});
t.teardown(() => world.close());

function exchange(data: string | Buffer, opts: { waitMs?: number } = {}): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(world.sluice.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString()));
    socket.on('error', () => resolve(Buffer.concat(chunks).toString()));
    socket.write(data);
    setTimeout(() => socket.destroy(), opts.waitMs ?? 1500);
  });
}

t.test('malformed input gets a clear 4xx and the proxy keeps serving', async (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ['garbage', 'this is not http\r\n\r\n', /^HTTP\/1\.1 400/],
    ['origin-form to the proxy', 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', /^HTTP\/1\.1 400[\s\S]*absolute-form/],
    ['bad CONNECT target', 'CONNECT nohost HTTP/1.1\r\nHost: x\r\n\r\n', /^HTTP\/1\.1 400/],
    ['CONNECT with userinfo', 'CONNECT user@api.example.test:443 HTTP/1.1\r\n\r\n', /^HTTP\/1\.1 400/],
    ['CONNECT port out of range', 'CONNECT api.example.test:99999 HTTP/1.1\r\n\r\n', /^HTTP\/1\.1 400/],
    ['https in absolute form', 'GET https://api.example.test/ HTTP/1.1\r\nHost: api.example.test\r\n\r\n', /^HTTP\/1\.1 400[\s\S]*CONNECT/],
    ['invalid host chars', 'GET http://exa mple.com/ HTTP/1.1\r\n\r\n', /^HTTP\/1\.1 400/],
  ];
  for (const [name, input, expected] of cases) {
    const out = await exchange(input);
    t.match(out, expected, name);
  }
  const huge = `GET http://api.example.test/ HTTP/1.1\r\nHost: api.example.test\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`;
  const out = await exchange(huge);
  t.match(out, /^HTTP\/1\.1 431/, 'an oversized head is answered 431');
  t.match(out, /headers_too_large/);
  const still = await exchange(`CONNECT api.example.test:${world.api.port} HTTP/1.1\r\n\r\n`, { waitMs: 300 });
  t.match(still, /^HTTP\/1\.1 200/, 'still serving');
});

t.test("inside a tunnel, the Host header must agree with the tunnel's host", async (t) => {
  const socket = net.connect(world.sluice.port, '127.0.0.1');
  socket.write(`CONNECT api.example.test:${world.api.port} HTTP/1.1\r\n\r\n`);
  await new Promise((r) => socket.once('data', r));
  const secure = tls.connect({ socket, servername: 'api.example.test', ca: world.sluice.caCertPem });
  await new Promise((r) => secure.once('secureConnect', r));
  t.equal(secure.getPeerX509Certificate()?.subjectAltName, 'DNS:api.example.test', 'leaf names the tunnel host');
  const chunks: Buffer[] = [];
  secure.on('data', (c: Buffer) => chunks.push(c));
  secure.write(`GET / HTTP/1.1\r\nHost: other.example.test:${world.api.port}\r\n\r\n`);
  await new Promise((r) => setTimeout(r, 500));
  secure.destroy();
  const text = Buffer.concat(chunks).toString();
  t.match(text, /^HTTP\/1\.1 421/);
  t.match(text, /host_mismatch/);
  t.equal(world.api.requests.length, 0, 'nothing was forwarded');
});

t.test('an upstream certificate Sluice cannot verify is a 502 with a JSON reason', async (t) => {
  const { createTestCA } = await import('../helpers/tls.js');
  const { startUpstream } = await import('../helpers/upstream.js');
  const { startTestSluice } = await import('../helpers/sluice.js');
  const { ProxyAgent, request } = await import('undici');
  const rogue = await createTestCA('Rogue CA');
  const up = await startUpstream({ cert: await rogue.issue(['api.example.test']) });
  const wrongName = await startUpstream({ cert: await world.ca.issue(['not-this-host.test']) });
  const sluice = await startTestSluice(
    `version: 1\nnetwork_policies:\n  a:\n    endpoints: [{ host: api.example.test, port: ${up.port} }, { host: api.example.test, port: ${wrongName.port} }]\n`,
    { upstreamCA: [world.ca.caPem], resolve: { 'api.example.test': '127.0.0.1' } },
  );
  t.teardown(async () => {
    await sluice.close();
    await up.close();
    await wrongName.close();
  });
  const agent = new ProxyAgent({ uri: sluice.url, requestTls: { ca: sluice.caCertPem } });
  t.teardown(() => agent.close());
  for (const port of [up.port, wrongName.port]) {
    const res = await request(`https://api.example.test:${port}/`, { dispatcher: agent });
    const body = (await res.body.json()) as Record<string, unknown>;
    t.equal(res.statusCode, 502);
    t.equal(body.error, 'upstream_tls_failed');
    t.match(String(body.reason), /not trusted|certificate/);
  }
  t.equal(up.requests.length + wrongName.requests.length, 0, 'no request reached an unverified upstream');
});

t.test('the cap on concurrent connections holds by shedding the longest-idle one; idle clients are cut after the idle timeout', async (t) => {
  const { startTestSluice } = await import('../helpers/sluice.js');
  const sluice = await startTestSluice('version: 1\nnetwork_policies: {}\n', { limits: { maxConnections: 2, idleTimeoutMs: 500 } });
  t.teardown(() => sluice.close());
  const open = () =>
    new Promise<net.Socket>((resolve) => {
      const s = net.connect(sluice.port, '127.0.0.1', () => resolve(s));
      s.on('error', () => undefined);
    });
  const closedWithin = (s: net.Socket, ms: number) =>
    new Promise<boolean>((resolve) => {
      if (s.destroyed) return resolve(true);
      const timer = setTimeout(() => resolve(false), ms);
      s.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  const a = await open();
  const b = await open();
  await new Promise((r) => setTimeout(r, 50));
  const c = await open();
  t.ok(await closedWithin(a, 1000), 'the third connection takes the slot of the one idle longest');
  t.notOk(b.destroyed || c.destroyed, 'the other two stay');
  t.equal(sluice.server.openConnections, 2, 'never more than the cap');
  t.ok(await closedWithin(b, 3000), 'an idle connection is closed after the idle timeout');
  c.destroy();
});
