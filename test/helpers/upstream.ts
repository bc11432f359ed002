import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TestCert } from './tls.js';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void;

export interface Upstream {
  port: number;
  url: string;
  requests: RecordedRequest[];
  server: http.Server;
  close(): Promise<void>;
}

/** By default answers every request with a JSON echo of what it received. */
export const echoHandler: Handler = (req, res, body) => {
  const payload = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: body.toString('utf8') });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
};

/** An upstream server on 127.0.0.1:0: HTTPS when a certificate is given, plain HTTP otherwise. */
export async function startUpstream(opts: { cert?: TestCert; handler?: Handler; host?: string } = {}): Promise<Upstream> {
  const requests: RecordedRequest[] = [];
  const handler = opts.handler ?? echoHandler;
  const listener: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, res, body);
    });
  };
  const server = opts.cert ? https.createServer({ key: opts.cert.key, cert: opts.cert.cert }, listener) : http.createServer(listener);
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `${opts.cert ? 'https' : 'http'}://${host}:${port}`,
    requests,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
