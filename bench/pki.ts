import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Names the upstream certificate covers; every bench host is one of these. */
export const UPSTREAM_NAMES = ['bench.test', '*.bench.test', 'tunnel.test', 'plain.test'] as const;

export interface BenchPki {
  caCertPath: string;
  caPem: string;
  leafKeyPath: string;
  leafCertPath: string;
  leafKeyPem: string;
  leafCertPem: string;
}

/**
 * A throwaway test CA and one ECDSA P-256 upstream leaf, made with openssl in `dir`. Peers are
 * told to trust this CA for their upstream leg; nothing else on the machine trusts it.
 */
export async function createBenchPki(dir: string): Promise<BenchPki> {
  const caKey = join(dir, 'test-ca.key');
  const caCertPath = join(dir, 'test-ca.pem');
  const leafKeyPath = join(dir, 'upstream.key');
  const csr = join(dir, 'upstream.csr');
  const leafCertPath = join(dir, 'upstream.pem');
  const ext = join(dir, 'upstream.ext');
  const ecKey = (out: string) => run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', out]);
  await ecKey(caKey);
  await run('openssl', [
    'req', '-x509', '-new', '-key', caKey, '-sha256', '-days', '2', '-subj', '/CN=Sluice bench test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-out', caCertPath,
  ]);
  await ecKey(leafKeyPath);
  await run('openssl', ['req', '-new', '-key', leafKeyPath, '-subj', '/CN=bench.test', '-out', csr]);
  const san = [...UPSTREAM_NAMES.map((n) => `DNS:${n}`), 'IP:127.0.0.1'].join(',');
  await writeFile(ext, [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=serverAuth',
    `subjectAltName=${san}`,
    'subjectKeyIdentifier=hash',
    'authorityKeyIdentifier=keyid',
    '',
  ].join('\n'));
  await run('openssl', [
    'x509', '-req', '-in', csr, '-CA', caCertPath, '-CAkey', caKey, '-CAcreateserial', '-days', '2',
    '-sha256', '-extfile', ext, '-out', leafCertPath,
  ]);
  const [caPem, leafKeyPem, leafCertPem] = await Promise.all([
    readFile(caCertPath, 'utf8'), readFile(leafKeyPath, 'utf8'), readFile(leafCertPath, 'utf8'),
  ]);
  return { caCertPath, caPem, leafKeyPath, leafCertPath, leafKeyPem, leafCertPem };
}
