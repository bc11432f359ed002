import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import type { TestCert } from './tls.js';

/**
 * WebSocket test plumbing: an upstream WebSocket server on 127.0.0.1:0 (TLS when given a
 * certificate) that records handshakes and messages, and clients that reach it through an HTTP
 * proxy, by CONNECT (wss://) or as an absolute-form request (ws://), the two ways agents do.
 */
export interface WsUpstream {
  port: number;
  handshakes: http.IncomingHttpHeaders[];
  paths: string[];
  received: Array<{ data: Buffer; binary: boolean }>;
  closes: Array<{ code: number; reason: string }>;
  sockets: WebSocket[];
  close(): Promise<void>;
}

export interface WsUpstreamOptions {
  cert?: TestCert;
  /** Which of the offered subprotocols to pick; default: none. */
  pick?(offered: Set<string>): string | false;
  /** Answer the handshake with this HTTP response instead of upgrading. */
  refuse?(req: http.IncomingMessage): { status: number; body: string } | undefined;
  /** What to do with each message; default: echo it back as received. */
  onMessage?(socket: WebSocket, data: Buffer, binary: boolean): void;
}

export async function startWsUpstream(opts: WsUpstreamOptions = {}): Promise<WsUpstream> {
  const handshakes: http.IncomingHttpHeaders[] = [];
  const paths: string[] = [];
  const received: WsUpstream['received'] = [];
  const closes: WsUpstream['closes'] = [];
  const sockets: WebSocket[] = [];
  const server = opts.cert ? https.createServer({ key: opts.cert.key, cert: opts.cert.cert }) : http.createServer();
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (offered) => opts.pick?.(offered) ?? false });
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    handshakes.push(req.headers);
    paths.push(req.url ?? '');
    const refusal = opts.refuse?.(req);
    if (refusal) {
      socket.end(`HTTP/1.1 ${refusal.status} Refused\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(refusal.body)}\r\n\r\n${refusal.body}`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.push(ws);
      ws.on('message', (data: Buffer, binary: boolean) => {
        received.push({ data, binary });
        if (opts.onMessage) opts.onMessage(ws, data, binary);
        else ws.send(data, { binary });
      });
      ws.on('close', (code: number, reason: Buffer) => closes.push({ code, reason: reason.toString() }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    handshakes,
    paths,
    received,
    closes,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of sockets) ws.terminate();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * An https.Agent that tunnels through an HTTP proxy with CONNECT and verifies the far end with
 * `ca`: what ws (and the openai SDK's ResponsesWS) take as `agent`.
 */
export class ConnectAgent extends https.Agent {
  constructor(private readonly proxy: { host: string; port: number; headers?: Record<string, string> }, private readonly ca: string) {
    super({ keepAlive: false });
  }

  override createConnection(options: http.ClientRequestArgs & { servername?: string }, callback?: (err: Error | null, socket: Duplex) => void): undefined {
    const done = callback ?? (() => undefined);
    const target = `${options.host}:${options.port}`;
    const req = http.request({ host: this.proxy.host, port: this.proxy.port, method: 'CONNECT', path: target, headers: { host: target, ...this.proxy.headers } });
    req.once('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        done(Object.assign(new Error(`proxy refused CONNECT ${target}: ${res.statusCode}`), { statusCode: res.statusCode, proxyStatus: res.headers['proxy-status'] }), socket);
        return;
      }
      const secure = tls.connect({ socket, servername: options.servername ?? options.host ?? undefined, ca: this.ca, ALPNProtocols: ['http/1.1'] });
      secure.once('secureConnect', () => done(null, secure));
      secure.once('error', (err) => done(err, secure));
    });
    req.once('error', (err) => done(err, req.socket!));
    req.end();
    return undefined;
  }
}

export interface ClientOptions {
  protocols?: string[];
  headers?: Record<string, string>;
}

/** wss:// through the proxy's CONNECT, with the proxy's CA trusted. */
export function wssThroughProxy(proxyUrl: string, ca: string, url: string, opts: ClientOptions = {}): WebSocket {
  const proxy = new URL(proxyUrl);
  const agent = new ConnectAgent({ host: proxy.hostname, port: Number(proxy.port) }, ca);
  return new WebSocket(url, opts.protocols ?? [], { agent, headers: opts.headers ?? {} });
}

/** ws:// as an absolute-form request to the proxy (GET http://host/path with Upgrade). */
export function wsThroughProxy(proxyUrl: string, url: string, opts: ClientOptions = {}): WebSocket {
  const target = new URL(url);
  const absolute = `http://${target.host}${target.pathname}${target.search}`;
  return new WebSocket(proxyUrl.replace(/^http/, 'ws'), opts.protocols ?? [], {
    headers: { ...opts.headers, host: target.host },
    finishRequest: (req) => {
      req.path = absolute;
      req.end();
    },
  });
}

/** Resolves on open, rejects with the HTTP status and body when the handshake is answered otherwise. */
export function opened(ws: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => reject(Object.assign(new Error(`handshake answered ${res.statusCode}`), { status: res.statusCode, headers: res.headers, body })));
    });
    ws.once('error', reject);
  });
}

/** The next message a socket receives. */
export function nextMessage(ws: WebSocket): Promise<{ data: Buffer; binary: boolean }> {
  return new Promise((resolve, reject) => {
    ws.once('message', (data: Buffer, binary: boolean) => resolve({ data, binary }));
    ws.once('close', (code) => reject(new Error(`closed with ${code} before a message`)));
  });
}

export function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })));
}
