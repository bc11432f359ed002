// Just enough X.509 (RFC 5280) to write Sluice's two kinds of certificate (its CA, its leaves)
// and to read its CA back, on node:crypto alone. @peculiar/x509 and its ASN.1 stack cost ~18 MB
// of a gateway's resident memory when loaded at start; test/certs/certificate.test.ts checks
// every encoding here byte for byte against that library's.
import { createHash, randomBytes, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { TAG, parseDerTime, readElement, readElements, tlv } from './der.js';

export const VERSION_3 = Buffer.from([0xa0, 0x03, 0x02, 0x01, 0x02]);
/** AlgorithmIdentifier ecdsa-with-SHA256 (1.2.840.10045.4.3.2), no parameters (RFC 5758). */
export const ECDSA_WITH_SHA256 = Buffer.from([0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]);

const OID = {
  commonName: Buffer.from([0x06, 0x03, 0x55, 0x04, 0x03]),
  organizationName: Buffer.from([0x06, 0x03, 0x55, 0x04, 0x0a]),
  subjectKeyIdentifier: Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x0e]),
  keyUsage: Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x0f]),
  subjectAltName: Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x11]),
  basicConstraints: Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x13]),
  authorityKeyIdentifier: Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x23]),
  extKeyUsage: Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x25]),
  serverAuth: Buffer.from([0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01]),
} as const;

/** KeyUsage bits (RFC 5280 §4.2.1.3), numbered from the first bit of the BIT STRING. */
export const KEY_USAGE = { digitalSignature: 0, keyCertSign: 5, cRLSign: 6 } as const;

const TRUE = Buffer.from([0x01, 0x01, 0xff]);

/** A random 128-bit serial, positive and non-zero in its first byte (RFC 5280 §4.1.2.2). */
export function randomSerial(): Buffer {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes;
}

export function extension(oid: Buffer, critical: boolean, value: Uint8Array): Buffer {
  return critical ? tlv(TAG.SEQUENCE, oid, TRUE, tlv(TAG.OCTET_STRING, value)) : tlv(TAG.SEQUENCE, oid, tlv(TAG.OCTET_STRING, value));
}

/** Always critical, as the CA/Browser Forum requires of a CA's and is customary for a leaf's. */
export function basicConstraints(ca: boolean, pathLength?: number): Buffer {
  const parts = ca ? [TRUE, ...(pathLength === undefined ? [] : [tlv(TAG.INTEGER, Buffer.from([pathLength]))])] : [];
  return extension(OID.basicConstraints, true, tlv(TAG.SEQUENCE, ...parts));
}

/** DER's BIT STRING drops trailing zero bits (X.690 §11.2.2); every bit Sluice sets is in the first byte. */
export function keyUsage(bits: readonly number[]): Buffer {
  let byte = 0;
  for (const bit of bits) byte |= 0x80 >> bit;
  let unused = 0;
  while (unused < 7 && ((byte >> unused) & 1) === 0) unused++;
  return extension(OID.keyUsage, true, tlv(TAG.BIT_STRING, Buffer.from([unused, byte])));
}

export function extKeyUsageServerAuth(): Buffer {
  return extension(OID.extKeyUsage, false, tlv(TAG.SEQUENCE, OID.serverAuth));
}

export function subjectKeyIdentifier(keyId: Buffer): Buffer {
  return extension(OID.subjectKeyIdentifier, false, tlv(TAG.OCTET_STRING, keyId));
}

/** keyIdentifier only: [0] IMPLICIT OCTET STRING. */
export function authorityKeyIdentifier(keyId: Buffer): Buffer {
  return extension(OID.authorityKeyIdentifier, false, tlv(TAG.SEQUENCE, tlv(0x80, keyId)));
}

/** GeneralNames holding one dNSName (names Sluice mints for are ASCII: leaf-cache checks them). */
export function subjectAltNameDns(host: string, critical: boolean): Buffer {
  return extension(OID.subjectAltName, critical, tlv(TAG.SEQUENCE, tlv(TAG.DNS_NAME, Buffer.from(host, 'ascii'))));
}

/** A Name of single-attribute RDNs in order, UTF8String values (RFC 5280 §4.1.2.6). */
export function distinguishedName(rdns: ReadonlyArray<{ type: 'O' | 'CN'; value: string }>): Buffer {
  return tlv(
    TAG.SEQUENCE,
    ...rdns.map(({ type, value }) => tlv(TAG.SET, tlv(TAG.SEQUENCE, type === 'CN' ? OID.commonName : OID.organizationName, tlv(TAG.UTF8_STRING, Buffer.from(value, 'utf8'))))),
  );
}

/** RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING's bits. */
export function keyIdOf(spkiDer: Buffer): Buffer {
  const [, bits] = readElements(readElement(spkiDer, TAG.SEQUENCE).value);
  if (!bits || bits.tag !== TAG.BIT_STRING || bits.value[0] !== 0) throw new RangeError('not a SubjectPublicKeyInfo');
  return createHash('sha1').update(bits.value.subarray(1)).digest();
}

/** Signs a TBSCertificate with an EC key and returns the Certificate's DER. */
export function signCertificate(tbs: Buffer, key: KeyObject): Buffer {
  const signature = sign('sha256', tbs, { key, dsaEncoding: 'der' });
  return tlv(TAG.SEQUENCE, tbs, ECDSA_WITH_SHA256, tlv(TAG.BIT_STRING, Buffer.from([0]), signature));
}

/** What a leaf needs from its CA's certificate: issuer name, validity, key identifier. */
export interface CertificateParts {
  /** The subject Name's DER, byte for byte (a leaf's issuer must match it exactly). */
  subject: Buffer;
  notBefore: Date;
  notAfter: Date;
  /** The Subject Key Identifier extension's value, if the certificate has one. */
  subjectKeyId?: Buffer;
  spki: Buffer;
}

/** Reads a certificate node:crypto has already parsed (so malformed input never reaches here unchecked). */
export function certificateParts(der: Buffer): CertificateParts {
  const [tbs] = readElements(readElement(der, TAG.SEQUENCE).value);
  if (!tbs || tbs.tag !== TAG.SEQUENCE) throw new RangeError('not a certificate');
  const fields = readElements(tbs.value);
  const [, , , , validity, subject, spki, ...rest] = fields[0]?.tag === TAG.CONTEXT_0 ? fields : [undefined, ...fields];
  if (!validity || !subject || !spki) throw new RangeError('certificate is missing fields');
  const [notBefore, notAfter] = readElements(validity.value);
  if (!notBefore || !notAfter) throw new RangeError('certificate validity is malformed');
  const parts: CertificateParts = { subject: subject.raw, notBefore: parseDerTime(notBefore), notAfter: parseDerTime(notAfter), spki: spki.raw };
  const extensions = rest.find((el) => el?.tag === TAG.CONTEXT_3);
  if (!extensions) return parts;
  for (const ext of readElements(readElement(extensions.value, TAG.SEQUENCE).value)) {
    const [oid, ...tail] = readElements(ext.value);
    if (!oid?.raw.equals(OID.subjectKeyIdentifier)) continue;
    const value = tail.at(-1);
    if (value?.tag !== TAG.OCTET_STRING) throw new RangeError('subjectKeyIdentifier is malformed');
    parts.subjectKeyId = readElement(value.value, TAG.OCTET_STRING).value;
  }
  return parts;
}
