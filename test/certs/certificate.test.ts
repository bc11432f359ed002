import { createHash, generateKeyPairSync, webcrypto } from 'node:crypto';
import t from 'tap';
import {
  KEY_USAGE, authorityKeyIdentifier, basicConstraints, certificateParts, distinguishedName, extKeyUsageServerAuth, keyIdOf, keyUsage,
  subjectAltNameDns, subjectKeyIdentifier,
} from '../../certs/certificate.js';
import { TAG, readElement, readElements, parseDerTime, tlv } from '../../certs/der.js';
import { x509 } from '../../certs/x509.js';

// certs/certificate.ts writes by hand what @peculiar/x509 wrote before: each encoding must be
// the library's, byte for byte, so that no TLS client sees a different certificate.
const raw = (ext: { rawData: ArrayBuffer }) => Buffer.from(ext.rawData);
const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;

t.test('extensions are encoded exactly as @peculiar/x509 encodes them', async (t) => {
  t.same(basicConstraints(false), raw(new x509.BasicConstraintsExtension(false, undefined, true)), 'leaf basicConstraints');
  t.same(basicConstraints(true, 0), raw(new x509.BasicConstraintsExtension(true, 0, true)), 'CA basicConstraints, pathLen 0');
  t.same(keyUsage([KEY_USAGE.digitalSignature]), raw(new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)), 'leaf keyUsage');
  t.same(
    keyUsage([KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign]),
    raw(new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)),
    'CA keyUsage',
  );
  t.same(extKeyUsageServerAuth(), raw(new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false)), 'EKU serverAuth');
  const ski = await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, webcrypto);
  const spki = Buffer.from(await webcrypto.subtle.exportKey('spki', keys.publicKey));
  t.equal(keyIdOf(spki).toString('hex'), ski.keyId, 'key identifier: SHA-1 of the public key bits, as the library computes it');
  t.same(subjectKeyIdentifier(keyIdOf(spki)), raw(ski), 'SKI');
  t.same(authorityKeyIdentifier(keyIdOf(spki)), raw(new x509.AuthorityKeyIdentifierExtension(ski.keyId, false)), 'AKI');
  for (const critical of [false, true]) {
    t.same(subjectAltNameDns('api.example.com', critical), raw(new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'api.example.com' }], critical)), `SAN, critical ${critical}`);
  }
  t.equal(new x509.Name(distinguishedName([{ type: 'O', value: 'Sluice' }, { type: 'CN', value: 'Sluice Local CA 0a1b2c3d' }])).toString(), 'O=Sluice, CN=Sluice Local CA 0a1b2c3d');
  t.equal(new x509.Name(distinguishedName([])).toString(), '', 'an empty subject');
});

t.test('certificateParts reads subject, validity and SKI of a certificate the library wrote', async (t) => {
  const notBefore = new Date('2026-01-02T03:04:05Z');
  const notAfter = new Date('2051-06-07T08:09:10Z');
  const make = (extensions: x509.Extension[]) => x509.X509CertificateGenerator.createSelfSigned({ serialNumber: '01', name: 'O=Example, CN=Example CA', notBefore, notAfter, keys, signingAlgorithm: alg, extensions }, webcrypto);
  const ski = await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, webcrypto);
  const withSki = await make([new x509.BasicConstraintsExtension(true, 0, true), ski]);
  const parts = certificateParts(Buffer.from(withSki.rawData));
  t.same(parts.subject, Buffer.from(withSki.subjectName.toArrayBuffer()), 'the subject Name, byte for byte');
  t.equal(parts.notBefore.toISOString(), notBefore.toISOString(), 'UTCTime');
  t.equal(parts.notAfter.toISOString(), notAfter.toISOString(), 'GeneralizedTime (2050 and later)');
  t.equal(parts.subjectKeyId?.toString('hex'), ski.keyId);
  t.same(parts.spki, Buffer.from(withSki.publicKey.rawData));
  const withoutSki = certificateParts(Buffer.from((await make([])).rawData));
  t.equal(withoutSki.subjectKeyId, undefined, 'no SKI extension: none read');
  t.equal(keyIdOf(withoutSki.spki).toString('hex'), ski.keyId, 'the key identifier is then computed from the key');
});

t.test('the DER reader refuses what runs past its container', async (t) => {
  t.same(readElements(Buffer.from([0x04, 0x01, 0x07, 0x05, 0x00])).map((e) => e.tag), [0x04, 0x05]);
  t.throws(() => readElements(Buffer.from([0x04, 0x02, 0x07])), RangeError, 'length past the end');
  t.throws(() => readElements(Buffer.from([0x04])), RangeError, 'no length');
  t.throws(() => readElements(Buffer.from([0x04, 0x80, 0x00, 0x00])), RangeError, 'indefinite length');
  t.throws(() => readElements(Buffer.from([0x04, 0x85, 1, 0, 0, 0, 0])), RangeError, 'a five-byte length');
  t.throws(() => readElements(Buffer.from([0x1f, 0x81, 0x01, 0x00])), RangeError, 'high tag number');
  t.throws(() => readElement(Buffer.from([0x04, 0x00, 0x04, 0x00]), TAG.OCTET_STRING), RangeError, 'two where one is expected');
  t.throws(() => readElement(Buffer.from([0x04, 0x00]), TAG.SEQUENCE), RangeError, 'the wrong tag');
  const long = tlv(TAG.OCTET_STRING, Buffer.alloc(300, 1));
  t.equal(readElement(long, TAG.OCTET_STRING).value.length, 300, 'a two-byte length');
  t.throws(() => parseDerTime({ tag: TAG.UTC_TIME, value: Buffer.from('2601020304Z'), raw: Buffer.alloc(0) }), RangeError, 'a time without seconds');
  t.equal(parseDerTime({ tag: TAG.UTC_TIME, value: Buffer.from('500101000000Z'), raw: Buffer.alloc(0) }).getUTCFullYear(), 1950, 'UTCTime 50 is 1950');
});

t.test('keyIdOf hashes the key bits of a SubjectPublicKeyInfo and refuses anything else', async (t) => {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  t.equal(keyIdOf(spki).toString('hex'), createHash('sha1').update(spki.subarray(spki.length - 65)).digest('hex'), 'P-256: the last 65 bytes are the point');
  t.throws(() => keyIdOf(tlv(TAG.SEQUENCE, tlv(TAG.SEQUENCE))), RangeError, 'no BIT STRING');
});
