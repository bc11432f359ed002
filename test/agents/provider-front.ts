import crypto from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import type { TestCert } from '../helpers/tls.js';

/**
 * Agents call their providers on port 443 and cannot be told otherwise without changing their
 * settings. So the fake providers sit behind one TLS listener on port 443 of an address of its
 * own in 127.0.0.0/8 (Sluice's --resolve pins the provider names to it), which hands each
 * connection to the fake named by its SNI. The address is random so that concurrent runs on the
 * machine never meet.
 */
export interface ProviderFront {
  address: string;
  close(): Promise<void>;
}

export async function startProviderFront(cert: TestCert, routes: Record<string, number>): Promise<ProviderFront> {
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({ key: cert.key, cert: cert.cert, ALPNProtocols: ['http/1.1'] }, (socket) => {
    const port = routes[(socket as tls.TLSSocket & { servername?: string }).servername ?? ''];
    if (port === undefined) {
      socket.destroy();
      return;
    }
    const back = net.connect(port, '127.0.0.1');
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
  for (let attempt = 0; ; attempt++) {
    const b = crypto.randomBytes(3);
    const address = `127.${64 + (b[0]! % 128)}.${b[1]}.${1 + (b[2]! % 254)}`;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(443, address, () => {
          server.off('error', reject);
          resolve();
        });
      });
      return {
        address,
        close: () =>
          new Promise<void>((resolve) => {
            for (const s of sockets) s.destroy();
            server.close(() => resolve());
          }),
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt > 10) throw err;
    }
  }
}
