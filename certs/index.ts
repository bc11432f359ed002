export { caPaths, loadOrCreateCA } from './ca.js';
export type { CertificateAuthority } from './ca.js';
export { createLeafCache } from './leaf-cache.js';
export type { LeafCache, LeafCacheOptions } from './leaf-cache.js';
export { MAX_LEAF_VALIDITY_DAYS } from './leaf-issuer.js';
