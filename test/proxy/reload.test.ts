import t from 'tap';
import tls from 'node:tls';
import net from 'node:net';
import { startWorld, get } from './fixtures.js';

const allowBoth = (p: { api: number; other: number }) => `
version: 1
network_policies:
  api:
    endpoints: [{ host: api.example.test, port: ${p.api} }]
  other:
    endpoints: [{ host: other.example.test, port: ${p.other} }]
`;
const allowApiOnly = (p: { api: number }) => `
version: 1
network_policies:
  api:
    endpoints: [{ host: api.example.test, port: ${p.api}, protocol: rest, access: read-only }]
`;

t.test('hot reload: valid replaces, invalid is rejected and the last good stays', async (t) => {
  const world = await startWorld(allowBoth);
  t.teardown(() => world.close());
  const agent = (await import('./fixtures.js')).agentFor(world);
  t.teardown(() => agent.close());

  t.equal((await get(world, `https://other.example.test:${world.other.port}/`, { agent })).status, 200);
  t.equal((await get(world, `https://api.example.test:${world.api.port}/`, { agent, method: 'POST', body: 'x' })).status, 200);

  // Hold a raw-ish tunnel to other.example.test open across the reload.
  const tunnel = await openTunnel(world.sluice.port, `other.example.test:${world.other.port}`, world.sluice.caCertPem);

  const loaded = await world.sluice.writePolicy(allowApiOnly({ api: world.api.port }));
  t.equal(loaded.activity, 'loaded');
  await new Promise((r) => setTimeout(r, 50));
  t.ok(tunnel.destroyed || (await closedSoon(tunnel)), 'the tunnel the new policy forbids was closed');

  // The keep-alive connection of `agent` to api.example.test is re-checked on every request.
  const post = await get(world, `https://api.example.test:${world.api.port}/`, { agent, method: 'POST', body: 'x' });
  t.equal(post.status, 403, 'keep-alive connection sees the new L7 rules');
  await t.rejects(get(world, `https://other.example.test:${world.other.port}/`), 'other.example.test is refused at CONNECT now');
  t.equal((await get(world, `https://api.example.test:${world.api.port}/`)).status, 200, 'api.example.test GET still works');

  const rejected = await world.sluice.writePolicy('version: 1\nnetwork_policies:\n  x:\n    endpoints: [{ host: "*", port: 443 }]\n    bogus: 1\n');
  t.equal(rejected.activity, 'rejected');
  t.ok(rejected.errors && rejected.errors.length >= 2, 'every error is reported');
  t.match(rejected.errors?.join('\n') ?? '', /policy\.yaml:\d+:\d+: /, 'errors carry file:line:col');
  t.equal((await get(world, `https://api.example.test:${world.api.port}/`)).status, 200, 'the last good policy stays in force');
  const events = (await world.sluice.readAudit()).filter((e) => e.class_uid === 5019);
  t.ok(events.length >= 3, 'loaded, reloaded and rejected are audited');
});

async function openTunnel(proxyPort: number, authority: string, ca: string): Promise<tls.TLSSocket> {
  const socket = net.connect(proxyPort, '127.0.0.1');
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  await new Promise<void>((resolve, reject) => {
    socket.once('data', (d: Buffer) => (d.toString().startsWith('HTTP/1.1 200') ? resolve() : reject(new Error(d.toString()))));
  });
  const secure = tls.connect({ socket, servername: authority.split(':')[0], ca });
  await new Promise<void>((resolve, reject) => {
    secure.once('secureConnect', resolve);
    secure.once('error', reject);
  });
  secure.on('error', () => undefined);
  return secure;
}

function closedSoon(s: tls.TLSSocket): Promise<boolean> {
  return new Promise((resolve) => {
    if (s.destroyed) return resolve(true);
    const timer = setTimeout(() => resolve(false), 2000);
    s.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}
