import http from 'node:http';
import net from 'node:net';

/**
 * A stand-in for the Sluice proxy until proxy/index.ts exists: CONNECT and absolute-form HTTP,
 * one allowed host name mapped to a local upstream, everything else refused with a 403 JSON in
 * the shape Sluice uses. It never connects anywhere but the mapped 127.0.0.1 target.
 */
export interface StandInProxy {
  readonly host: string;
  readonly port: number;
  /** `host:port` strings of every CONNECT / request target seen, in order. */
  readonly seen: string[];
  /** Proxy-Authorization headers seen. */
  readonly auth: string[];
  close(): Promise<void>;
}

export interface StandInOptions {
  host: string;
  port?: number;
  /** allowed `name:port` → local port on 127.0.0.1 */
  allow: Record<string, number>;
}

function deny(target: string): string {
  return JSON.stringify({ error: 'policy_denied', reason: `stand-in proxy: ${target} is not allowed`, host: target });
}

export async function startStandInProxy(opts: StandInOptions): Promise<StandInProxy> {
  const seen: string[] = [];
  const auth: string[] = [];
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  const server = http.createServer((req, res) => {
    // absolute-form: GET http://name:port/path
    const url = new URL(req.url ?? '/', 'http://invalid');
    const target = `${url.hostname}:${url.port || '80'}`;
    seen.push(target);
    if (req.headers['proxy-authorization']) auth.push(req.headers['proxy-authorization']);
    const localPort = opts.allow[target];
    if (localPort === undefined) {
      res.writeHead(403, { 'content-type': 'application/json', 'x-sluice-error': 'policy_denied' }).end(deny(target));
      return;
    }
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    delete headers['proxy-connection'];
    const upstream = http.request({ host: '127.0.0.1', port: localPort, method: req.method, path: url.pathname + url.search, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.on('connection', track);
  server.on('connect', (req, socket: net.Socket, head) => {
    const target = req.url ?? '';
    seen.push(target);
    if (req.headers['proxy-authorization']) auth.push(req.headers['proxy-authorization']);
    const localPort = opts.allow[target];
    if (localPort === undefined) {
      const body = deny(target);
      socket.end(
        `HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\nx-sluice-error: policy_denied\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      return;
    }
    const upstream = net.connect(localPort, '127.0.0.1', () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(socket).pipe(upstream);
    });
    track(upstream);
    upstream.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    host: opts.host,
    port,
    seen,
    auth,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
