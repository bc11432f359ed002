import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where system trust stores live on the distributions Sluice runs on. */
const SYSTEM_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem'];

/**
 * Per-sandbox state lives under `<runDir>/<name>/`: root uses /run/sluice (tmpfs, gone on
 * reboot like the namespaces it describes), others $XDG_RUNTIME_DIR or the temp dir.
 */
export function sluiceRunDir(): string {
  if (process.env.SLUICE_RUN_DIR) return process.env.SLUICE_RUN_DIR;
  if (process.getuid?.() === 0) return '/run/sluice';
  return path.join(process.env.XDG_RUNTIME_DIR ?? os.tmpdir(), 'sluice');
}

export interface SandboxFiles {
  dir: string;
  caPath: string;
  bundlePath: string;
  resolvConfPath: string;
  preloadPath: string;
  undiciDir: string;
}

/** The preload ships as plain JS next to this module (or next to its compiled copy in dist/). */
export function preloadSourcePath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'preload', 'preload.mjs'), path.join(here, '..', '..', 'sandbox', 'preload', 'preload.mjs')];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`sandbox preload not found (looked in ${candidates.join(', ')})`);
  return found;
}

export function undiciSourceDir(): string {
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve('undici/package.json'));
}

/**
 * The host's trust store, as bytes and read off the event loop: ~200 KB that a gateway read
 * synchronously and decoded on every sandbox start (18 ms a start at a load of 15, profiled).
 */
async function systemBundle(): Promise<Buffer> {
  for (const candidate of SYSTEM_BUNDLES) {
    if (existsSync(candidate)) return readFile(candidate);
  }
  return Buffer.alloc(0);
}

/**
 * Writes the CA, the combined bundle and an empty resolv.conf (no nameserver: a lookup fails at
 * once instead of timing out against an address that cannot answer). Readable by everyone,
 * because the command may run as an unprivileged user.
 */
export async function writeSandboxFiles(name: string, caCertPem: string): Promise<SandboxFiles> {
  const dir = path.join(sluiceRunDir(), name);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  await chmod(path.dirname(dir), 0o755).catch(() => undefined);
  const ca = caCertPem.endsWith('\n') ? caCertPem : `${caCertPem}\n`;
  const files: SandboxFiles = {
    dir,
    caPath: path.join(dir, 'ca.pem'),
    bundlePath: path.join(dir, 'ca-bundle.pem'),
    resolvConfPath: path.join(dir, 'resolv.conf'),
    preloadPath: preloadSourcePath(),
    undiciDir: undiciSourceDir(),
  };
  const system = await systemBundle();
  const separator = system.length === 0 || system[system.length - 1] === 0x0a ? '' : '\n';
  await Promise.all([
    writeFile(files.caPath, ca, { mode: 0o644 }),
    writeFile(files.bundlePath, Buffer.concat([system, Buffer.from(`${separator}${ca}`)]), { mode: 0o644 }),
    writeFile(files.resolvConfPath, '# sluice: no DNS inside the sandbox; names resolve at the proxy\n', { mode: 0o644 }),
  ]);
  return files;
}
