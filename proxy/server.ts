import http from 'node:http';
import type net from 'node:net';
import tls from 'node:tls';
import { randomUUID } from 'node:crypto';
import { SluiceError, parseAuthority } from '../core/index.js';
import type { Classifier, ConnectContext, Destination, Endpoint, EventBus, Stage } from '../core/index.js';
import { runExchange, sandboxOf } from './exchange.js';
import type { ExchangeDeps, TunnelInfo } from './exchange.js';
import { isUpstreamFailure, refusalAfterPolicy, sendError, sendRawError, toSluiceError } from './respond.js';
import type { Forwarder } from './forward.js';
import type { Resolver, ResolvedAddress } from './ssrf.js';
import { openRawTunnel, createReadBuffer } from './tunnel.js';

/**
 * The listener: one port for absolute-form HTTP and CONNECT. CONNECT is decided before any
 * tunnel opens; then either a raw tunnel (tls: skip) or TLS interception, whose requests go
 * through the same exchange as plain ones.
 */
export interface ProxyLimits {
  maxConnections: number;
  maxHeaderSize: number;
  headersTimeoutMs: number;
  idleTimeoutMs: number;
  keepAliveTimeoutMs: number;
  connectTimeoutMs: number;
  maxBufferedBody: number;
}

export const DEFAULT_LIMITS: ProxyLimits = {
  maxConnections: 16_384,
  maxHeaderSize: 32 * 1024,
  headersTimeoutMs: 30_000,
  idleTimeoutMs: 300_000,
  keepAliveTimeoutMs: 65_000,
  connectTimeoutMs: 10_000,
  maxBufferedBody: 32 * 1024 * 1024,
};

export interface ProxyServerOptions {
  listen?: { host?: string; port?: number };
  stages: () => readonly Stage[];
  secureContextFor(host: string): Promise<tls.SecureContext>;
  resolver: Resolver;
  forwarder: Forwarder;
  bus: EventBus;
  limits?: Partial<ProxyLimits>;
  /** Every client of this listener is this sandbox (a listener dedicated to one sandbox). */
  sandbox?: string;
  /** Classifies every CONNECT (by host and port) and every request, before any stage runs. */
  classifier: Classifier;
}

interface Tunnel {
  dest: Destination;
  sockets: net.Socket[];
}

export interface ProxyServer {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  /** Closes every open tunnel whose destination `stillAllowed` refuses (after a policy reload). */
  recheckTunnels(stillAllowed: (dest: Destination) => boolean): number;
  readonly openTunnels: number;
  readonly openConnections: number;
  close(): Promise<void>;
}

