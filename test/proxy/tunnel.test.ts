import t from 'tap';
import net from 'node:net';
import crypto from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { startWorld, curl } from './fixtures.js';

t.test('tls: skip tunnels raw: the client sees the upstream certificate, bytes flow both ways intact', async (t) => {
  // A TCP server that speaks first (like SSH or SMTP), then echoes a hash of what it receives.
  const banner = 'HELLO-FROM-UPSTREAM\n';
  const server = net.createServer((s) => {
    s.write(banner);
    const hash = crypto.createHash('sha256');
    let n = 0;
    s.on('data', (d: Buffer) => {
      hash.update(d);
      n += d.length;
      if (n >= 8 * 1024 * 1024) s.end(`${hash.digest('hex')}\n`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const rawPort = (server.address() as AddressInfo).port;
  const world = await startWorld((p) => `
version: 1
network_policies:
  skip:
    endpoints:
      - { host: api.example.test, port: ${p.api}, tls: skip }
      - { host: other.example.test, port: ${rawPort}, tls: skip }
`);
  t.teardown(async () => {
    await world.close();
    server.close();
  });

  // curl with only the upstream's CA: it works only if Sluice did not intercept.
  const res = await curl(world, ['--cacert', '/dev/null', '--capath', '/nonexistent', '--cacert', await (async () => {
    const fs = await import('node:fs');
    const f = `${world.dir}/upstream-ca.pem`;
    fs.writeFileSync(f, world.ca.caPem);
    return f;
  })(), `https://api.example.test:${world.api.port}/raw`]);
  t.equal(res.status, 200, res.stderr);
  t.equal(JSON.parse(res.body).url, '/raw');

  const socket = net.connect(world.sluice.port, '127.0.0.1');
  socket.write(`CONNECT other.example.test:${rawPort} HTTP/1.1\r\n\r\n`);
  const received: Buffer[] = [];
  socket.on('data', (d: Buffer) => received.push(d));
  await new Promise((r) => setTimeout(r, 300));
  const head = Buffer.concat(received).toString();
  t.match(head, /^HTTP\/1\.1 200/);
  t.match(head, /HELLO-FROM-UPSTREAM/, 'what the upstream says first reaches the client');
  const payload = crypto.randomBytes(8 * 1024 * 1024);
  socket.write(payload);
  await new Promise<void>((resolve) => socket.once('end', () => resolve()));
  const text = Buffer.concat(received).toString();
  t.match(text, crypto.createHash('sha256').update(payload).digest('hex'), '8 MiB upload arrives byte for byte');
  socket.destroy();
});

t.test('a large download through an intercepted tunnel arrives intact', async (t) => {
  const blob = crypto.randomBytes(12 * 1024 * 1024);
  const { createTestCA } = await import('../helpers/tls.js');
  const { startUpstream } = await import('../helpers/upstream.js');
  const { startTestSluice } = await import('../helpers/sluice.js');
  const ca = await createTestCA();
  const up = await startUpstream({ cert: await ca.issue(['big.example.test']), handler: (_q, res) => res.end(blob) });
  const sluice = await startTestSluice(`version: 1\nnetwork_policies:\n  b:\n    endpoints: [{ host: big.example.test, port: ${up.port} }]\n`, { upstreamCA: [ca.caPem], resolve: { 'big.example.test': '127.0.0.1' } });
  t.teardown(async () => {
    await sluice.close();
    await up.close();
  });
  const { ProxyAgent, request } = await import('undici');
  const agent = new ProxyAgent({ uri: sluice.url, requestTls: { ca: sluice.caCertPem } });
  t.teardown(() => agent.close());
  const res = await request(`https://big.example.test:${up.port}/`, { dispatcher: agent });
  const got = Buffer.from(await res.body.arrayBuffer());
  t.equal(got.length, blob.length);
  t.ok(got.equals(blob), 'byte for byte');
});

t.test("curl's large upload (Expect: 100-continue) through interception", async (t) => {
  const fs = await import('node:fs');
  const { createTestCA } = await import('../helpers/tls.js');
  const { startUpstream } = await import('../helpers/upstream.js');
  const { startTestSluice, tempDir } = await import('../helpers/sluice.js');
  const { run } = await import('./fixtures.js');
  const ca = await createTestCA();
  const up = await startUpstream({ cert: await ca.issue(['api.example.test']), handler: (_q, res, body) => res.end(crypto.createHash('sha256').update(body).digest('hex')) });
  const sluice = await startTestSluice(`version: 1\nnetwork_policies:\n  a:\n    endpoints: [{ host: api.example.test, port: ${up.port} }]\n`, { upstreamCA: [ca.caPem], resolve: { 'api.example.test': '127.0.0.1' } });
  const dir = tempDir();
  t.teardown(async () => {
    await sluice.close();
    await up.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  // Plain prose, deterministic: nothing for the egress DLP to find.
  const blob = 'the quick brown fox jumps over the lazy dog\n'.repeat(72_000);
  fs.writeFileSync(`${dir}/blob.txt`, blob);
  fs.writeFileSync(`${dir}/ca.pem`, sluice.caCertPem);
  const { stdout } = await run('curl', ['-sS', '-x', sluice.url, '--cacert', `${dir}/ca.pem`, '--data-binary', `@${dir}/blob.txt`, '-w', '\n%{http_code}', `https://api.example.test:${up.port}/upload`]);
  const cut = stdout.lastIndexOf('\n');
  const [hash, code] = [stdout.slice(0, cut), stdout.slice(cut + 1)];
  t.equal(code, '200', hash);
  t.equal(hash, crypto.createHash('sha256').update(blob).digest('hex'), 'the upload arrived whole');
});

t.test('a client that hangs up cancels the upstream request', async (t) => {
  const { createTestCA } = await import('../helpers/tls.js');
  const { startUpstream } = await import('../helpers/upstream.js');
  const { startTestSluice } = await import('../helpers/sluice.js');
  const { ProxyAgent, request } = await import('undici');
  const ca = await createTestCA();
  let upstreamClosed: () => void = () => undefined;
  const closed = new Promise<void>((r) => (upstreamClosed = r));
  // Never answers; notices when the proxy drops the request.
  const up = await startUpstream({ cert: await ca.issue(['slow.example.test']), handler: (req) => req.socket.once('close', () => upstreamClosed()) });
  const sluice = await startTestSluice(`version: 1\nnetwork_policies:\n  s:\n    endpoints: [{ host: slow.example.test, port: ${up.port} }]\n`, { upstreamCA: [ca.caPem], resolve: { 'slow.example.test': '127.0.0.1' } });
  t.teardown(async () => {
    await sluice.close();
    await up.close();
  });
  const agent = new ProxyAgent({ uri: sluice.url, requestTls: { ca: sluice.caCertPem } });
  const ac = new AbortController();
  const pending = request(`https://slow.example.test:${up.port}/wait`, { dispatcher: agent, signal: ac.signal }).catch((e: unknown) => e);
  for (let i = 0; i < 100 && up.requests.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  t.equal(up.requests.length, 1, 'the request reached the upstream');
  ac.abort();
  await agent.destroy();
  const result = await Promise.race([closed.then(() => 'closed'), new Promise((r) => setTimeout(() => r('still open'), 3000))]);
  t.equal(result, 'closed', 'the upstream connection was dropped');
  await pending;
});
