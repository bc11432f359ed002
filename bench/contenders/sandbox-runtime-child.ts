import type { Server } from 'node:http';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

/**
 * Anthropic sandbox-runtime's HTTP proxy (the one `srt` puts in front of a sandbox), standalone:
 * its domain filter allows the bench names only; CONNECT is tunneled, plain HTTP forwarded.
 * argv: PORT PACKAGE_DIR ALLOWED_SUFFIXES(comma-separated)
 */
const [portArg, pkgDir, allowed] = process.argv.slice(2);
const suffixes = allowed!.split(',');
const mod = (await import(pathToFileURL(join(pkgDir!, 'dist/sandbox/http-proxy.js')).href)) as {
  createHttpProxyServer(o: { filter(port: number, host: string): boolean }): Server;
};
const server = mod.createHttpProxyServer({
  filter: (_port, host) => suffixes.some((s) => host === s || host.endsWith(`.${s}`)),
});
server.listen(Number(portArg), '127.0.0.1');
process.once('SIGTERM', () => process.exit(0));