export async function createProxyServer(opts: ProxyServerOptions): Promise<ProxyServer> {
  const limits: ProxyLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const tunnels = new Set<Tunnel>();
  const tunnelOf = new WeakMap<net.Socket, TunnelInfo>();
  const connections = new Set<net.Socket>();
  const readBuffer = createReadBuffer();
  let closing = false;

  const serverOptions: http.ServerOptions = {
    maxHeaderSize: limits.maxHeaderSize,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: 0,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    noDelay: true,
    keepAlive: true,
  };

  const resolveAddress = async (ctx: { dest: Destination; decision?: { endpoint?: { allowedIps: readonly string[]; exactHost?: boolean } } }, tunnel: TunnelInfo | undefined): Promise<ResolvedAddress> => {
    if (tunnel?.address && tunnel.dest === ctx.dest) return tunnel.address;
    return opts.resolver.resolve(ctx.dest.host, ctx.dest.ipVersion, ctx.decision?.endpoint?.allowedIps ?? [], { exactHost: ctx.decision?.endpoint?.exactHost ?? false, port: ctx.dest.port });
  };

  // Built once, not per request; the stage list is read through a getter each time.
  const exchangeDeps: ExchangeDeps = {
    ...(opts.sandbox ? { sandbox: opts.sandbox } : {}),
    get stages() {
      return opts.stages();
    },
    forwarder: opts.forwarder,
    bus: opts.bus,
    classifier: opts.classifier,
    resolveAddress,
    maxBufferedBody: limits.maxBufferedBody,
  };

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const tunnel = tunnelOf.get(req.socket);
    void runExchange(exchangeDeps, req, res, tunnel).catch((err) => sendError(res, err));
  };

  const onClientError = (err: NodeJS.ErrnoException, socket: net.Socket) => {
    if (socket.destroyed) return;
    const code = err.code === 'HPE_HEADER_OVERFLOW' ? 'SLUICE_HEADERS_TOO_LARGE' : 'SLUICE_BAD_REQUEST';
    const detail = code === 'SLUICE_HEADERS_TOO_LARGE' ? `request head exceeds ${limits.maxHeaderSize} bytes` : `malformed request (${err.code ?? 'parse error'})`;
    if (err.code === 'ECONNRESET' || err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || !socket.writable) {
      socket.destroy();
      return;
    }
    sendRawError(socket, new SluiceError(code, detail));
  };

  const outer = http.createServer(serverOptions, onRequest);
  // Requests inside intercepted tunnels are parsed by a second server that never listens.
  const inner = http.createServer(serverOptions, onRequest);
  outer.on('clientError', onClientError);
  inner.on('clientError', onClientError);
  outer.timeout = limits.idleTimeoutMs;
  inner.timeout = limits.idleTimeoutMs;
  outer.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => refuseUpgrade(req, socket));
  inner.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => refuseUpgrade(req, socket));

  outer.on('connection', (socket: net.Socket) => {
    if (closing || connections.size >= limits.maxConnections) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
  });

  outer.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    void handleConnect(req, socket, head).catch((err) => sendRawError(socket, err));
  });

  async function handleConnect(req: http.IncomingMessage, socket: net.Socket, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const sandbox = opts.sandbox ?? sandboxOf(req);
    const src: Endpoint = { ip: socket.remoteAddress, port: socket.remotePort, ...(sandbox ? { sandbox } : {}) };
    let dest: Destination;
    try {
      dest = parseAuthority(req.url ?? '');
    } catch (err) {
      sendRawError(socket, err);
      return;
    }
    const ctx: ConnectContext = { id: randomUUID(), src, dest, hostClass: opts.classifier.hostClass(dest), sandbox };
    const stages = opts.stages();
    try {
      for (const stage of stages) await stage.onConnect?.(ctx);
    } catch (err) {
      const e = toSluiceError(err);
      opts.bus.emit({ type: 'connect', time: Date.now(), src, dst: { host: dest.host, port: dest.port }, decision: ctx.decision?.action === 'deny' ? ctx.decision : { action: 'deny', code: e.wire, reason: String(e.context.reason ?? e.message) } });
      sendRawError(socket, e, { host: dest.host, port: dest.port, method: 'CONNECT' });
      return;
    }
    const decision = ctx.decision ?? { action: 'allow' as const, code: 'allowed', reason: 'no stage objected' };
    const tlsSkip = decision.endpoint?.tlsSkip ?? false;
    let address: Promise<ResolvedAddress> | undefined;
    // LLM hosts are resolved only when a request is forwarded: the router may answer them all itself.
    if (ctx.hostClass === 'other' || tlsSkip) {
      address = opts.resolver.resolve(dest.host, dest.ipVersion, decision.endpoint?.allowedIps ?? [], { exactHost: decision.endpoint?.exactHost ?? false, port: dest.port });
      address.catch(() => undefined);
      try {
        await address;
      } catch (err) {
        const e = toSluiceError(err);
        const dst = { host: dest.host, port: dest.port };
        if (isUpstreamFailure(e)) {
          // The policy allowed it; the name did not resolve. An error, not a refusal.
          opts.bus.emit({ type: 'upstream_error', time: Date.now(), src, dst, code: e.wire, reason: e.message });
          sendRawError(socket, e, { ...dst, method: 'CONNECT' });
          return;
        }
        const refused = refusalAfterPolicy(e, decision, dest.host);
        const address = typeof e.context.address === 'string' ? { ip: e.context.address } : {};
        opts.bus.emit({ type: 'connect', time: Date.now(), src, dst: { ...dst, ...address }, decision: refused.decision });
        sendRawError(socket, refused.error, { ...dst, method: 'CONNECT' });
        return;
      }
    }
    opts.bus.emit({ type: 'connect', time: Date.now(), src, dst: { host: dest.host, port: dest.port }, decision, mode: tlsSkip ? 'tunnel' : 'intercept' });
    const tunnel: Tunnel = { dest, sockets: [socket] };
    tunnels.add(tunnel);
    socket.once('close', () => tunnels.delete(tunnel));

    if (tlsSkip && address) {
      const resolved = await address;
      openRawTunnel({ client: socket, head, dest, address: resolved.address, connectTimeoutMs: limits.connectTimeoutMs, idleTimeoutMs: limits.idleTimeoutMs, tunnel, bus: opts.bus, src, readBuffer });
      return;
    }
    const info: TunnelInfo = { dest, scheme: 'https', src, sandbox: ctx.sandbox, ...(address ? { address } : {}) };
    const contextPromise = opts.secureContextFor(dest.host);
    contextPromise.catch(() => undefined);
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length) socket.unshift(head);
    const first = await firstByte(socket);
    if (first === undefined) return;
    if (first !== 0x16) {
      // Not TLS: plain HTTP inside the tunnel (e.g. to port 80), parsed and decided the same way.
      tunnelOf.set(socket, { ...info, scheme: 'http' });
      inner.emit('connection', socket);
      return;
    }
    // Dial the upstream while the client finishes its handshake with us.
    void address?.then((resolved) => opts.forwarder.prewarm({ scheme: 'https', dest, address: resolved.address }), () => undefined);
    let secureContext: tls.SecureContext;
    try {
      secureContext = await contextPromise;
    } catch (err) {
      process.emitWarning(`sluice: could not mint a certificate for ${dest.host}: ${(err as Error).message}`);
      socket.destroy();
      return;
    }
    const tlsSocket = new tls.TLSSocket(socket, { isServer: true, secureContext, ALPNProtocols: ['http/1.1'] });
    tlsSocket.on('error', () => tlsSocket.destroy());
    tunnel.sockets.push(tlsSocket as unknown as net.Socket);
    tunnelOf.set(tlsSocket as unknown as net.Socket, info);
    inner.emit('connection', tlsSocket);
  }

  await new Promise<void>((resolve, reject) => {
    outer.once('error', reject);
    outer.listen(opts.listen?.port ?? 3128, opts.listen?.host ?? '127.0.0.1', () => {
      outer.off('error', reject);
      resolve();
    });
  });
  const address = outer.address() as net.AddressInfo;
  const host = address.address;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    host,
    port: address.port,
    url: `http://${urlHost}:${address.port}`,
    get openTunnels() {
      return tunnels.size;
    },
    get openConnections() {
      return connections.size;
    },
    recheckTunnels(stillAllowed) {
      let closed = 0;
      for (const tunnel of [...tunnels]) {
        if (stillAllowed(tunnel.dest)) continue;
        for (const s of tunnel.sockets) s.destroy();
        tunnels.delete(tunnel);
        closed++;
      }
      return closed;
    },
    async close() {
      closing = true;
      const done = new Promise<void>((resolve) => outer.close(() => resolve()));
      for (const s of connections) s.destroy();
      for (const t of tunnels) for (const s of t.sockets) s.destroy();
      inner.closeAllConnections();
      outer.closeAllConnections();
      await done;
    },
  };
}

/** Waits for the first byte a client sends in a fresh tunnel, without consuming it. */
function firstByte(socket: net.Socket): Promise<number | undefined> {
  return new Promise((resolve) => {
    const onReadable = () => {
      const chunk = socket.read() as Buffer | null;
      if (chunk === null) return;
      cleanup();
      socket.unshift(chunk);
      resolve(chunk[0]);
    };
    const onEnd = () => {
      cleanup();
      resolve(undefined);
    };
    const cleanup = () => {
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
    };
    socket.on('readable', onReadable);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    onReadable();
  });
}

/** WebSocket and other upgrades are not inspected yet: refused with a clear reason. */
function refuseUpgrade(req: http.IncomingMessage, socket: net.Socket): void {
  const err = new SluiceError('SLUICE_BAD_REQUEST', `protocol upgrade to "${String(req.headers.upgrade).slice(0, 40)}" is not supported through Sluice yet`);
  sendRawError(socket, err, { method: req.method });
}
