import { generateKeyPair } from 'node:crypto';
import net from 'node:net';
import { promisify } from 'node:util';
import type { CertificateAuthority } from './ca.js';
import {
  ECDSA_WITH_SHA256, KEY_USAGE, VERSION_3, authorityKeyIdentifier, basicConstraints, extKeyUsageServerAuth, keyIdOf, keyUsage,
  distinguishedName, randomSerial, signCertificate, subjectAltNameDns, subjectKeyIdentifier,
} from './certificate.js';
import { TAG, derTime, pemFromDerBytes, tlv } from './der.js';

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

export async function createLeafIssuer(ca: CertificateAuthority): Promise<LeafIssuer> {
  const { publicKey, privateKey } = await promisify(generateKeyPair)('ec', { namedCurve: 'prime256v1' });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  // Everything but serial, dates and names is the same for every host: encoded once, and each
  // mint only concatenates (see der.ts for why).
  const fixedExtensions = Buffer.concat([
    basicConstraints(false),
    keyUsage([KEY_USAGE.digitalSignature]),
    extKeyUsageServerAuth(),
    subjectKeyIdentifier(keyIdOf(spki)),
    authorityKeyIdentifier(Buffer.from(ca.keyId, 'hex')),
  ]);
  // Leaves never claim validity outside their CA's.
  const caNotBefore = ca.notBefore.getTime();
  const caNotAfter = ca.notAfter.getTime();

  return {
    keyPem,
    async mint(host, nowMs, validityDays) {
      const withCn = host.length <= MAX_CN_LENGTH;
      const notBefore = new Date(Math.max(nowMs - BACKDATE_MS, caNotBefore));
      const notAfter = new Date(Math.min(nowMs + validityDays * DAY_MS, caNotAfter));
      const subject = distinguishedName(withCn ? [{ type: 'CN', value: host }] : []);
      const tbs = tlv(
        TAG.SEQUENCE,
        VERSION_3,
        tlv(TAG.INTEGER, randomSerial()),
        ECDSA_WITH_SHA256,
        ca.subject,
        tlv(TAG.SEQUENCE, derTime(notBefore), derTime(notAfter)),
        subject,
        spki,
        tlv(TAG.CONTEXT_3, tlv(TAG.SEQUENCE, fixedExtensions, await subjectAltName(host, !withCn))),
      );
      const cert = signCertificate(tbs, ca.signingKey);
      return { chainPem: pemFromDerBytes(cert, 'CERTIFICATE') + ca.certPem, notBefore, notAfter };
    },
  };
}

/** RFC 5280 §4.2.1.6: with an empty subject the SAN extension must be critical. */
async function subjectAltName(host: string, critical: boolean): Promise<Uint8Array> {
  if (net.isIP(host) !== 0) {
    // IP literals are rare enough to afford loading the library (it knows every IPv6 form).
    const { x509 } = await import('./x509.js');
    return new Uint8Array(new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: host }], critical).rawData);
  }
  return subjectAltNameDns(host, critical);
}
