import t from 'tap';
import type { Test } from 'tap';
import net from 'node:net';
import { startWorld, get } from '../proxy/fixtures.js';
import type { World } from '../proxy/fixtures.js';

/**
 * Issue 16 item 1: tunnels that never carry a byte. A client that sends CONNECT, reads the 200
 * and half-closes, or says nothing at all, must not hold a connection slot: enough of them
 * used to fill the connection cap and lock every later client out until a restart.
 * Bounded: a cap of 40 and a few hundred attacking connections, every wait has a deadline.
 */
const CAP = 40;

let world: World;
// A raw TCP upstream (tls: skip) that never closes its side: only Sluice can end those tunnels.
const rawServer = net.createServer({ allowHalfOpen: true }, (s) => s.on('error', () => undefined));

t.before(async () => {
  await new Promise<void>((resolve) => rawServer.listen(0, '127.0.0.1', resolve));
  const rawPort = (rawServer.address() as net.AddressInfo).port;
  world = await startWorld((p) => `
version: 1
network_policies:
  api:
    endpoints:
      - { host: api.example.test, port: ${p.api} }
      - { host: other.example.test, port: ${rawPort}, tls: skip }
`, { limits: { maxConnections: CAP, headersTimeoutMs: 1500 } });
});

t.teardown(async () => {
  await world?.close();
  rawServer.close();
});

/** Opens a CONNECT to the allowed host and resolves once the 200 has arrived. */
function openTunnel(authority = `api.example.test:${world.api.port}`): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(world.sluice.port, '127.0.0.1');
    let head = '';
    const onData = (d: Buffer) => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      if (/^HTTP\/1\.1 200/.test(head)) resolve(socket);
      else reject(new Error(`CONNECT answered ${head.split('\r\n')[0]}`));
    };
    socket.on('data', onData);
    // Errors after the 200 (the server resetting an evicted tunnel) are the attack's business.
    socket.on('error', reject);
    socket.once('close', () => reject(new Error('closed before the 200')));
    socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  });
}

/** Resolves with how many of `sockets` the server closed before the deadline. */
function closedByServer(sockets: net.Socket[], deadlineMs: number): Promise<number> {
  let closed = 0;
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(closed), deadlineMs);
    for (const s of sockets) {
      s.on('error', () => undefined);
      s.resume();
      const done = () => {
        closed++;
        if (closed === sockets.length) {
          clearTimeout(timer);
          resolve(closed);
        }
      };
      if (s.readableEnded || s.destroyed) done();
      else s.once('end', done);
    }
  });
}

async function legitimateRequestWorks(t: Test, label: string): Promise<void> {
  const res = await get(world, `https://api.example.test:${world.api.port}/after`);
  t.equal(res.status, 200, label);
}

t.test('half-closed tunnels are closed at once and free their slots', async (t) => {
  const attackers: net.Socket[] = [];
  // In waves below the cap, so that every one of them gets its 200 (the point is what happens after).
  for (let wave = 0; wave < 5; wave++) {
    const batch = await Promise.all(Array.from({ length: CAP - 5 }, () => openTunnel()));
    for (const s of batch) s.end();
    const closed = await closedByServer(batch, 5000);
    t.equal(closed, batch.length, `wave ${wave + 1}: the server closed every half-closed tunnel`);
    attackers.push(...batch);
  }
  for (const s of attackers) s.destroy();
  await legitimateRequestWorks(t, 'a client after 175 half-closed tunnels is served');
});

t.test('half-closed raw tunnels (tls: skip) are closed at once, though the upstream keeps its side open', async (t) => {
  const rawPort = (rawServer.address() as net.AddressInfo).port;
  const batch = await Promise.all(Array.from({ length: CAP - 5 }, () => openTunnel(`other.example.test:${rawPort}`)));
  for (const s of batch) s.end();
  t.equal(await closedByServer(batch, 5000), batch.length, 'every half-closed raw tunnel was closed');
  for (const s of batch) s.destroy();
  await legitimateRequestWorks(t, 'a client after them is served');
});

t.test('a TLS handshake that stops after its first byte is cut at the head deadline', async (t) => {
  const stalled = await Promise.all(Array.from({ length: 10 }, () => openTunnel()));
  t.teardown(() => stalled.forEach((s) => s.destroy()));
  for (const s of stalled) s.write(Buffer.from([0x16, 0x03, 0x01]));
  t.equal(await closedByServer(stalled, 8000), stalled.length, 'every stalled handshake was closed');
});

t.test('a tunnel whose client never sends its first byte is closed after the timeout', async (t) => {
  const silent = await Promise.all(Array.from({ length: 20 }, () => openTunnel()));
  t.teardown(() => silent.forEach((s) => s.destroy()));
  const closed = await closedByServer(silent, 8000);
  t.equal(closed, silent.length, 'every silent tunnel was closed by the server');
});

t.test('at the connection cap, idle tunnels make room for new clients', async (t) => {
  const held: net.Socket[] = [];
  t.teardown(() => held.forEach((s) => s.destroy()));
  // Fill the cap with silent tunnels and keep opening more: 250 attacking connections in all.
  for (let i = 0; i < CAP; i++) held.push(await openTunnel());
  const more = await Promise.allSettled(Array.from({ length: 250 - CAP }, () => openTunnel()));
  for (const r of more) if (r.status === 'fulfilled') held.push(r.value);
  t.ok(world.sluice.server.openConnections <= CAP, `never more than the cap open (${world.sluice.server.openConnections})`);
  await legitimateRequestWorks(t, 'a new client is served while the attacker holds the cap');
});

t.test('a slow request head inside an intercepted tunnel times out', async (t) => {
  const tls = await import('node:tls');
  const socket = await openTunnel();
  const secure = tls.connect({ socket, servername: 'api.example.test', ca: world.sluice.caCertPem });
  await new Promise<void>((resolve, reject) => {
    secure.once('secureConnect', () => resolve());
    secure.once('error', reject);
  });
  // One byte of the head at a time, each well inside any idle timeout: only a head deadline ends it.
  const head = `GET /slow HTTP/1.1\r\nHost: api.example.test:${world.api.port}\r\nX-Pad: ${'a'.repeat(64)}`;
  let sent = 0;
  const drip = setInterval(() => {
    if (sent < head.length && !secure.destroyed) secure.write(head[sent++]!);
  }, 100);
  t.teardown(() => {
    clearInterval(drip);
    secure.destroy();
  });
  secure.on('error', () => undefined);
  secure.resume();
  const ended = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 8000);
    secure.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  t.ok(ended, 'the server closed the tunnel whose request head never completed');
  t.ok(sent < head.length, 'before the head was complete');
});
