import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import type { LeafCache } from '../../certs/index.js';

export interface SniServer {
  port: number;
  /** Host names seen in SNI, in order. */
  sniHosts: string[];
  close(): Promise<void>;
}

/**
 * An HTTPS server on 127.0.0.1:0 (or `listenHost`) that terminates TLS the way the proxy
 * does: it wraps each accepted socket in a server TLSSocket whose certificate comes from the
 * leaf cache, by SNI. Clients send no SNI for IP literals, so `defaultHost` names the host
 * presented then (the proxy knows it from the CONNECT target).
 */
export async function startSniServer(cache: LeafCache, opts: { defaultHost?: string; listenHost?: string } = {}): Promise<SniServer> {
  const { defaultHost, listenHost = '127.0.0.1' } = opts;
  const sniHosts: string[] = [];
  const defaultContext = defaultHost === undefined ? undefined : await cache.secureContextFor(defaultHost);
  const sockets = new Set<net.Socket>();
  const httpServer = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
    res.end('sluice-ok\n');
  });
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const secure = new tls.TLSSocket(socket, {
      isServer: true,
      ...(defaultContext ? { secureContext: defaultContext } : {}),
      SNICallback: (servername, cb) => {
        sniHosts.push(servername);
        cache.secureContextFor(servername).then((ctx) => cb(null, ctx), (err: Error) => cb(err));
      },
    });
    secure.on('error', () => socket.destroy());
    httpServer.emit('connection', secure);
  });
  await new Promise<void>((resolve) => server.listen(0, listenHost, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    sniHosts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
