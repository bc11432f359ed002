import net from 'node:net';

export interface Relay {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * A byte-for-byte TCP relay from the sandbox-facing address to a proxy listening elsewhere
 * (for example a `sluice up` on 127.0.0.1, which a network namespace cannot reach). It adds no
 * protocol of its own: Proxy-Authorization still identifies the sandbox to the proxy.
 */
export async function createRelay(opts: { host: string; port?: number; target: { host: string; port: number } }): Promise<Relay> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((inbound) => {
    const outbound = net.connect(opts.target.port, opts.target.host);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as net.AddressInfo;
  return {
    host: opts.host,
    port: address.port,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
