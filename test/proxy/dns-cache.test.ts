import t from 'tap';
import net from 'node:net';
import { createResolver } from '../../proxy/index.js';
import { startTestDns } from '../helpers/dns.js';
import type { TestDns } from '../helpers/dns.js';
import { startTestSluice } from '../helpers/sluice.js';

/**
 * A name's answer is used again for its TTL (up to DNS_ANSWER_MAX_MS) instead of a DNS query per
 * request, and never trusted more than a fresh one: every use is judged against the request's
 * policy, a TTL of 0 is asked every time, an expired answer is asked and judged anew, failures
 * are not kept. Against a real DNS server on 127.0.0.1:0 that counts the queries it gets.
 */

const asked = (dns: TestDns, name: string) => dns.queries.filter((q) => q === `${name}/A`).length;
const exact = { exactHost: true, port: 443 };

t.test('an answer is used again for its TTL: sequential and concurrent requests ask once', async (t) => {
  const dns = await startTestDns({ 'private.test': ['10.0.0.1'] }, { ttl: 30 });
  t.teardown(() => dns.close());
  const resolver = createResolver({ dnsServer: dns.address });
  for (let i = 0; i < 10; i++) t.equal((await resolver.resolve('private.test', 0, [], exact)).address, '10.0.0.1');
  t.equal(asked(dns, 'private.test'), 1, 'ten requests one after the other: one query');
  dns.records.set('burst.test', ['10.0.0.2']);
  const all = await Promise.all(Array.from({ length: 20 }, () => resolver.resolve('burst.test', 0, [], exact)));
  t.same(new Set(all.map((a) => a.address)), new Set(['10.0.0.2']));
  t.equal(asked(dns, 'burst.test'), 1, 'twenty requests at once wait for one query');
});

t.test('a TTL of 0 is asked on every use, so a rebinding name is judged on each answer', async (t) => {
  const dns = await startTestDns({ 'rebind.test': ['10.0.0.1'] });
  t.teardown(() => dns.close());
  const resolver = createResolver({ dnsServer: dns.address });
  t.equal((await resolver.resolve('rebind.test', 0, [], exact)).address, '10.0.0.1');
  dns.records.set('rebind.test', ['127.0.0.1']);
  await t.rejects(resolver.resolve('rebind.test', 0, [], exact), { code: 'SLUICE_SSRF_BLOCKED' }, 'the second answer (loopback) is refused');
  t.equal(asked(dns, 'rebind.test'), 2);
});

t.test('an expired answer is asked again and judged again', async (t) => {
  const dns = await startTestDns({ 'expiring.test': ['10.0.0.1'] }, { ttl: 30 });
  t.teardown(() => dns.close());
  const resolver = createResolver({ dnsServer: dns.address, answerMaxMs: 50 });
  t.equal((await resolver.resolve('expiring.test', 0, [], exact)).address, '10.0.0.1');
  dns.records.set('expiring.test', ['169.254.169.254']);
  t.equal((await resolver.resolve('expiring.test', 0, [], exact)).address, '10.0.0.1', 'within the answer time: the kept address, no query');
  t.equal(asked(dns, 'expiring.test'), 1);
  await new Promise((r) => setTimeout(r, 80));
  await t.rejects(resolver.resolve('expiring.test', 0, [], exact), { code: 'SLUICE_SSRF_BLOCKED' }, 'after it: asked again, and the metadata address is refused');
  t.equal(asked(dns, 'expiring.test'), 2);
});

t.test('a kept answer is judged for each request against that request\'s policy', async (t) => {
  const dns = await startTestDns({ 'shared.test': ['10.0.0.5'] }, { ttl: 30 });
  t.teardown(() => dns.close());
  const resolver = createResolver({ dnsServer: dns.address });
  t.equal((await resolver.resolve('shared.test', 0, [], exact)).address, '10.0.0.5', 'an exact declared host may be private');
  await t.rejects(resolver.resolve('shared.test', 0, [], { exactHost: false, port: 443 }), { code: 'SLUICE_SSRF_BLOCKED' }, 'a wildcard endpoint without allowed_ips may not, with the same kept answer');
  await t.rejects(resolver.resolve('shared.test', 0, ['192.168.0.0/16'], { port: 443 }), { code: 'SLUICE_SSRF_BLOCKED' }, 'allowed_ips that do not cover it refuse it');
  t.equal((await resolver.resolve('shared.test', 0, ['10.0.0.0/24'], { port: 443 })).address, '10.0.0.5', 'allowed_ips that cover it pass');
  await t.rejects(resolver.resolve('shared.test', 0, ['10.0.0.0/24'], { port: 6443 }), { code: 'SLUICE_SSRF_BLOCKED' }, 'a control-plane port stays closed');
  t.equal(asked(dns, 'shared.test'), 1, 'one query for all five');
});

t.test('a failed lookup is not kept', async (t) => {
  const dns = await startTestDns({}, { ttl: 30 });
  t.teardown(() => dns.close());
  const resolver = createResolver({ dnsServer: dns.address });
  await t.rejects(resolver.resolve('late.test', 0, [], exact), { code: 'SLUICE_DNS_FAILED' });
  dns.records.set('late.test', ['10.0.0.9']);
  t.equal((await resolver.resolve('late.test', 0, [], exact)).address, '10.0.0.9', 'the name resolves once it exists');
});

t.test('answerMaxMs 0 asks on every use whatever the TTL', async (t) => {
  const dns = await startTestDns({ 'always.test': ['10.0.0.1'] }, { ttl: 30 });
  t.teardown(() => dns.close());
  const resolver = createResolver({ dnsServer: dns.address, answerMaxMs: 0 });
  for (let i = 0; i < 3; i++) await resolver.resolve('always.test', 0, [], exact);
  t.equal(asked(dns, 'always.test'), 3);
});

/** CONNECT through the proxy; the status line's code. */
async function connect(port: number, authority: string): Promise<number> {
  const socket = net.connect(port, '127.0.0.1');
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  const head = await new Promise<string>((resolve) => {
    let text = '';
    socket.on('data', (c: Buffer) => {
      text += c.toString('latin1');
      if (text.includes('\r\n\r\n')) resolve(text);
    });
    socket.on('close', () => resolve(text));
    socket.on('error', () => resolve(text));
  });
  socket.destroy();
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
}

t.test('through Sluice: CONNECTs to one name ask once per answer, and cannot rebind while it is kept', async (t) => {
  // Nothing is dialled: the tunnel is intercepted, so it answers 200 once the SSRF guard passed.
  const dns = await startTestDns({ 'kept.test': ['10.0.0.1'] }, { ttl: 30 });
  const sluice = await startTestSluice(
    `
version: 1
network_policies:
  names:
    endpoints:
      - { host: kept.test, port: 443 }
`,
    { dns: dns.address },
  );
  t.teardown(async () => {
    await sluice.close();
    await dns.close();
  });
  for (let i = 0; i < 5; i++) t.equal(await connect(sluice.port, 'kept.test:443'), 200);
  t.equal(asked(dns, 'kept.test'), 1, 'five CONNECTs, one query');
  dns.records.set('kept.test', ['127.0.0.1']);
  t.equal(await connect(sluice.port, 'kept.test:443'), 200, 'the kept (private, declared) answer, not the new loopback one');
  t.equal(asked(dns, 'kept.test'), 1);
});
