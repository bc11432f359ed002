import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { SluiceError, isSluiceError } from '../core/index.js';
import type { EventBus } from '../core/index.js';
import type { z } from 'zod';
import { createRouter } from './router.js';
import type { ApiReply, ApiRequest, Caller, Method, Route } from './route.js';
import { verifyToken } from './tokens.js';

/**
 * The control-plane API's listeners: a unix socket (mode 0600 in a 0700 folder: the file system
 * says who may call, and every caller there is admin) and, optionally, TCP with TLS from
 * Sluice's CA, where every call needs a bearer token and its scope. Refusals (401, 403) are
 * JSON with a reason and are audited; so is every call that changes something.
 */
export interface ApiServerOptions {
  home: string;
  routes: readonly Route[];
  bus: EventBus;
  socketPath: string;
  tcp?: { host: string; port: number; secureContext(): Promise<tls.SecureContext> };
  /** Request bodies larger than this are refused with 413; default 4 MiB (a policy's own cap). */
  maxBodyBytes?: number;
}

export interface ApiServer {
  readonly socketPath: string;
  /** `https://host:port` of the TCP listener, when there is one. */
  readonly url: string | undefined;
  close(): Promise<void>;
}

const DEFAULT_MAX_BODY = 4 * 1024 * 1024;
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE']);

export async function createApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const router = createRouter(opts.routes);
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY;

  async function authenticate(req: http.IncomingMessage, viaSocket: boolean): Promise<Caller | SluiceError> {
    if (viaSocket) return { actor: 'unix-socket', scope: 'admin' };
    const src = { ip: req.socket.remoteAddress, port: req.socket.remotePort };
    const header = req.headers.authorization;
    if (header === undefined) return { actor: 'anonymous', scope: 'none', src };
    const m = /^Bearer ([^\s]+)$/i.exec(header);
    const info = m ? await verifyToken(opts.home, m[1]!) : undefined;
    if (!info) return new SluiceError('SLUICE_API_UNAUTHORIZED', 'the bearer token is not valid', { reason: 'unknown, malformed or revoked token (`sluice token create --scope admin|read`)' });
    return { actor: `token:${info.id}${info.name ? ` (${info.name})` : ''}`, scope: info.scope, src };
  }

  function authorize(route: Route, caller: Caller): SluiceError | undefined {
    if (route.scope === 'public') return undefined;
    if (caller.scope === 'none') return new SluiceError('SLUICE_API_UNAUTHORIZED', 'this API needs a bearer token', { reason: 'send Authorization: Bearer <token> (`sluice token create --scope admin|read`)' });
    if (route.scope === 'admin' && caller.scope !== 'admin') {
      return new SluiceError('SLUICE_API_FORBIDDEN', `${route.method} ${route.path} needs an admin token`, { reason: `this token's scope is ${caller.scope}` });
    }
    return undefined;
  }

  const audit = (req: http.IncomingMessage, routePath: string, status: number, caller: Caller | undefined, err?: SluiceError) => {
    opts.bus.emit({
      type: 'api',
      time: Date.now(),
      method: req.method ?? '',
      route: routePath,
      status,
      actor: caller?.actor ?? 'anonymous',
      scope: caller?.scope ?? 'none',
      ...(caller?.src ? { src: caller.src } : {}),
      ...(err ? { code: err.wire, reason: String(err.context.reason ?? err.message) } : {}),
    });
  };

  const handler = (viaSocket: boolean) => (req: http.IncomingMessage, res: http.ServerResponse) => {
    void serve(req, res, viaSocket);
  };

  async function serve(req: http.IncomingMessage, res: http.ServerResponse, viaSocket: boolean): Promise<void> {
    const controller = new AbortController();
    res.on('close', () => controller.abort());
    let caller: Caller | undefined;
    let routePath = '(no route)';
    try {
      const url = new URL(req.url ?? '/', 'http://gateway');
      const method = req.method ?? 'GET';
      if (!METHODS.has(method)) throw new SluiceError('SLUICE_API_METHOD', `${method} is not an API method`);
      const authenticated = await authenticate(req, viaSocket);
      if (authenticated instanceof SluiceError) {
        // Which route was asked for is worth auditing even when the token is not.
        routePath = safeRoute(router, method, url.pathname);
        throw authenticated;
      }
      caller = authenticated;
      const { route, params } = router.match(method, url.pathname);
      routePath = route.path;
      const refused = authorize(route, caller);
      if (refused) throw refused;
      const request = apiRequest(req, route, method === 'HEAD' ? 'GET' : (method as Method), params, url.searchParams, caller, controller.signal, maxBody);
      const reply = await route.handle(request);
      const status = write(res, reply);
      if ('stream' in reply) await reply.stream(res);
      if (method !== 'GET' && method !== 'HEAD') audit(req, routePath, await status, caller);
    } catch (err) {
      const e = toApiError(err);
      if (!res.headersSent) {
        const body = JSON.stringify({ error: e.wire, detail: e.message, reason: String(e.context.reason ?? e.message), ...extra(e) });
        const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', 'x-sluice-error': e.wire };
        if (e.status === 401) headers['www-authenticate'] = 'Bearer realm="sluice"';
        if (e.status === 405 && typeof e.context.allow === 'string') headers.allow = e.context.allow;
        res.writeHead(e.status, headers);
        res.end(body);
      } else {
        res.destroy();
      }
      if (e.status === 401 || e.status === 403 || (req.method !== 'GET' && req.method !== 'HEAD')) audit(req, routePath, e.status, caller, e);
      if (e.code === 'SLUICE_INTERNAL') process.emitWarning(`sluice gateway: ${(err as Error)?.stack ?? String(err)}`);
    }
  }

  const serverOptions: http.ServerOptions = { headersTimeout: 30_000, requestTimeout: 0, keepAliveTimeout: 5_000 };
  const unix = http.createServer(serverOptions, handler(true));
  await listenUnix(unix, opts.socketPath);
  let tcp: net.Server | undefined;
  let url: string | undefined;
  const tlsHttp = http.createServer(serverOptions, handler(false));
  if (opts.tcp) {
    const tcpOpts = opts.tcp;
    // TLS by hand, as the proxy's interception does: a client that sends no SNI (an IP literal)
    // still gets the leaf for the listen address, fresh from the leaf cache on every connection.
    tcp = net.createServer((socket) => {
      socket.on('error', () => socket.destroy());
      void tcpOpts.secureContext().then(
        (secureContext) => {
          const tlsSocket = new tls.TLSSocket(socket, { isServer: true, secureContext, ALPNProtocols: ['http/1.1'] });
          tlsSocket.on('error', () => tlsSocket.destroy());
          tlsHttp.emit('connection', tlsSocket);
        },
        () => socket.destroy(),
      );
    });
    try {
      await new Promise<void>((resolve, reject) => {
        tcp!.once('error', reject);
        tcp!.listen(tcpOpts.port, tcpOpts.host, () => resolve());
      });
    } catch (err) {
      await closeServer(unix);
      fs.rmSync(opts.socketPath, { force: true });
      throw err;
    }
    const address = tcp.address() as net.AddressInfo;
    url = `https://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`;
  }
  return {
    socketPath: opts.socketPath,
    url,
    async close() {
      const tcpClosed = tcp ? new Promise<void>((resolve) => tcp!.close(() => resolve())) : undefined;
      await Promise.all([closeServer(unix), closeServer(tlsHttp), tcpClosed]);
      fs.rmSync(opts.socketPath, { force: true });
    },
  };
}

