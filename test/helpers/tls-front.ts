import net from 'node:net';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { TestCert } from './tls.js';

/**
 * TLS in front of a plain-HTTP server (a fake backend), so clients talk HTTPS to it: on
 * 127.0.0.1:0, or where `listen` says (a fake hosted provider on port 443 of its own loopback
 * address, which `--resolve` points the provider's name at).
 */
export async function tlsFront(cert: TestCert, target: number, listen: { host: string; port: number } = { host: '127.0.0.1', port: 0 }): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({ key: cert.key, cert: cert.cert }, (socket) => {
    const back = net.connect(target, '127.0.0.1');
    sockets.add(socket).add(back);
    socket.pipe(back).pipe(socket);
    const done = () => {
      socket.destroy();
      back.destroy();
      sockets.delete(socket);
      sockets.delete(back);
    };
    socket.on('error', done).on('close', done);
    back.on('error', done).on('close', done);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
