import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import t from 'tap';
import { createLeafCache, loadOrCreateCA } from '../../certs/index.js';
import type { CertificateAuthority } from '../../certs/index.js';
import { x509 } from '../../certs/x509.js';
import { startSniServer } from './sni-server.js';

const DAY = 86_400_000;

const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-leaf-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const ca: CertificateAuthority = await loadOrCreateCA(dir);

/** Handshakes with a server presenting the cache's leaf for `host` and returns the DER chain. */
async function servedChain(host: string, opts: Parameters<typeof createLeafCache>[1] = {}): Promise<x509.X509Certificate[]> {
  const cache = await createLeafCache(ca, opts);
  const ip = /^[0-9.]+$|:/.test(host);
  const server = await startSniServer(cache, ip ? { defaultHost: host } : {});
  try {
    const socket = tls.connect({ host: '127.0.0.1', port: server.port, ...(ip ? {} : { servername: host }), rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    const chain: x509.X509Certificate[] = [];
    let peer = socket.getPeerCertificate(true);
    for (;;) {
      chain.push(new x509.X509Certificate(peer.raw));
      if (!peer.issuerCertificate || peer.issuerCertificate === peer) break;
      peer = peer.issuerCertificate;
    }
    socket.destroy();
    return chain;
  } finally {
    await server.close();
    cache.close();
  }
}

t.test('a leaf has SAN, SKI/AKI, EKU serverAuth, key usage and sane validity', async (t) => {
  const chain = await servedChain('api.example.com');
  t.equal(chain.length, 2, 'leaf + CA');
  const [leaf, caCert] = chain as [x509.X509Certificate, x509.X509Certificate];
  t.equal(caCert.toString('pem'), ca.certPem.trim(), 'the CA follows the leaf');
  t.equal(leaf.subject, 'CN=api.example.com');
  t.equal(leaf.issuer, caCert.subject);
  const san = leaf.getExtension(x509.SubjectAlternativeNameExtension);
  t.same(san?.names.toJSON(), [{ type: 'dns', value: 'api.example.com' }]);
  t.equal(san?.critical, false, 'SAN not critical while a CN is present');
  t.ok(leaf.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId, 'SKI present');
  t.equal(leaf.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId, ca.keyId, 'AKI = CA SKI');
  t.same(leaf.getExtension(x509.ExtendedKeyUsageExtension)?.usages, [x509.ExtendedKeyUsage.serverAuth]);
  const ku = leaf.getExtension(x509.KeyUsagesExtension);
  t.equal(ku?.usages, x509.KeyUsageFlags.digitalSignature);
  t.equal(ku?.critical, true);
  const bc = leaf.getExtension(x509.BasicConstraintsExtension);
  t.equal(bc?.ca, false);
  const now = Date.now();
  t.ok(leaf.notBefore.getTime() <= now - 50 * 60_000 && leaf.notBefore.getTime() >= now - 70 * 60_000, 'notBefore about an hour ago');
  const days = (leaf.notAfter.getTime() - now) / DAY;
  t.ok(days > 29.9 && days <= 30, `default validity 30 days (${days.toFixed(3)})`);
  t.ok(await leaf.verify({ publicKey: caCert.publicKey }), 'signed by the CA');
  const nodeLeaf = new X509Certificate(Buffer.from(leaf.rawData));
  const nodeCa = new X509Certificate(ca.certPem);
  t.ok(nodeLeaf.checkIssued(nodeCa), 'issuer name and AKI match the CA (OpenSSL check_issued)');
  t.ok(nodeLeaf.verify(nodeCa.publicKey), 'OpenSSL verifies the signature');
  t.equal(nodeLeaf.subjectAltName, 'DNS:api.example.com');
  t.match(leaf.signatureAlgorithm, { name: 'ECDSA', hash: { name: 'SHA-256' } }, 'ecdsa-with-SHA256');
  const serial = Buffer.from(leaf.serialNumber, 'hex');
  t.equal(serial.length, 16);
});

t.test('an IP literal gets an iPAddress SAN; a long name gets no CN and a critical SAN', async (t) => {
  const [leaf4] = await servedChain('127.0.0.1');
  t.same(leaf4!.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON(), [{ type: 'ip', value: '127.0.0.1' }]);
  const long = `${'a'.repeat(60)}.example.com`;
  const [leafLong] = await servedChain(long);
  t.equal(leafLong!.subject, '', 'no CN for names over 64 characters');
  const san = leafLong!.getExtension(x509.SubjectAlternativeNameExtension);
  t.same(san?.names.toJSON(), [{ type: 'dns', value: long }]);
  t.equal(san?.critical, true, 'SAN critical when the subject is empty');
});

t.test('validityDays is honoured and bounded to 397', async (t) => {
  const [leaf] = await servedChain('v.example.com', { validityDays: 397 });
  const days = (leaf!.notAfter.getTime() - Date.now()) / DAY;
  t.ok(days > 396.9 && days <= 397, `397 days (${days.toFixed(3)})`);
  await t.rejects(createLeafCache(ca, { validityDays: 398 }), RangeError);
  await t.rejects(createLeafCache(ca, { validityDays: 0 }), RangeError);
  await t.rejects(createLeafCache(ca, { max: 0 }), RangeError);
});

t.test('one key pair serves every host', async (t) => {
  const [a] = await servedChain('a.example.com');
  const [b] = await servedChain('b.example.com');
  t.not(a!.serialNumber, b!.serialNumber, 'distinct serials');
  // Two caches generate two keys; within one cache the key is shared.
  const cache = await createLeafCache(ca);
  t.teardown(() => cache.close());
  const server = await startSniServer(cache);
  t.teardown(() => server.close());
  const spki: string[] = [];
  for (const host of ['one.example.com', 'two.example.com']) {
    const socket = tls.connect({ host: '127.0.0.1', port: server.port, servername: host, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    spki.push(socket.getPeerCertificate().pubkey!.toString('hex'));
    socket.destroy();
  }
  t.equal(spki[0], spki[1], 'same public key for both hosts');
  t.same(server.sniHosts, ['one.example.com', 'two.example.com']);
});

t.test('a host is minted once and reused; host spelling is normalised', async (t) => {
  const cache = await createLeafCache(ca);
  t.teardown(() => cache.close());
  const a = await cache.secureContextFor('Api.Example.COM.');
  const b = await cache.secureContextFor('api.example.com');
  t.equal(a, b, 'same context');
  t.equal(cache.size, 1);
  t.equal(cache.mints, 1);
  const v6a = await cache.secureContextFor('[::1]');
  const v6b = await cache.secureContextFor('0:0:0:0:0:0:0:1');
  t.equal(v6a, v6b, 'IPv6 spellings share one entry');
  await t.rejects(cache.secureContextFor('bad host/with?stuff'), /invalid host name/);
  await t.rejects(cache.secureContextFor(''), /invalid host name/);
  await t.rejects(cache.secureContextFor(`${'x'.repeat(64)}.example.com`), /label longer than 63/);
});

t.test('concurrent requests for one host share a single mint', async (t) => {
  const cache = await createLeafCache(ca);
  t.teardown(() => cache.close());
  const contexts = await Promise.all(Array.from({ length: 20 }, () => cache.secureContextFor('same.example.com')));
  t.ok(contexts.every((c) => c === contexts[0]), 'every caller got the same context');
  t.equal(cache.mints, 1, 'minted once');
  t.equal(cache.size, 1);
  const mixed = await Promise.all(['x.example.com', 'y.example.com', 'x.example.com', 'y.example.com'].map((h) => cache.secureContextFor(h)));
  t.equal(mixed[0], mixed[2]);
  t.equal(mixed[1], mixed[3]);
  t.not(mixed[0], mixed[1]);
  t.equal(cache.mints, 3);
});

t.test('bounded LRU evicts the least recently used host', async (t) => {
  const cache = await createLeafCache(ca, { max: 3 });
  t.teardown(() => cache.close());
  const a = await cache.secureContextFor('a.example.com');
  await cache.secureContextFor('b.example.com');
  await cache.secureContextFor('c.example.com');
  t.equal(await cache.secureContextFor('a.example.com'), a, 'a is a hit and becomes most recent');
  await cache.secureContextFor('d.example.com');
  t.equal(cache.size, 3, 'bounded');
  t.equal(cache.mints, 4);
  t.equal(await cache.secureContextFor('a.example.com'), a, 'a survived');
  await cache.secureContextFor('c.example.com');
  t.equal(cache.mints, 4, 'c survived');
  await cache.secureContextFor('b.example.com');
  t.equal(cache.mints, 5, 'b was evicted and re-minted');
});

t.test('entries are replaced a day before their certificate expires', async (t) => {
  let clock = Date.now();
  const cache = await createLeafCache(ca, { validityDays: 30, now: () => clock });
  t.teardown(() => cache.close());
  const first = await cache.secureContextFor('exp.example.com');
  clock += 28 * DAY;
  t.equal(await cache.secureContextFor('exp.example.com'), first, 'still cached with two days left');
  clock += 1.5 * DAY;
  const second = await cache.secureContextFor('exp.example.com');
  t.not(second, first, 're-minted with half a day left');
  t.equal(cache.mints, 2);
  t.equal(cache.size, 1);
  t.equal(await cache.secureContextFor('exp.example.com'), second, 'the new entry is cached');

  // A short-lived leaf is refreshed at three quarters of its life rather than never.
  let clock2 = Date.now();
  const short = await createLeafCache(ca, { validityDays: 1, now: () => clock2 });
  t.teardown(() => short.close());
  const s1 = await short.secureContextFor('short.example.com');
  clock2 += 0.7 * DAY;
  t.equal(await short.secureContextFor('short.example.com'), s1);
  clock2 += 0.1 * DAY;
  t.not(await short.secureContextFor('short.example.com'), s1);
});

t.test('a closed cache refuses further work', async (t) => {
  const cache = await createLeafCache(ca);
  await cache.secureContextFor('c.example.com');
  cache.close();
  t.equal(cache.size, 0);
  await t.rejects(cache.secureContextFor('c.example.com'), /closed/);
});

t.test('mint time for a new host (informational)', async (t) => {
  const cache = await createLeafCache(ca, { max: 5000 });
  t.teardown(() => cache.close());
  for (let i = 0; i < 20; i++) await cache.secureContextFor(`warm${i}.example.com`);
  const n = 200;
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await cache.secureContextFor(`host${i}.example.com`);
    times.push(performance.now() - start);
  }
  times.sort((x, y) => x - y);
  const p50 = times[Math.floor(n / 2)]!;
  const p99 = times[Math.floor(n * 0.99)]!;
  const hitStart = performance.now();
  for (let i = 0; i < n; i++) await cache.secureContextFor(`host${i}.example.com`);
  const hit = (performance.now() - hitStart) / n;
  t.comment(`leaf mint + secure context: p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms; cache hit ${(hit * 1000).toFixed(1)} µs`);
  t.equal(cache.mints, 20 + n);
});

t.test('the cache is bounded in estimated bytes as well as in entries', async (t) => {
  const { loadOrCreateCA, createLeafCache, ESTIMATED_CONTEXT_BYTES } = await import('../../certs/index.js');
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-leafbytes-'));
  t.teardown(() => fs.rmSync(home, { recursive: true, force: true }));
  const ca = await loadOrCreateCA(home);
  const cache = await createLeafCache(ca, { max: 1000, maxBytes: 10 * ESTIMATED_CONTEXT_BYTES });
  t.teardown(() => cache.close());
  for (let i = 0; i < 30; i++) await cache.secureContextFor(`b${i}.example.com`);
  t.ok(cache.bytes <= 10 * ESTIMATED_CONTEXT_BYTES, `${cache.bytes} bytes within the bound`);
  t.ok(cache.size < 10, `${cache.size} entries: each costs its chain on top of the context`);
  t.ok(cache.size >= 5);
  const minted = cache.mints;
  await cache.secureContextFor('b29.example.com');
  t.equal(cache.mints, minted, 'the most recent host is still cached');
  await t.rejects(createLeafCache(ca, { maxBytes: 100 }), RangeError);
});