function apiRequest(raw: http.IncomingMessage, route: Route, method: Method, params: Record<string, string>, query: URLSearchParams, caller: Caller, signal: AbortSignal, maxBody: number): ApiRequest {
  let body: Promise<Buffer> | undefined;
  const read = () => (body ??= readBody(raw, maxBody));
  return {
    method,
    route,
    params,
    query,
    headers: raw.headers,
    caller,
    signal,
    raw,
    body: read,
    async json<T>(schema: z.ZodType<T>): Promise<T> {
      const type = String(raw.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== 'application/json') throw new SluiceError('SLUICE_API_UNSUPPORTED', `expected Content-Type: application/json, got ${JSON.stringify(type || 'none')}`);
      let parsed: unknown;
      try {
        parsed = JSON.parse((await read()).toString('utf8'));
      } catch (err) {
        if (isSluiceError(err)) throw err;
        throw new SluiceError('SLUICE_API_INVALID', `the body is not JSON: ${(err as Error).message}`);
      }
      const result = schema.safeParse(parsed);
      if (!result.success) {
        const problems = result.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`);
        throw new SluiceError('SLUICE_API_INVALID', `invalid request body: ${problems.join('; ')}`, { reason: problems.join('; '), problems });
      }
      return result.data;
    },
  };
}

async function readBody(req: http.IncomingMessage, cap: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > cap) throw new SluiceError('SLUICE_BODY_TOO_LARGE', `request body of ${declared} bytes exceeds the API's ${cap}-byte limit`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > cap) throw new SluiceError('SLUICE_BODY_TOO_LARGE', `request body exceeds the API's ${cap}-byte limit`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Writes a JSON or text reply; for a stream, the status is whatever the handler writes. */
function write(res: http.ServerResponse, reply: ApiReply): Promise<number> {
  if ('stream' in reply) return new Promise((resolve) => res.once('close', () => resolve(res.statusCode)));
  const body = 'json' in reply ? `${JSON.stringify(reply.json)}\n` : reply.text;
  res.writeHead(reply.status, {
    'content-type': 'json' in reply ? 'application/json' : reply.contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...reply.headers,
  });
  res.end(body);
  return Promise.resolve(reply.status);
}

function toApiError(err: unknown): SluiceError {
  if (isSluiceError(err)) return err;
  return new SluiceError('SLUICE_INTERNAL', 'internal error in the gateway', { reason: 'see the gateway log' }, { cause: err });
}

/** Context members a client can use (a 409's locked sections, a 400's problems), never internals. */
function extra(e: SluiceError): Record<string, unknown> {
  const { reason: _reason, allow: _allow, ...rest } = e.context;
  return rest;
}

function safeRoute(router: ReturnType<typeof createRouter>, method: string, pathname: string): string {
  try {
    return router.match(method, pathname).route.path;
  } catch {
    return '(no route)';
  }
}

async function listenUnix(server: http.Server, socketPath: string): Promise<void> {
  fs.mkdirSync(path.dirname(socketPath), { recursive: true, mode: 0o700 });
  fs.chmodSync(path.dirname(socketPath), 0o700);
  // A socket file left by a gateway that died is stale; the caller made sure none is running.
  fs.rmSync(socketPath, { force: true });
  // The folder is 0700 before the socket exists, so the moment between bind and chmod exposes
  // nothing (connecting needs search permission on the folder). A umask would be process-wide.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  fs.chmodSync(socketPath, 0o600);
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
