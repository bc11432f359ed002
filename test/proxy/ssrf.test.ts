import t from 'tap';
import net from 'node:net';
import { checkAddress, embeddedIPv4 } from '../../proxy/index.js';
import { startTestSluice } from '../helpers/sluice.js';
import { startTestDns } from '../helpers/dns.js';
import { startUpstream } from '../helpers/upstream.js';

/** Sends one raw request line through the proxy and returns the status and JSON body. */
async function raw(proxyPort: number, head: string): Promise<{ status: number; body: Record<string, unknown> | undefined; text: string }> {
  const socket = net.connect(proxyPort, '127.0.0.1');
  socket.write(head);
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve) => {
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      const text = Buffer.concat(chunks).toString();
      const i = text.indexOf('\r\n\r\n');
      const len = /content-length: (\d+)/i.exec(text);
      if (i >= 0 && (!len || text.length >= i + 4 + Number(len[1]))) resolve();
      if (i >= 0 && /^HTTP\/1\.1 200/.test(text)) resolve();
    });
    socket.on('close', () => resolve());
    socket.on('error', () => resolve());
  });
  socket.destroy();
  const text = Buffer.concat(chunks).toString();
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(body) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { status, body: json, text };
}

t.test('address classification', async (t) => {
  const blocked = ['127.0.0.1', '127.255.255.254', '::1', '169.254.169.254', 'fe80::1', '0.0.0.0', '::', '::ffff:127.0.0.1', '::ffff:7f00:1', '::127.0.0.1', '::ffff:169.254.169.254', '10.0.0.1', '172.16.5.4', '192.168.1.1', '100.64.0.1', 'fd00::1', '2002:7f00:1::', '64:ff9b::a00:1'];
  for (const ip of blocked) t.equal(checkAddress(ip, []).allowed, false, `${ip} blocked`);
  for (const ip of ['93.184.216.34', '2606:4700::1111', '8.8.8.8']) t.equal(checkAddress(ip, []).allowed, true, `${ip} public`);
  t.equal(checkAddress('10.0.0.1', ['10.0.0.0/8']).allowed, true, 'allowed_ips admits a private range');
  t.equal(checkAddress('127.0.0.1', ['127.0.0.0/8']).allowed, false, 'loopback stays blocked even if allowed_ips names it');
  t.equal(checkAddress('169.254.169.254', ['169.254.0.0/16']).allowed, false, 'metadata address stays blocked');
  t.equal(checkAddress('::ffff:10.0.0.1', ['10.0.0.0/8']).allowed, true, 'mapped form judged by its IPv4 address');
  t.equal(checkAddress('93.184.216.34', ['10.0.0.0/8']).allowed, false, 'with allowed_ips, a public address outside them is refused too (OpenShell semantics)');
  t.equal(checkAddress('93.184.216.34', ['93.184.216.0/24']).allowed, true);
  t.equal(embeddedIPv4('::ffff:7f00:1'), '127.0.0.1');
});

t.test('IP literals in every spelling are canonicalised, then refused by the SSRF guard', async (t) => {
  const up = await startUpstream();
  const sluice = await startTestSluice(`
version: 1
network_policies:
  loop:
    endpoints:
      - { host: 127.0.0.1, port: ${up.port} }
      - { host: "::1", port: ${up.port} }
`);
  t.teardown(async () => {
    await sluice.close();
    await up.close();
  });
  const spellings = ['127.0.0.1', '2130706433', '0177.0.0.1', '0x7f.1', '127.1', '0x7f000001', '017700000001', '127.0.0.1.'];
  for (const s of spellings) {
    const plain = await raw(sluice.port, `GET http://${s}:${up.port}/x HTTP/1.1\r\nHost: ${s}:${up.port}\r\n\r\n`);
    t.equal(plain.status, 403, `plain http://${s}`);
    t.equal(plain.body?.error, 'ssrf_denied', `plain ${s} is ssrf_denied (so it was canonicalised to 127.0.0.1 first)`);
    t.equal(plain.body?.host, '127.0.0.1');
    const connect = await raw(sluice.port, `CONNECT ${s}:${up.port} HTTP/1.1\r\nHost: ${s}:${up.port}\r\n\r\n`);
    t.equal(connect.status, 403, `CONNECT ${s}`);
    t.equal(connect.body?.error, 'ssrf_denied');
  }
  for (const s of ['[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '[::1]', '[0:0:0:0:0:0:0:1]']) {
    const connect = await raw(sluice.port, `CONNECT ${s}:${up.port} HTTP/1.1\r\nHost: x\r\n\r\n`);
    t.equal(connect.status, 403, `CONNECT ${s}`);
    t.ok(connect.body?.error === 'ssrf_denied' || connect.body?.error === 'policy_denied', `${s}: ${String(connect.body?.error)}`);
  }
  t.equal(up.requests.length, 0, 'nothing ever reached the loopback upstream');
});

t.test('names resolved by a DNS server: an exact declared host may be private (OpenShell), a wildcard needs allowed_ips, loopback never passes, control-plane ports stay closed', async (t) => {
  const dns = await startTestDns({
    'loop.test': ['127.0.0.1'],
    'private.test': ['10.0.0.1'],
    'mixed.test': ['93.184.216.34', '10.0.0.2'],
    'mapped.test': ['::ffff:127.0.0.1'],
    'a.wild.example.com': ['10.0.0.3'],
  });
  const sluice = await startTestSluice(
    `
version: 1
network_policies:
  names:
    endpoints:
      - { host: loop.test, port: 443 }
      - { host: private.test, port: 443 }
      - { host: mixed.test, port: 443 }
      - { host: mapped.test, port: 443 }
      - { host: "*.wild.example.com", port: 443 }
      - { host: private.test, ports: [6443, 10250, 2379] }
      - { host: 10.0.0.7, port: 443 }
  allowed:
    endpoints:
      - { host: loop.test, port: 8443, allowed_ips: ["10.0.0.0/24"] }
      - { host: private.test, port: 8443, allowed_ips: ["10.0.0.0/24"] }
      - { host: "*.wild.example.com", port: 8443, allowed_ips: ["10.0.0.0/24"] }
`,
    { dns: dns.address },
  );
  t.teardown(async () => {
    await sluice.close();
    await dns.close();
  });
  const connect = (authority: string) => raw(sluice.port, `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  for (const authority of ['loop.test:443', 'mapped.test:443', 'a.wild.example.com:443', 'loop.test:8443', 'private.test:6443', 'private.test:10250', 'private.test:2379']) {
    const r = await connect(authority);
    t.equal(r.status, 403, `${authority}: ${JSON.stringify(r.body)}`);
    t.equal(r.body?.error, 'ssrf_denied', `${authority} is refused by the SSRF guard`);
  }
  // Nothing exists at 10.0.0.x and nothing is dialled: intercepted tunnels answer 200 once the guard passed.
  for (const authority of ['private.test:443', 'mixed.test:443', 'private.test:8443', 'a.wild.example.com:8443', '10.0.0.7:443']) {
    t.equal((await connect(authority)).status, 200, `${authority} passes the guard`);
  }
  t.equal((await connect('10.0.0.8:443')).body?.error, 'policy_denied', 'an undeclared private literal is refused by policy');
  t.ok(dns.queries.some((q) => q.startsWith('loop.test')), 'Sluice asked the configured DNS server');
});
