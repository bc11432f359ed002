import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import { Cancellation, SluiceError, decisionError } from '../core/index.js';
import type { Decision, Destination, RequestContext, WebSocketPeer } from '../core/index.js';
import { clientProcessField, llmClass, renderOwnError, requestTarget } from './exchange.js';
import { identify } from './identity.js';
import { createRequestContext } from './request.js';
import type { ExchangeDeps, TunnelInfo } from './exchange.js';
import { sendRawError, toSluiceError } from './respond.js';
import { createRelay } from './websocket-relay.js';
import type { Relay, RelaySide, RelayStats } from './websocket-relay.js';
import { connectUpstream, loadWs } from './websocket-upstream.js';

/**
 * WebSocket upgrades, in intercepted tunnels and as plain-HTTP requests. The upgrade request goes
 * through the stages' header hooks like any request (policy and L7 rules, credentials on its
 * headers); when they allow it, Sluice opens its own WebSocket to the validated upstream address
 * (or a stage answers it), accepts the client's with the subprotocol the upstream chose, and
 * relays message by message through the stages' message hooks. One `request` event per
 * connection, when it closes, carries the messages and bytes each way.
 */
export interface WebSocketGateway {
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, tunnel: TunnelInfo | undefined): void;
}

const KEY = /^[+/0-9A-Za-z]{22}==$/;
const ALLOWED: Decision = { action: 'allow', code: 'allowed', reason: 'no stage objected' };

