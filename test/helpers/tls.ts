import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import net from 'node:net';
import * as x509 from '@peculiar/x509';

type CryptoKeyPair = webcrypto.CryptoKeyPair;

const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface TestCert {
  key: string;
  cert: string;
}

export interface TestCA {
  caPem: string;
  /** Issues a server certificate for the given DNS names / IP literals, signed by this CA. */
  issue(names: string[], opts?: { notAfter?: Date; notBefore?: Date }): Promise<TestCert>;
}

/** A throwaway CA for test upstreams: Sluice must trust it via NODE_EXTRA_CA_CERTS or options. */
export async function createTestCA(name = 'Sluice Test Upstream CA'): Promise<TestCA> {
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const caCert = await x509.X509CertificateGenerator.createSelfSigned(
    {
    serialNumber: randomSerial(),
    name: `CN=${name}`,
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + 30 * 86400_000),
    keys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, webcrypto),
    ],
  });
  return {
    caPem: caCert.toString('pem'),
    async issue(names, opts = {}) {
      const leafKeys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
      const cert = await x509.X509CertificateGenerator.create({
        serialNumber: randomSerial(),
        subject: `CN=${names[0] ?? 'localhost'}`,
        issuer: caCert.subject,
        notBefore: opts.notBefore ?? new Date(now - 3600_000),
        notAfter: opts.notAfter ?? new Date(now + 7 * 86400_000),
        publicKey: leafKeys.publicKey,
        signingKey: keys.privateKey,
        signingAlgorithm: alg,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
          new x509.SubjectAlternativeNameExtension(
            names.map((n) => (net.isIP(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n })),
          ),
          await x509.SubjectKeyIdentifierExtension.create(leafKeys.publicKey, false, webcrypto),
          await x509.AuthorityKeyIdentifierExtension.create(caCert, false, webcrypto),
        ],
      }, webcrypto);
      const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', leafKeys.privateKey);
      const key = x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
      return { key, cert: cert.toString('pem') };
    },
  };
}

function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return Buffer.from(bytes).toString('hex');
}
