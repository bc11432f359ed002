import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TestCert } from './tls.js';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** What arrived so far: a request cut before its end is recorded too, with what reached this server. */
  readonly body: Buffer;
  /** Whether the body arrived to its end. */
  complete: boolean;
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
    // Recorded as it arrives, so "no byte reached the upstream" holds for a request cut mid-body too.
    const recorded: RecordedRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      get body() {
        return Buffer.concat(chunks);
      },
      complete: false,
    };
    requests.push(recorded);
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      recorded.complete = true;
      handler(req, res, Buffer.concat(chunks));
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
