import net from 'node:net';

export interface Relay {
  /** TCP listeners: the bound port; unix sockets: 0 */
  readonly port: number;
  close(): Promise<void>;
}

export type RelayListen = { host: string; port?: number } | { path: string };

/**
 * A byte-for-byte relay to the proxy's TCP port from the sandbox-facing address (for example a
 * `sluice up` on 127.0.0.1, which a network namespace cannot reach) or from a unix socket bound
 * into a sandbox that has no network at all. It adds no protocol of its own:
 * Proxy-Authorization still identifies the sandbox to the proxy.
 */
export async function createRelay(opts: { listen: RelayListen; target: { host: string; port: number } }): Promise<Relay> {
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
    const done = () => {
      server.off('error', reject);
      resolve();
    };
    if ('path' in opts.listen) server.listen(opts.listen.path, done);
    else server.listen(opts.listen.port ?? 0, opts.listen.host, done);
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
