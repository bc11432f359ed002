import t from 'tap';
import net from 'node:net';
import tls from 'node:tls';
import { startWorld } from '../proxy/fixtures.js';
import type { World } from '../proxy/fixtures.js';
import type { SluiceEvent } from '../../core/index.js';
import { rawRequest } from './wire.js';

/**
 * Issue 16 item 11: slow paths an attacker (or a generated policy) can pick. A huge policy is
 * refused with a clear error, a large one is parsed off the event loop (requests are served while
 * it loads), and the certificates minted for attacker-chosen host names are bounded in bytes.
 */
// A reload of the large policy starts a worker thread; under the test runner it compiles its modules first.
t.setTimeout(360_000);
const NAMES = 120;
const LEAF_BYTES = 1024 * 1024;
let world: World;

t.before(async () => {
  const resolve: Record<string, string> = {};
  for (let i = 0; i < NAMES; i++) resolve[`h${i}.example.test`] = '127.0.0.1';
  world = await startWorld((p) => `
version: 1
network_policies:
  api:
    endpoints:
      - { host: plain.example.test, port: ${p.plain} }
      - { host: "*.example.test", port: ${p.other} }
`, { leafCacheBytes: LEAF_BYTES, resolve: { 'plain.example.test': '127.0.0.1', ...resolve } });
});

t.teardown(() => world?.close());

const plain = async () => (await rawRequest(world.sluice.port, `GET http://plain.example.test:${world.plain.port}/ HTTP/1.1\r\nHost: plain.example.test:${world.plain.port}\r\nConnection: close\r\n\r\n`)).status;

function endpoints(n: number, port: number): string {
  let yaml = `version: 1\nnetwork_policies:\n  api:\n    endpoints:\n      - { host: plain.example.test, port: ${port} }\n      - { host: "*.example.test", port: ${world.other.port} }\n  gen:\n    endpoints:\n`;
  for (let i = 0; i < n; i++) yaml += `      - { host: g${i}.example.com, port: 443 }\n`;
  return yaml;
}

t.test('a 60,000-endpoint policy is refused at once with a clear error', async (t) => {
  const result = await world.sluice.writePolicy(endpoints(60_000, world.plain.port));
  t.equal(result.activity, 'rejected');
  t.match(result.errors?.join('\n'), /at most 1048576 bytes/);
  t.equal(await plain(), 200, 'the last good policy stays in force');
});

t.test('more endpoints than the bound, within the byte bound, are refused too', async (t) => {
  const yaml = endpoints(5_001, world.plain.port);
  t.ok(Buffer.byteLength(yaml) < 1024 * 1024, 'under the byte bound');
  const result = await world.sluice.writePolicy(yaml);
  t.equal(result.activity, 'rejected');
  t.match(result.errors?.join('\n'), /5003 endpoints; Sluice loads at most 5000/);
});

t.test('a large valid policy is parsed off the event loop: requests are served while it loads', async (t) => {
  const loaded = new Promise<number>((resolve) => {
    const off = world.sluice.bus.on((e: SluiceEvent) => {
      if (e.type !== 'policy') return;
      off();
      resolve(performance.now());
    });
  });
  const reload = world.sluice.writePolicy(endpoints(4_900, world.plain.port));
  // The watcher's debounce is 50 ms; the parse of ~4,900 endpoints takes far longer than a request.
  await new Promise((r) => setTimeout(r, 120));
  const served: number[] = [];
  for (let i = 0; i < 3; i++) {
    t.equal(await plain(), 200);
    served.push(performance.now());
  }
  const at = await loaded;
  t.equal((await reload).activity, 'loaded', 'the policy loaded');
  t.ok(served[0]! < at, 'a request was answered while the policy was being parsed');
});

/** A TLS handshake with Sluice for `host` through a CONNECT: Sluice mints a leaf for it. */
async function handshake(host: string): Promise<void> {
  const socket = net.connect(world.sluice.port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.write(`CONNECT ${host}:${world.other.port} HTTP/1.1\r\nHost: ${host}:${world.other.port}\r\n\r\n`);
  await new Promise<void>((resolve, reject) => {
    socket.once('data', (d: Buffer) => (d.toString().startsWith('HTTP/1.1 200') ? resolve() : reject(new Error(d.toString()))));
  });
  const secure = tls.connect({ socket, servername: host, ca: world.sluice.caCertPem });
  await new Promise<void>((resolve, reject) => {
    secure.once('secureConnect', () => resolve());
    secure.once('error', reject);
  });
  secure.destroy();
}

t.test('leaves minted for many attacker-chosen host names stay within the byte bound', async (t) => {
  for (let i = 0; i < NAMES; i++) await handshake(`h${i}.example.test`);
  const cache = world.sluice.leafCache;
  t.ok(cache.bytes <= LEAF_BYTES, `estimated ${cache.bytes} bytes <= ${LEAF_BYTES}`);
  t.ok(cache.size < NAMES, `${cache.size} of ${NAMES} leaves kept`);
  t.ok(cache.size >= 10, 'the cache still does its job');
});
