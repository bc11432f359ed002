import net from 'node:net';
import type { CertificateAuthority } from './ca.js';
import { KEY_ALGORITHM, SIGNING_ALGORITHM, crypto, pemFromDer, randomSerial, x509 } from './x509.js';
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

export async function createLeafIssuer(ca: CertificateAuthority): Promise<LeafIssuer> {
  const keys = (await crypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
  const keyPem = pemFromDer(await crypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
  // Everything but the names and dates is the same for every host: build it once.
  const publicKey = await x509.PublicKey.create(keys.publicKey, crypto);
  const fixedExtensions = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
    new x509.AuthorityKeyIdentifierExtension(ca.keyId, false),
  ];
  const issuer = ca.certificate.subjectName;
  // Leaves never claim validity outside their CA's.
  const caNotBefore = ca.certificate.notBefore.getTime();
  const caNotAfter = ca.certificate.notAfter.getTime();

  return {
    keyPem,
    async mint(host, nowMs, validityDays) {
      const isIp = net.isIP(host) !== 0;
      const withCn = host.length <= MAX_CN_LENGTH;
      const notBefore = new Date(Math.max(nowMs - BACKDATE_MS, caNotBefore));
      const notAfter = new Date(Math.min(nowMs + validityDays * DAY_MS, caNotAfter));
      const cert = await x509.X509CertificateGenerator.create(
        {
          serialNumber: randomSerial(),
          subject: withCn ? [{ CN: [host] }] : [],
          issuer,
          notBefore,
          notAfter,
          publicKey,
          signingKey: ca.signingKey,
          signingAlgorithm: SIGNING_ALGORITHM,
          extensions: [
            ...fixedExtensions,
            // RFC 5280 §4.2.1.6: with an empty subject the SAN extension must be critical.
            new x509.SubjectAlternativeNameExtension([{ type: isIp ? 'ip' : 'dns', value: host }], !withCn),
          ],
        },
        crypto,
      );
      return { chainPem: pemFromDer(cert.rawData, 'CERTIFICATE') + ca.certPem, notBefore, notAfter };
    },
  };
}
