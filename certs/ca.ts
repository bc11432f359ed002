import { constants as fsConstants } from 'node:fs';
import { lstat, mkdir, mkdtemp, open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { X509Certificate, createPrivateKey, generateKeyPair, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import {
  ECDSA_WITH_SHA256, KEY_USAGE, VERSION_3, authorityKeyIdentifier, basicConstraints, certificateParts, distinguishedName, keyIdOf,
  keyUsage, randomSerial, signCertificate, subjectKeyIdentifier,
} from './certificate.js';
import { TAG, derTime, pemFromDerBytes, tlv } from './der.js';

/** The local CA that signs intercepted hosts' leaf certificates. */
export interface CertificateAuthority {
  readonly certPem: string;
  readonly certPath: string;
  readonly keyPath: string;
  /** Internal: the CA's signing key (EC P-256). */
  readonly signingKey: KeyObject;
  /** Internal: the CA's subject Name, DER (the leaves' issuer). */
  readonly subject: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Internal: hex Subject Key Identifier, used as the leaves' Authority Key Identifier. */
  readonly keyId: string;
}

const CA_DIR = 'ca';
const CERT_FILE = 'sluice-ca.pem';
const KEY_FILE = 'sluice-ca-key.pem';
const CA_VALIDITY_MS = 3650 * 86_400_000;
const BACKDATE_MS = 3_600_000;

/**
 * Loads the CA from `home/ca/`, creating it on first use. The key file is 0600 and a key
 * that group or others can read is refused, as ssh does: a leaked CA key lets anyone
 * impersonate every host to every client that trusts it.
 */
export async function loadOrCreateCA(home: string): Promise<CertificateAuthority> {
  const root = path.resolve(home);
  await mkdir(root, { recursive: true, mode: 0o700 });
  const { certPath, keyPath } = caPaths(root);
  if (!(await exists(keyPath)) && !(await exists(certPath))) {
    await createCA(root, path.dirname(certPath));
  }
  return loadCA(certPath, keyPath);
}

/** Where the CA of a state directory lives, without reading or creating anything (`sluice ca path`). */
export function caPaths(home: string): { certPath: string; keyPath: string } {
  const caDir = path.join(path.resolve(home), CA_DIR);
  return { certPath: path.join(caDir, CERT_FILE), keyPath: path.join(caDir, KEY_FILE) };
}

async function loadCA(certPath: string, keyPath: string): Promise<CertificateAuthority> {
  const keyStat = await lstat(keyPath).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') {
      throw new Error(`CA key ${keyPath} is missing but ${certPath} exists; remove ${path.dirname(keyPath)} to create a new CA`);
    }
    throw err;
  });
  if (!keyStat.isFile()) throw new Error(`CA key ${keyPath} is not a regular file; refusing to use it`);
  if ((keyStat.mode & 0o077) !== 0) {
    const mode = (keyStat.mode & 0o777).toString(8).padStart(4, '0');
    throw new Error(`CA key ${keyPath} has mode ${mode}, readable by other users; run: chmod 600 ${keyPath}`);
  }
  const certPem = await readFile(certPath, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') {
      throw new Error(`CA certificate ${certPath} is missing but ${keyPath} exists; remove ${path.dirname(certPath)} to create a new CA`);
    }
    throw err;
  });
  const keyPem = await readFile(keyPath, 'utf8');
  let certificate: X509Certificate;
  let signingKey: KeyObject;
  let parts: ReturnType<typeof certificateParts>;
  try {
    certificate = new X509Certificate(certPem);
    signingKey = createPrivateKey(keyPem);
    parts = certificateParts(certificate.raw);
  } catch (err) {
    throw new Error(`cannot read the CA in ${path.dirname(certPath)}: ${(err as Error).message}`, { cause: err });
  }
  // Leaves are signed ecdsa-with-SHA256 by this key (leaf-issuer.ts): any other key would sign
  // certificates whose stated algorithm is false.
  if (signingKey.asymmetricKeyType !== 'ec' || signingKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error(`cannot read the CA in ${path.dirname(certPath)}: the key is not an ECDSA P-256 key`);
  }
  if (parts.notAfter.getTime() <= Date.now()) {
    throw new Error(`CA certificate ${certPath} expired on ${parts.notAfter.toISOString()}; remove ${path.dirname(certPath)} to create a new CA`);
  }
  if (!certificate.checkPrivateKey(signingKey)) {
    throw new Error(`CA key ${keyPath} does not belong to certificate ${certPath}`);
  }
  const keyId = (parts.subjectKeyId ?? keyIdOf(parts.spki)).toString('hex');
  return {
    certPem: pemFromDerBytes(certificate.raw, 'CERTIFICATE'), certPath, keyPath, signingKey,
    subject: parts.subject, notBefore: parts.notBefore, notAfter: parts.notAfter, keyId,
  };
}

/**
 * Writes key and certificate into a private temporary directory and renames it into place,
 * so a reader never sees a half-written key or a key without its certificate, and two
 * processes starting at once agree on one CA (the loser's rename fails and it loads the winner's).
 */
async function createCA(root: string, caDir: string): Promise<void> {
  const { publicKey, privateKey } = await promisify(generateKeyPair)('ec', { namedCurve: 'prime256v1' });
  const now = Date.now();
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const keyId = keyIdOf(spki);
  const name = distinguishedName([{ type: 'O', value: 'Sluice' }, { type: 'CN', value: `Sluice Local CA ${randomBytes(4).toString('hex')}` }]);
  const tbs = tlv(
    TAG.SEQUENCE,
    VERSION_3,
    tlv(TAG.INTEGER, randomSerial()),
    ECDSA_WITH_SHA256,
    name,
    tlv(TAG.SEQUENCE, derTime(new Date(now - BACKDATE_MS)), derTime(new Date(now + CA_VALIDITY_MS))),
    name,
    spki,
    tlv(TAG.CONTEXT_3, tlv(TAG.SEQUENCE,
      basicConstraints(true, 0),
      keyUsage([KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign]),
      subjectKeyIdentifier(keyId),
      authorityKeyIdentifier(keyId),
    )),
  );
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const certPem = pemFromDerBytes(signCertificate(tbs, privateKey), 'CERTIFICATE');

  const tmp = await mkdtemp(path.join(root, '.ca-'));
  try {
    await writeDurably(path.join(tmp, KEY_FILE), keyPem, 0o600);
    await writeDurably(path.join(tmp, CERT_FILE), certPem, 0o644);
    try {
      await rename(tmp, caDir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Another process won the race (or the directory holds something else): use what is there.
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    }
    await syncDir(root);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function writeDurably(file: string, data: string, mode: number): Promise<void> {
  const flags = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW;
  const handle = await open(file, flags, mode);
  try {
    await handle.writeFile(data, 'utf8');
    // The umask may only narrow the mode, but an explicit chmod makes 0600 hold regardless.
    await handle.chmod(mode);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, fsConstants.O_RDONLY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Directory fsync is best effort (unsupported on some filesystems).
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await lstat(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
