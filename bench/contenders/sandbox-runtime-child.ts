import { readFile, rename, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Anthropic sandbox-runtime's HTTP proxy (the one `srt` puts in front of a sandbox), standalone:
 * its domain filter allows the bench names only; CONNECT is TLS-terminated in-process with an
 * ephemeral CA of its own (its `tlsTerminate` mode), except the tunnel host, which stays an
 * opaque tunnel; plain HTTP is forwarded.
 * argv: PORT PACKAGE_DIR ALLOWED_SUFFIXES(comma-separated) TUNNEL_HOST TEST_CA_PATH STATE_DIR
 */
const [portArg, pkgDir, allowed, tunnelHost, testCa, stateDir] = process.argv.slice(2);
const suffixes = allowed!.split(',');
const load = async <T>(rel: string): Promise<T> => (await import(pathToFileURL(join(pkgDir!, 'dist/sandbox', rel)).href)) as T;
const { createHttpProxyServer } = await load<{
  createHttpProxyServer(o: Record<string, unknown>): Server;
}>('http-proxy.js');
const { createMitmCA } = await load<{ createMitmCA(o: Record<string, unknown>): { certPem: string } }>('mitm-ca.js');
const mitmCA = createMitmCA({});
const server = createHttpProxyServer({
  filter: (_port: number, host: string) => suffixes.some((s) => host === s || host.endsWith(`.${s}`)),
  mitmCA,
  shouldTerminateTLS: (host: string) => host !== tunnelHost,
  tlsTerminateUpstreamCA: await readFile(testCa!, 'utf8'),
});
server.listen(Number(portArg), '127.0.0.1', () => {
  // The parent waits for this file, so it appears only once the proxy listens.
  const caPath = join(stateDir!, 'srt-ca.pem');
  void writeFile(`${caPath}.tmp`, mitmCA.certPem).then(() => rename(`${caPath}.tmp`, caPath));
});
process.once('SIGTERM', () => process.exit(0));
