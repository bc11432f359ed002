import http from 'node:http';
import type net from 'node:net';
import tls from 'node:tls';
import { randomUUID } from 'node:crypto';
import { SluiceError, parseAuthority } from '../core/index.js';
import type { AttributeClient, Classifier, ClientProcess, ConnectContext, Destination, Endpoint, EventBus, Stage } from '../core/index.js';
import { runExchange } from './exchange.js';
import { identify } from './identity.js';
import type { ListenerIdentity } from './identity.js';
import type { ExchangeDeps, TunnelInfo } from './exchange.js';
import { isUpstreamFailure, refusalAfterPolicy, sendError, sendRawError, toSluiceError } from './respond.js';
import type { Forwarder } from './forward.js';
import type { Resolver, ResolvedAddress } from './ssrf.js';
import { openRawTunnel, createReadBuffer } from './tunnel.js';
import { createConnectionSlots, defaultMaxConnections } from './connection-slots.js';
import { createBodyBudget } from './body-budget.js';
import { createWebSocketGateway } from './websocket.js';

/**
 * The listener: one port for absolute-form HTTP and CONNECT. CONNECT is decided before any
 * tunnel opens; then either a raw tunnel (tls: skip) or TLS interception, whose requests go
 * through the same exchange as plain ones.
 */
export interface ProxyLimits {
  /** Client connections held at once; at the cap the longest-waiting idle one is shed (connection-slots.ts). */
  maxConnections: number;
  maxHeaderSize: number;
  /** From accept, or from a tunnel's 200, until a complete request head (a tunnel's first byte and TLS handshake included). */
  headersTimeoutMs: number;
  /** A connection or tunnel with no traffic either way for this long is closed. */
  idleTimeoutMs: number;
  keepAliveTimeoutMs: number;
  connectTimeoutMs: number;
  maxBufferedBody: number;
  /**
   * Memory all buffered request bodies together may take, each byte charged COST_PER_BYTE times (body-budget.ts);
   * past it, requests that need their body buffered get 503 with Retry-After.
   */
  bufferedBodyBudget: number;
}

export const DEFAULT_LIMITS: ProxyLimits = {
  maxConnections: defaultMaxConnections(),
  maxHeaderSize: 32 * 1024,
  headersTimeoutMs: 30_000,
  idleTimeoutMs: 300_000,
  keepAliveTimeoutMs: 65_000,
  connectTimeoutMs: 10_000,
  maxBufferedBody: 32 * 1024 * 1024,
  // With ~100 MB for the rest of the process, RSS stays under 512 MB: one 30 MB body at a time.
  bufferedBodyBudget: 384 * 1024 * 1024,
};

export interface ProxyServerOptions {
  listen?: { host?: string; port?: number };
  stages: () => readonly Stage[];
  secureContextFor(host: string): Promise<tls.SecureContext>;
  resolver: Resolver;
  forwarder: Forwarder;
  bus: EventBus;
  limits?: Partial<ProxyLimits>;
  /** Who the clients are: one sandbox (a dedicated listener) or whoever proves it (see identity.ts). */
  identity?: ListenerIdentity;
  /** Classifies every CONNECT (by host and port) and every request, before any stage runs. */
  classifier: Classifier;
  /**
   * The listener of a sandbox Sluice runs: tells which program in the sandbox opened a client
   * connection. Called at most once per connection, and only when a stage asks.
   */
  attributeClient?: AttributeClient;
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
  /** Idle connections closed to make room at the connection cap. */
  readonly shedConnections: number;
  close(): Promise<void>;
}

