import { KeyObject, sign } from 'node:crypto';
import net from 'node:net';
import type { CertificateAuthority } from './ca.js';
import { TAG, derTime, pemFromDerBytes, tlv } from './der.js';
import { KEY_ALGORITHM, crypto, pemFromDer, randomSerial, x509 } from './x509.js';
import type { CryptoKeyPair } from './x509.js';

export interface LeafCertificate {
  /** Leaf then CA, PEM, ready for tls.createSecureContext({ cert }). */
  chainPem: string;
  notBefore: Date;
  notAfter: Date;
}

/** Mints leaves for one key pair; every host shares the key, so minting is one signature. */
export interface LeafIssuer {
  /** PKCS#8 PEM of the shared leaf key. */
  readonly keyPem: string;
  mint(host: string, nowMs: number, validityDays: number): Promise<LeafCertificate>;
}

/** CAB Forum ceiling for TLS server certificates; Apple clients reject longer ones. */
export const MAX_LEAF_VALIDITY_DAYS = 397;
const DAY_MS = 86_400_000;
/** Tolerates clients whose clocks run a little behind ours. */
const BACKDATE_MS = 3_600_000;
/** X.520 ub-common-name; a longer CN makes strict parsers reject the certificate. */
const MAX_CN_LENGTH = 64;

const VERSION_3 = Buffer.from([0xa0, 0x03, 0x02, 0x01, 0x02]);
/** AlgorithmIdentifier ecdsa-with-SHA256 (1.2.840.10045.4.3.2), no parameters (RFC 5758). */
const ECDSA_WITH_SHA256 = Buffer.from([0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]);
const OID_COMMON_NAME = Buffer.from([0x06, 0x03, 0x55, 0x04, 0x03]);
const OID_SUBJECT_ALT_NAME = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x11]);
const CRITICAL = Buffer.from([0x01, 0x01, 0xff]);
const UNUSED_BITS_NONE = Buffer.from([0x00]);

export async function createLeafIssuer(ca: CertificateAuthority): Promise<LeafIssuer> {
  const keys = (await crypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
  const keyPem = pemFromDer(await crypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
  // Everything but serial, dates and names is the same for every host: encode it once with
  // @peculiar/x509 and only concatenate per host (see der.ts for why).
  const fixedExtensions = Buffer.concat(
    [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      new x509.AuthorityKeyIdentifierExtension(ca.keyId, false),
    ].map((ext) => Buffer.from(ext.rawData)),
  );
  const spki = Buffer.from((await x509.PublicKey.create(keys.publicKey, crypto)).rawData);
  const issuer = Buffer.from(ca.certificate.subjectName.toArrayBuffer());
  const caKey = KeyObject.from(ca.signingKey);
  // Leaves never claim validity outside their CA's.
  const caNotBefore = ca.certificate.notBefore.getTime();
  const caNotAfter = ca.certificate.notAfter.getTime();

  return {
    keyPem,
    async mint(host, nowMs, validityDays) {
      const withCn = host.length <= MAX_CN_LENGTH;
      const notBefore = new Date(Math.max(nowMs - BACKDATE_MS, caNotBefore));
      const notAfter = new Date(Math.min(nowMs + validityDays * DAY_MS, caNotAfter));
      const subject = withCn ? tlv(TAG.SEQUENCE, tlv(TAG.SET, tlv(TAG.SEQUENCE, OID_COMMON_NAME, tlv(TAG.UTF8_STRING, Buffer.from(host, 'utf8'))))) : tlv(TAG.SEQUENCE);
      const tbs = tlv(
        TAG.SEQUENCE,
        VERSION_3,
        tlv(TAG.INTEGER, Buffer.from(randomSerial(), 'hex')),
        ECDSA_WITH_SHA256,
        issuer,
        tlv(TAG.SEQUENCE, derTime(notBefore), derTime(notAfter)),
        subject,
        spki,
        tlv(TAG.CONTEXT_3, tlv(TAG.SEQUENCE, fixedExtensions, subjectAltName(host, !withCn))),
      );
      const signature = sign('sha256', tbs, { key: caKey, dsaEncoding: 'der' });
      const cert = tlv(TAG.SEQUENCE, tbs, ECDSA_WITH_SHA256, tlv(TAG.BIT_STRING, UNUSED_BITS_NONE, signature));
      return { chainPem: pemFromDerBytes(cert, 'CERTIFICATE') + ca.certPem, notBefore, notAfter };
    },
  };
}

/** RFC 5280 §4.2.1.6: with an empty subject the SAN extension must be critical. */
function subjectAltName(host: string, critical: boolean): Uint8Array {
  if (net.isIP(host) !== 0) {
    // IP literals are rare enough to afford the library's slower path (it knows IPv6 forms).
    return new Uint8Array(new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: host }], critical).rawData);
  }
  const names = tlv(TAG.SEQUENCE, tlv(TAG.DNS_NAME, Buffer.from(host, 'ascii')));
  return critical ? tlv(TAG.SEQUENCE, OID_SUBJECT_ALT_NAME, CRITICAL, tlv(TAG.OCTET_STRING, names)) : tlv(TAG.SEQUENCE, OID_SUBJECT_ALT_NAME, tlv(TAG.OCTET_STRING, names));
}
