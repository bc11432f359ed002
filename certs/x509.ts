// @peculiar/x509 resolves its ASN.1 serializers through tsyringe, which needs the Reflect
// polyfill loaded before the library itself; in certs/ this is the only file that imports x509.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

export { x509 };

/**
 * Node's WebCrypto, passed explicitly to every x509 call instead of setting the library's
 * global provider, so that nothing here depends on (or changes) process-wide state.
 */
export const crypto: webcrypto.Crypto = webcrypto;
export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;

/** ECDSA P-256 with SHA-256: small keys, fast signatures, accepted by every TLS client. */
export const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const SIGNING_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A random 128-bit serial, positive and non-zero in its first byte (RFC 5280 §4.1.2.2). */
export function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return Buffer.from(bytes).toString('hex');
}

export function pemFromDer(der: ArrayBuffer, label: 'PRIVATE KEY' | 'CERTIFICATE'): string {
  // x509's PEM encoder omits the final newline; OpenSSL needs it between concatenated PEMs.
  const pem = x509.PemConverter.encode(der, label);
  return pem.endsWith('\n') ? pem : `${pem}\n`;
}