export async function createProxyServer(opts: ProxyServerOptions): Promise<ProxyServer> {
  const limits: ProxyLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const tunnels = new Set<Tunnel>();
  const tunnelOf = new WeakMap<net.Socket, TunnelInfo>();
  // The client's TCP socket under each intercepted TLS socket: slots are per TCP connection.
  const rawOf = new WeakMap<net.Socket, net.Socket>();
  const slots = createConnectionSlots(limits.maxConnections);
  const readBuffer = createReadBuffer();
  const processOf = new WeakMap<net.Socket, () => Promise<ClientProcess>>();
  let closing = false;

  // Keyed by the client's TCP socket: its 4-tuple is read now, while the connection is open.
  const clientProcessOf = (socket: net.Socket): (() => Promise<ClientProcess>) | undefined => {
    const attribute = opts.attributeClient;
    if (!attribute) return undefined;
    let lazy = processOf.get(socket);
    if (!lazy) {
      const conn = { remote: { ip: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 }, local: { ip: socket.localAddress ?? '', port: socket.localPort ?? 0 } };
      let answer: Promise<ClientProcess> | undefined;
      lazy = () => (answer ??= attribute(conn).catch((err: unknown) => ({ error: `attribution failed: ${(err as Error).message}` })));
      processOf.set(socket, lazy);
    }
    return lazy;
  };

  const serverOptions: http.ServerOptions = {
    maxHeaderSize: limits.maxHeaderSize,
    headersTimeout: limits.headersTimeoutMs,
    // How often Node checks head deadlines (default 30 s): a head is cut within 1.5x its timeout.
    connectionsCheckingInterval: Math.max(100, Math.min(30_000, limits.headersTimeoutMs / 2)),
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
    identity: opts.identity ?? {},
    get stages() {
      return opts.stages();
    },
    forwarder: opts.forwarder,
    bus: opts.bus,
    classifier: opts.classifier,
    clientProcessOf,
    resolveAddress,
    maxBufferedBody: limits.maxBufferedBody,
    bodyBudget: createBodyBudget(limits.bufferedBodyBudget),
  };

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const tunnel = tunnelOf.get(req.socket);
    const raw = rawOf.get(req.socket) ?? req.socket;
    slots.busy(raw);
    res.once('close', () => slots.idle(raw));
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

  // One server parses requests on client connections and inside tunnels alike (a tunnel's socket is
  // handed to it as a new 'connection'), so that its head and idle timeouts hold inside tunnels too.
  const outer = http.createServer(serverOptions, onRequest);
  outer.on('clientError', onClientError);
  outer.timeout = limits.idleTimeoutMs;
  const websockets = createWebSocketGateway(exchangeDeps);
  outer.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => websockets.handleUpgrade(req, socket, head, tunnelOf.get(req.socket)));

  outer.on('connection', (socket: net.Socket) => {
    if (tunnelOf.has(socket)) return;
    if (closing || !slots.admit(socket)) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
  });

  outer.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    slots.busy(socket);
    void handleConnect(req, socket, head).catch((err) => sendRawError(socket, err));
  });

  async function handleConnect(req: http.IncomingMessage, socket: net.Socket, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const src: Endpoint = { ip: socket.remoteAddress, port: socket.remotePort };
    let dest: Destination;
    try {
      dest = parseAuthority(req.url ?? '');
    } catch (err) {
      sendRawError(socket, err);
      return;
    }
    let sandbox: string | undefined;
    try {
      sandbox = identify(req, exchangeDeps.identity);
    } catch (err) {
      const e = toSluiceError(err);
      opts.bus.emit({ type: 'connect', time: Date.now(), src, dst: { host: dest.host, port: dest.port }, decision: { action: 'deny', code: e.wire, reason: String(e.context.reason ?? e.message) } });
      sendRawError(socket, e, { host: dest.host, port: dest.port, method: 'CONNECT' });
      return;
    }
    const clientProcess = clientProcessOf(socket);
    const ctx: ConnectContext = { id: randomUUID(), src, dest, hostClass: opts.classifier.hostClass(dest), sandbox, bus: opts.bus, ...(clientProcess ? { clientProcess } : {}) };
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
      // Sheddable until its client speaks: a raw tunnel nobody uses holds no slot under pressure.
      slots.idle(socket);
      openRawTunnel({
        client: socket, head, dest, address: resolved.address, connectTimeoutMs: limits.connectTimeoutMs, idleTimeoutMs: limits.idleTimeoutMs,
        tunnel, bus: opts.bus, src, readBuffer, onClientData: () => slots.busy(socket),
      });
      return;
    }
    const info: TunnelInfo = { dest, scheme: 'https', src, sandbox: ctx.sandbox, ...(clientProcess ? { clientProcess } : {}), ...(address ? { address } : {}) };
    const contextPromise = opts.secureContextFor(dest.host);
    contextPromise.catch(() => undefined);
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    slots.idle(socket);
    if (head.length) socket.unshift(head);
    const first = await firstByte(socket, limits.headersTimeoutMs);
    if (first === undefined) {
      // Half-closed or silent before its first byte: nothing can come through it any more.
      socket.destroy();
      return;
    }
    if (first !== 0x16) {
      // Not TLS: plain HTTP inside the tunnel (e.g. to port 80), parsed and decided the same way.
      tunnelOf.set(socket, { ...info, scheme: 'http' });
      outer.emit('connection', socket);
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
    rawOf.set(tlsSocket as unknown as net.Socket, socket);
    outer.emit('connection', tlsSocket);
  }

  await new Promise<void>((resolve, reject) => {
    outer.once('error', reject);
    outer.listen(opts.listen?.port ?? 3128, opts.listen?.host ?? '127.0.0.1', () => {
      outer.off('error', reject);
      // After listen, an 'error' (accept() failing with EMFILE, say) must not take the process down.
      outer.on('error', (err: Error) => process.emitWarning(`sluice: proxy listener: ${err.message}`));
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
      return slots.size;
    },
    get shedConnections() {
      return slots.shed;
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
      for (const s of [...slots.sockets()]) s.destroy();
      for (const t of tunnels) for (const s of t.sockets) s.destroy();
      outer.closeAllConnections();
      await done;
    },
  };
}

/**
 * Waits for the first byte a client sends in a fresh tunnel, without consuming it; undefined when
 * the client closed its side, or sent nothing within `timeoutMs`. Node's own socket timeout no
 * longer applies here: it drops its listener when it hands the socket to the 'connect' event.
 */
function firstByte(socket: net.Socket, timeoutMs: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      cleanup();
      resolve(undefined);
    }, timeoutMs);
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
      clearTimeout(timer);
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
