// @peculiar/x509 resolves its ASN.1 serializers through tsyringe, which needs the Reflect
// polyfill loaded before the library itself; in certs/ this is the only file that imports x509.
// Sluice loads it only to mint for an IP literal (leaf-issuer.ts): it costs ~18 MB at rest.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

export { x509 };