export function createWebSocketGateway(deps: ExchangeDeps): WebSocketGateway {
  const chosen = new WeakMap<http.IncomingMessage, { protocol: string | undefined; headers: string[] }>();
  // Made on the first upgrade: a proxy that never sees a WebSocket does not load ws.
  let made: WebSocketServer | undefined;
  const server = (): WebSocketServer => {
    if (made) return made;
    made = new (loadWs().WebSocketServer)({
      noServer: true,
      clientTracking: false,
      maxPayload: deps.maxBufferedBody,
      handleProtocols: (_offered, req) => chosen.get(req)?.protocol ?? false,
    });
    // The far side's own response headers (request ids, rate limits) reach the client too.
    made.on('headers', (headers, req) => headers.push(...(chosen.get(req)?.headers ?? [])));
    return made;
  };

  const emit = (ctx: RequestContext, decision: Decision, status: number, started: number, stats?: RelayStats): void => {
    deps.bus.emit({
      type: 'request',
      time: Date.now(),
      src: ctx.src,
      dst: { host: ctx.dest.host, port: ctx.dest.port },
      method: ctx.method,
      path: ctx.classification.path,
      scheme: ctx.scheme,
      ...llmClass(ctx),
      decision,
      status,
      durationMs: Math.round((performance.now() - started) * 1000) / 1000,
      ...(stats ? { websocket: { ...stats } } : {}),
    });
  };

  const refuse = (ctx: RequestContext | undefined, socket: Duplex, req: http.IncomingMessage, dest: Destination | undefined, err: unknown, started: number): void => {
    const e = toSluiceError(err);
    if (e.code === 'SLUICE_INTERNAL') process.emitWarning(`sluice: internal error: ${(err as Error)?.stack ?? String(err)}`);
    const own = ctx ? renderOwnError(deps.stages, ctx, e) : undefined;
    if (own && typeof own.body === 'string' && !socket.destroyed) {
      let head = `HTTP/1.1 ${own.status} Refused\r\n`;
      for (const [k, v] of Object.entries({ ...own.headers, 'x-sluice-error': e.wire, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(own.body) })) head += `${k}: ${String(v)}\r\n`;
      socket.end(`${head}connection: close\r\n\r\n${own.body}`);
    } else {
      sendRawError(socket, e, { host: dest?.host, port: dest?.port, method: req.method, path: ctx?.classification.path });
    }
    if (!ctx) return;
    const decision: Decision = ctx.decision?.action === 'deny' ? ctx.decision : { action: 'deny', code: e.wire, reason: String(e.context.reason ?? e.message), ...(e.context.policy ? { policy: String(e.context.policy) } : {}), ...(e.context.rule ? { rule: String(e.context.rule) } : {}) };
    for (const stage of deps.stages) stage.onClose?.(ctx, err);
    emit(ctx, decision, e.status, started);
  };

  async function upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, tunnel: TunnelInfo | undefined): Promise<void> {
    const started = performance.now();
    const cancel = new Cancellation();
    socket.on('error', () => socket.destroy());
    socket.once('close', () => cancel.abort());
    let opened: RequestContext | undefined;
    let dest = tunnel?.dest;
    try {
      const where = requestTarget(req, tunnel);
      dest = where.dest;
      const ctx = createRequestContext({
        src: tunnel?.src ?? { ip: req.socket.remoteAddress, port: req.socket.remotePort },
        dest: where.dest,
        scheme: tunnel?.scheme ?? 'http',
        sandbox: tunnel ? tunnel.sandbox : identify(req, deps.identity),
        ...clientProcessField(tunnel ? tunnel.clientProcess : deps.clientProcessOf?.(req.socket)),
        bus: deps.bus,
        signal: () => cancel.signal(),
        cancel,
        method: req.method ?? 'GET',
        target: where.target,
        headers: req.headers,
        classifier: deps.classifier,
        upgrade: 'websocket',
      });
      opened = ctx;
      const kind = String(req.headers.upgrade ?? '').toLowerCase();
      if (kind !== 'websocket') throw new SluiceError('SLUICE_BAD_REQUEST', `protocol upgrade to "${kind.slice(0, 40)}" is not supported through Sluice (WebSocket is)`);
      if (req.method !== 'GET' || !KEY.test(String(req.headers['sec-websocket-key'] ?? '')) || req.headers['sec-websocket-version'] !== '13') {
        throw new SluiceError('SLUICE_BAD_REQUEST', 'malformed WebSocket handshake (RFC 6455 wants GET, a 16-byte Sec-WebSocket-Key and Sec-WebSocket-Version: 13)');
      }
      for (const stage of deps.stages) await stage.onRequestHeaders?.(ctx);
      // Fail closed, as for any request: an upgrade no stage allowed is not relayed.
      if (ctx.decision?.action !== 'allow') {
        throw ctx.decision ? decisionError(ctx.decision) : new SluiceError('SLUICE_INTERNAL', 'no stage decided this upgrade', { reason: 'no stage decided this request; Sluice does not forward undecided requests' });
      }
      const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter(Boolean);
      let peer: WebSocketPeer | undefined;
      for (const stage of deps.stages) {
        peer = await stage.acceptWebSocket?.(ctx);
        if (peer) break;
      }
      if (cancel.aborted) return;
      if (peer) {
        chosen.set(req, { protocol: peer.protocol, headers: [] });
        acceptPeer(ctx, req, socket, head, started, peer);
        return;
      }
      const address = await deps.resolveAddress(ctx, tunnel);
      const up = await connectUpstream(deps, ctx, { scheme: ctx.scheme, dest: ctx.dest, address: address.address }, offered, cancel.signal());
      if (up.kind === 'refused') {
        // The upstream answered the handshake with a plain HTTP response: the client gets it as it is.
        if (!socket.destroyed) socket.end(up.raw);
        for (const stage of deps.stages) stage.onClose?.(ctx);
        emit(ctx, ctx.decision ?? ALLOWED, up.status, started);
        return;
      }
      chosen.set(req, { protocol: up.socket.protocol || undefined, headers: up.headers });
      const upstream = up.socket;
      accept(ctx, req, socket, head, started, wsSide(upstream), (relay) => {
        upstream.on('message', (data: Buffer, binary: boolean) => relay.message('in', data, binary));
        upstream.on('close', (code: number, reason: Buffer) => relay.closed('upstream', code, reason));
        upstream.on('error', () => upstream.terminate());
      });
    } catch (err) {
      refuse(opened, socket, req, dest, err, started);
    }
  }

  /** Accepts the client's side once the far side is ready, then relays until both are closed. */
  function accept(ctx: RequestContext, req: http.IncomingMessage, socket: Duplex, head: Buffer, started: number, far: RelaySide, wire: (relay: Relay) => void): void {
    let accepted = false;
    // The client may have gone while the far side was being opened: ws then never calls back.
    socket.once('close', () => {
      if (!accepted) far.terminate();
    });
    server().handleUpgrade(req, socket, head, (client) => {
      accepted = true;
      const relay = createRelay(ctx, deps.stages, wsSide(client, socket), far);
      client.on('message', (data: Buffer, binary: boolean) => relay.message('out', data, binary));
      client.on('close', (code: number, reason: Buffer) => relay.closed('client', code, reason));
      client.on('error', () => client.terminate());
      wire(relay);
      void relay.done.then((refusal) => {
        const decision: Decision = refusal ? { action: 'deny', code: refusal.wire, reason: String(refusal.context.reason ?? refusal.message) } : (ctx.decision ?? ALLOWED);
        for (const stage of deps.stages) stage.onClose?.(ctx, refusal);
        emit(ctx, decision, 101, started, relay.stats);
      });
    });
  }

  /** A stage's own peer stands where the upstream would: its messages pass the same hooks. */
  function acceptPeer(ctx: RequestContext, req: http.IncomingMessage, socket: Duplex, head: Buffer, started: number, peer: WebSocketPeer): void {
    let relay: Relay | undefined;
    let open = true;
    const end = (code: number, reason: string): void => {
      if (!open) return;
      open = false;
      peer.close(code, reason);
      relay?.closed('upstream', code, Buffer.from(reason));
    };
    const far: RelaySide = {
      send(data, binary, done) {
        if (open) peer.message(data, binary);
        done();
      },
      close: (code = 1000, reason = '') => end(code, reason),
      terminate: () => end(1006, ''),
      pause() {},
      resume() {},
    };
    accept(ctx, req, socket, head, started, far, (r) => {
      relay = r;
      peer.open({
        send: (data, binary = false) => {
          if (open) r.message('in', Buffer.isBuffer(data) ? data : Buffer.from(data), binary);
        },
        close: (code = 1000, reason = '') => end(code, reason),
      });
    });
  }

  return {
    handleUpgrade(req, socket, head, tunnel) {
      void upgrade(req, socket, head, tunnel).catch((err: unknown) => sendRawError(socket, err));
    },
  };
}

const uncork = (socket: Duplex): void => socket.uncork();

/**
 * `socket`, the connection under `ws` when Sluice holds it (the client's side): the frames sent in one
 * turn of the event loop leave in one write. A routed Responses turn sends an event per frame, five
 * of them before its first token; one TLS record and one system call each held that token back.
 */
function wsSide(ws: WebSocket, socket?: Duplex): RelaySide {
  return {
    send(data, binary, done) {
      if (ws.readyState !== ws.OPEN) return done();
      // ws corks and uncorks within one send, so a socket still corked here is corked by an earlier send of this turn
      if (socket && socket.writableCorked === 0) {
        socket.cork();
        // after the microtasks that send the rest of this turn's frames
        process.nextTick(uncork, socket);
      }
      ws.send(data, { binary }, done);
    },
    close(code, reason) {
      if (ws.readyState === ws.CLOSED) return;
      ws.close(code, reason);
    },
    terminate: () => ws.terminate(),
    pause: () => ws.pause(),
    resume: () => ws.resume(),
  };
}

