import t from 'tap';
import net from 'node:net';
import { startTestSluice } from '../helpers/sluice.js';
import type { TestSluice } from '../helpers/sluice.js';
import { startTestDns } from '../helpers/dns.js';
import type { TestDns } from '../helpers/dns.js';
import { checkAddress } from '../../proxy/index.js';

/**
 * Issue 16 item 10: IPv6 spellings that carry an IPv4 address, allowed_ips lists that add up to
 * every address, and Kubernetes/etcd control-plane ports. Each attack is a CONNECT through a real
 * Sluice whose DNS answers with the attacker's address; the test reads only the CONNECT answer
 * and never sends a byte into a tunnel, so no address but 127.0.0.1 is ever dialled.
 */
const NAMES: Record<string, string[]> = {
  'translated.example.test': ['::ffff:0:7f00:1'], // ::ffff:0:127.0.0.1, SIIT IPv4-translated
  'nat64-local.example.test': ['64:ff9b:1::a9fe:a9fe'], // local-use NAT64 of 169.254.169.254
  'nat64-local48.example.test': ['64:ff9b:1:7f00:0:1::'], // /48 reading: 127.0.0.1
  'teredo.example.test': ['2001:0:4136:e378:8000:63bf:80ff:fffe'], // Teredo client 127.0.0.1
  'isatap.example.test': ['2001:db9::5efe:7f00:1'], // ISATAP interface id over 127.0.0.1
  'kube.example.test': ['10.20.0.5'],
};

let dns: TestDns;
let sluice: TestSluice;

t.before(async () => {
  dns = await startTestDns(NAMES);
  sluice = await startTestSluice(`
version: 1
network_policies:
  embedded:
    endpoints:
      - { host: translated.example.test, port: 443 }
      - { host: nat64-local.example.test, port: 443 }
      - { host: nat64-local48.example.test, port: 443 }
      - { host: isatap.example.test, port: 443 }
      # An operator who admits Teredo space still never reaches the loopback inside it.
      - { host: teredo.example.test, port: 443, allowed_ips: ["2001::/32"] }
  kube:
    endpoints:
      - { host: kube.example.test, ports: [443, 2379, 2380, 6443, 10250, 10255], allowed_ips: ["10.20.0.0/16"] }
      - { host: pinned-kube.example.test, ports: [6443, 10250] }
`, { dns: dns.address, resolve: { 'pinned-kube.example.test': '127.0.0.1' } });
});

t.teardown(async () => {
  await sluice?.close();
  await dns?.close();
});

/** The status line and X-Sluice-Error of a CONNECT's answer; the tunnel is closed unused. */
function connect(authority: string): Promise<{ status: number; code: string | undefined; head: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(sluice.port, '127.0.0.1');
    let head = '';
    socket.on('data', (d: Buffer) => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.destroy();
      resolve({ status: Number(head.slice(9, 12)), code: /x-sluice-error: (\S+)/i.exec(head)?.[1], head });
    });
    socket.on('error', reject);
    socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  });
}

t.test('IPv6 forms that embed a forbidden IPv4 address are refused at CONNECT', async (t) => {
  for (const name of ['translated', 'nat64-local', 'nat64-local48', 'teredo', 'isatap']) {
    const res = await connect(`${name}.example.test:443`);
    t.equal(res.status, 403, `${name}: ${NAMES[`${name}.example.test`]![0]}`);
    t.equal(res.code, 'ssrf_denied', `${name}: refused by the SSRF guard`);
  }
});

t.test('control-plane ports are refused on private destinations, allowed_ips or not', async (t) => {
  for (const port of [2379, 2380, 6443, 10250, 10255]) {
    const res = await connect(`kube.example.test:${port}`);
    t.equal(res.code, 'ssrf_denied', `10.20.0.5:${port} refused though allowed_ips covers it`);
    t.match(res.head, /control-plane/);
  }
  const pinned = await connect('pinned-kube.example.test:6443');
  t.equal(pinned.code, 'ssrf_denied', 'a --resolve pin to a non-public address does not open a control plane either');
});

t.test('allowed_ips that add up to every address are rejected like 0.0.0.0/0', async (t) => {
  const base = 'version: 1\nnetwork_policies:\n  p:\n    endpoints:\n      - { host: api.example.test, port: 443, allowed_ips: ';
  for (const list of ['["0.0.0.0/1", "128.0.0.0/1"]', '["0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/1"]', '["::/1", "8000::/1"]', '["::ffff:0:0/97", "128.0.0.0/1"]']) {
    const result = await sluice.writePolicy(`${base}${list} }\n`);
    t.equal(result.activity, 'rejected', `${list} is refused`);
    // Every covering split contains the unspecified address, which no allowed_ips entry may touch.
    t.match(result.errors?.join('\n') ?? '', /overlaps an always-blocked range/);
  }
  t.equal((await connect('pinned-kube.example.test:6443')).code, 'ssrf_denied', 'the last good policy is still in force');
});

t.test('the address classification, form by form', async (t) => {
  const refused = ['::ffff:0:7f00:1', '::ffff:0:a9fe:a9fe', '64:ff9b:1::7f00:1', '64:ff9b:1::a00:1', '2001:0:4136:e378:8000:63bf:80ff:fffe', 'fe80::5efe:a00:1', '2002:a9fe:a9fe::1'];
  for (const ip of refused) t.equal(checkAddress(ip, []).allowed, false, `${ip} refused`);
  t.equal(checkAddress('::ffff:0:a00:1', ['10.0.0.0/8']).allowed, true, 'a translated private address is admitted by allowed_ips for its IPv4');
  t.equal(checkAddress('10.0.0.1', ['10.0.0.0/8'], 6443).allowed, false, 'control plane on an allowed private address');
  t.equal(checkAddress('8.8.8.8', ['8.8.8.0/24'], 10250).allowed, false, 'control plane on an allowed_ips endpoint (OpenShell)');
  t.equal(checkAddress('8.8.8.8', [], 6443).allowed, true, 'a public address without allowed_ips keeps every port');
});
