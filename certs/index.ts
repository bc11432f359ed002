/**
 * The local CA and per-host leaf certificates for TLS interception.
 *
 *   const ca = await loadOrCreateCA(home);      // home/ca/sluice-ca.pem, key 0600, reused
 *   const leaves = await createLeafCache(ca);   // one per proxy instance; close() on shutdown
 *   // After answering CONNECT: mint for the canonical CONNECT host, since clients send no
 *   // SNI for IP literals (use SNICallback only to compare, never to choose the certificate).
 *   const tlsSocket = new tls.TLSSocket(clientSocket, {
 *     isServer: true,
 *     secureContext: await leaves.secureContextFor(destination.host),
 *     ALPNProtocols: ['http/1.1'],
 *   });
 */
export { caPaths, loadOrCreateCA } from './ca.js';
export type { CertificateAuthority } from './ca.js';
export { createLeafCache, ESTIMATED_CONTEXT_BYTES } from './leaf-cache.js';
export type { LeafCache, LeafCacheOptions } from './leaf-cache.js';
export { MAX_LEAF_VALIDITY_DAYS } from './leaf-issuer.js';
