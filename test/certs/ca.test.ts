import { chmod, mkdtemp, readFile, readdir, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { X509Certificate, createPrivateKey, generateKeyPairSync, webcrypto } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { caPaths, loadOrCreateCA } from '../../certs/index.js';
import { x509 } from '../../certs/x509.js';

async function tempHome(t: Test): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-ca-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return path.join(dir, 'home');
}

t.test('creates home 0700, the CA files, and a key file 0600', async (t) => {
  const home = await tempHome(t);
  const ca = await loadOrCreateCA(home);
  t.equal(ca.certPath, path.join(home, 'ca', 'sluice-ca.pem'));
  t.equal(ca.keyPath, path.join(home, 'ca', 'sluice-ca-key.pem'));
  t.same(caPaths(home), { certPath: ca.certPath, keyPath: ca.keyPath }, 'caPaths agrees');
  t.equal((await stat(home)).mode & 0o777, 0o700, 'home is 0700');
  t.equal((await stat(path.join(home, 'ca'))).mode & 0o777, 0o700, 'ca dir is 0700');
  t.equal((await stat(ca.keyPath)).mode & 0o777, 0o600, 'key is 0600');
  t.same((await readdir(home)).sort(), ['ca'], 'no temporary directory left behind');
  t.match(ca.certPem, /^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\n$/);
});

t.test('the CA certificate has the extensions strict verifiers require', async (t) => {
  const home = await tempHome(t);
  const ca = await loadOrCreateCA(home);
  const cert = new x509.X509Certificate(ca.certPem);
  t.match(cert.subject, /CN=Sluice Local CA [0-9a-f]{8}/);
  t.equal(cert.subject, cert.issuer, 'self-signed');
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  t.ok(bc?.ca, 'CA:true');
  t.equal(bc?.pathLength, 0, 'pathLen 0');
  t.equal(bc?.critical, true, 'basicConstraints critical');
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  t.equal(ku?.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
  t.equal(ku?.critical, true, 'keyUsage critical');
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  t.ok(ski?.keyId, 'has SKI');
  t.equal(ca.keyId, ski?.keyId);
  const years = (cert.notAfter.getTime() - Date.now()) / (365 * 86_400_000);
  t.ok(years > 9.9 && years < 10.1, `about 10 years of validity (${years.toFixed(2)})`);
  t.ok(cert.notBefore.getTime() < Date.now(), 'already valid');
  const serial = Buffer.from(cert.serialNumber, 'hex');
  t.equal(serial.length, 16, '16-byte serial');
  t.ok(serial[0]! > 0 && serial[0]! < 0x80, 'serial positive without padding');
  const node = new X509Certificate(ca.certPem);
  t.ok(node.ca, 'node sees a CA');
  t.ok(node.checkIssued(node), 'self-issued');
  t.ok(node.verify(node.publicKey), 'self-signature verifies');
  t.equal(node.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1', 'ECDSA P-256');
});

t.test('a second load reuses the same CA', async (t) => {
  const home = await tempHome(t);
  const first = await loadOrCreateCA(home);
  const second = await loadOrCreateCA(home);
  t.equal(second.certPem, first.certPem);
  t.equal(second.keyId, first.keyId);
});

t.test('concurrent first starts agree on one CA', async (t) => {
  const home = await tempHome(t);
  const all = await Promise.all([1, 2, 3, 4].map(() => loadOrCreateCA(home)));
  for (const ca of all) t.equal(ca.certPem, all[0]!.certPem);
  t.same((await readdir(home)).sort(), ['ca'], 'losers cleaned up their temporary directories');
});

t.test('a key readable by group or others is refused with a clear error', async (t) => {
  const home = await tempHome(t);
  const ca = await loadOrCreateCA(home);
  await chmod(ca.keyPath, 0o640);
  await t.rejects(loadOrCreateCA(home), /mode 0640.*chmod 600/);
  await chmod(ca.keyPath, 0o604);
  await t.rejects(loadOrCreateCA(home), /readable by other users/);
  await chmod(ca.keyPath, 0o600);
  t.equal((await loadOrCreateCA(home)).certPem, ca.certPem, 'loads again once fixed');
});

t.test('a symlinked key is refused', async (t) => {
  const home = await tempHome(t);
  const ca = await loadOrCreateCA(home);
  const moved = `${ca.keyPath}.real`;
  await writeFile(moved, 'x', { mode: 0o600 });
  await unlink(ca.keyPath);
  await symlink(moved, ca.keyPath);
  await t.rejects(loadOrCreateCA(home), /not a regular file/);
});

t.test('a half-present CA is an error, not silently replaced', async (t) => {
  const home = await tempHome(t);
  const ca = await loadOrCreateCA(home);
  await unlink(ca.keyPath);
  await t.rejects(loadOrCreateCA(home), /CA key .* is missing/);

  const home2 = await tempHome(t);
  const ca2 = await loadOrCreateCA(home2);
  await unlink(ca2.certPath);
  await t.rejects(loadOrCreateCA(home2), /CA certificate .* is missing/);
});

t.test('a key that does not match the certificate is refused', async (t) => {
  const homeA = await tempHome(t);
  const homeB = await tempHome(t);
  const a = await loadOrCreateCA(homeA);
  const b = await loadOrCreateCA(homeB);
  await writeFile(a.certPath, b.certPem);
  await t.rejects(loadOrCreateCA(homeA), /does not belong/);
});

t.test('a CA key that is not ECDSA P-256 is refused: leaves say ecdsa-with-SHA256', async (t) => {
  const home = await tempHome(t);
  const ca = await loadOrCreateCA(home);
  for (const [type, opts] of [['ec', { namedCurve: 'secp384r1' }], ['rsa', { modulusLength: 2048 }], ['ed25519', {}]] as const) {
    const { privateKey } = generateKeyPairSync(type as 'ec', opts as { namedCurve: string });
    await writeFile(ca.keyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    await t.rejects(loadOrCreateCA(home), /not an ECDSA P-256 key/, type);
  }
});

t.test('an expired CA is refused with the way out', async (t) => {
  const home = await tempHome(t);
  const ca = await loadOrCreateCA(home);
  const key = createPrivateKey(await readFile(ca.keyPath, 'utf8'));
  const jwk = key.export({ format: 'jwk' });
  const keys = {
    privateKey: await webcrypto.subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']),
    publicKey: await webcrypto.subtle.importKey('jwk', { ...jwk, d: undefined }, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']),
  };
  const expired = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01', name: 'CN=Old', notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2021-01-01T00:00:00Z'),
    keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
  }, webcrypto);
  await writeFile(ca.certPath, expired.toString('pem'));
  await t.rejects(loadOrCreateCA(home), /expired on 2021-01-01T00:00:00.000Z; remove .* to create a new CA/);
});
