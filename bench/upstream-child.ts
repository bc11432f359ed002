import { createServer as createHttpServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { serveChildRpc } from './child-rpc.js';
import type { UpstreamPorts, UpstreamStartRequest } from './upstream.js';

/**
 * The local upstreams, in their own process: HTTPS and HTTP servers with the same routes, and
 * a TCP port that accepts and holds connections (the far end of idle tunnels).
 *   GET  /small         → SMALL_BYTES of body
 *   GET  /large?bytes=N → N bytes, streamed in 64 KiB chunks
 *   POST /upload        → drains the body, answers with the byte count
 */
const SMALL_BYTES = 100;
const small = Buffer.alloc(SMALL_BYTES, 'x');
const chunk = Buffer.alloc(64 * 1024, 'y');

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://upstream');
  if (req.method === 'POST' && url.pathname === '/upload') {
    let n = 0;
    req.on('data', (c: Buffer) => { n += c.length; });
    req.on('end', () => {
      const body = String(n);
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    return;
  }
  if (url.pathname === '/large') {
    let left = Number(url.searchParams.get('bytes') ?? chunk.length);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': left });
    const pump = (): void => {
      while (left > 0) {
        const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
        left -= piece.length;
        if (!res.write(piece)) { res.once('drain', pump); return; }
      }
      res.end();
    };
    pump();
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': small.length });
  res.end(small);
}

function tune(server: Server): void {
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;
  server.requestTimeout = 0;
  server.on('connection', (s: Socket) => s.setNoDelay(true));
}

async function listen(server: { listen(port: number, host: string, cb: () => void): unknown; address(): unknown }): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function start(req: UpstreamStartRequest): Promise<UpstreamPorts> {
  const https = createHttpsServer({ key: req.keyPem, cert: req.certPem }, handle);
  tune(https);
  const http = createHttpServer(handle);
  tune(http);
  const held = new Set<Socket>();
  const hold = createTcpServer((s) => {
    held.add(s);
    s.on('error', () => undefined);
    s.on('close', () => held.delete(s));
  });
  return { https: await listen(https), http: await listen(http), hold: await listen(hold), smallBytes: SMALL_BYTES };
}

serveChildRpc(async (body) => start(body as UpstreamStartRequest));
