import fs from 'node:fs';
import http from 'node:http';
import type * as Https from 'node:https';
import path from 'node:path';
import type { Readable } from 'node:stream';

/**
 * How the CLI talks to a running gateway: node:http over the unix socket in the state folder (or
 * over TLS to `SLUICE_GATEWAY=https://host:port` with `SLUICE_TOKEN`). Deliberately small and free
 * of Sluice's heavier modules: `sluice run -- true` pays for Node's start and this file, not for
 * the policy compiler or the redaction engine.
 */
export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  body: T;
}

export interface GatewayClient {
  /** Where it is: the socket path or the URL. */
  readonly where: string;
  call<T = Record<string, unknown>>(method: string, route: string, body?: unknown, contentType?: string): Promise<ApiResponse<T>>;
  /** A streaming GET (logs, events): the response, unread. */
  stream(route: string, signal?: AbortSignal): Promise<http.IncomingMessage>;
  /** A streaming request body (stdin). */
  upload(route: string, source: Readable): Promise<ApiResponse>;
  close(): void;
}

export class GatewayError extends Error {
  constructor(readonly status: number, readonly body: Record<string, unknown>) {
    super(String(body.detail ?? body.error ?? `HTTP ${status}`));
    this.name = 'GatewayError';
  }
}

function socketPathFor(home: string): string {
  return path.join(home, 'gateway', 'api.sock');
}

/**
 * The gateway to use: SLUICE_GATEWAY when set (it must answer), else the state folder's socket
 * when a gateway is serving on it; undefined when there is none.
 */
export async function findGateway(home: string, env: NodeJS.ProcessEnv): Promise<GatewayClient | undefined> {
  const target = env.SLUICE_GATEWAY;
  if (target && /^https:\/\//i.test(target)) {
    const ca = env.SLUICE_GATEWAY_CA ? fs.readFileSync(env.SLUICE_GATEWAY_CA, 'utf8') : readIfExists(path.join(home, 'ca', 'sluice-ca.pem'));
    // loaded here alone: TLS costs every other `sluice run` tens of milliseconds at start
    return httpsClient(await import('node:https'), new URL(target), env.SLUICE_TOKEN, ca);
  }
  const socketPath = target ? target.replace(/^unix:/, '') : socketPathFor(home);
  if (!fs.existsSync(socketPath)) {
    if (target) throw new Error(`SLUICE_GATEWAY=${target}: no such socket`);
    return undefined;
  }
  const client = unixClient(socketPath);
  try {
    const health = await client.call('GET', '/v1/health');
    if (health.status === 200) return client;
  } catch {
    // a socket file nobody serves: a gateway that died
  }
  client.close();
  if (target) throw new Error(`SLUICE_GATEWAY=${target}: no gateway answers there`);
  return undefined;
}

function readIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function unixClient(socketPath: string): GatewayClient {
  const agent = new http.Agent({ keepAlive: true });
  // servername '' (there is no TLS on a unix socket): else the agent derives one from the host
  // header with isIP(), whose first call compiles Node's IPv6 pattern, ~10 ms of every `sluice run`
  const unix = { socketPath, agent, servername: '' } as http.RequestOptions;
  return makeClient(socketPath, (options, onResponse) => http.request({ ...options, ...unix }, onResponse), () => agent.destroy());
}

function httpsClient(https: typeof Https, url: URL, token: string | undefined, ca: string | undefined): GatewayClient {
  const agent = new https.Agent({ keepAlive: true, ...(ca ? { ca } : {}) });
  const auth = token ? { authorization: `Bearer ${token}` } : {};
  return makeClient(
    url.origin,
    (options, onResponse) => https.request({ ...options, host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port || 443, agent, headers: { ...options.headers, ...auth } }, onResponse),
    () => agent.destroy(),
  );
}

type Send = (options: http.RequestOptions, onResponse: (res: http.IncomingMessage) => void) => http.ClientRequest;

function makeClient(where: string, send: Send, destroy: () => void): GatewayClient {
  const exchange = (method: string, route: string, headers: Record<string, string>, write: (req: http.ClientRequest) => void, signal?: AbortSignal) =>
    new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = send({ method, path: route, headers: { host: 'sluice-gateway', ...headers }, ...(signal ? { signal } : {}) }, resolve);
      req.once('error', reject);
      write(req);
    });
  const readJson = async (res: http.IncomingMessage): Promise<ApiResponse> => {
    const chunks: Buffer[] = [];
    for await (const chunk of res as AsyncIterable<Buffer>) chunks.push(chunk);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: Record<string, unknown> = {};
    if (text.trim()) {
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        body = { error: 'bad_response', detail: text.slice(0, 200) };
      }
    }
    return { status: res.statusCode ?? 0, body };
  };
  return {
    where,
    async call(method, route, body, contentType) {
      const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const headers: Record<string, string> = payload === undefined ? {} : { 'content-type': contentType ?? 'application/json', 'content-length': String(Buffer.byteLength(payload)) };
      const res = await exchange(method, route, headers, (req) => req.end(payload));
      return (await readJson(res)) as ApiResponse<never>;
    },
    async stream(route, signal) {
      const res = await exchange('GET', route, {}, (req) => req.end(), signal);
      if ((res.statusCode ?? 0) >= 400) {
        const { status, body } = await readJson(res);
        throw new GatewayError(status, body);
      }
      return res;
    },
    async upload(route, source) {
      const res = await exchange('POST', route, { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' }, (req) => {
        source.pipe(req);
        source.once('error', () => req.destroy());
      });
      return readJson(res);
    },
    close: destroy,
  };
}

/** The body of a refusal as one line: the detail, and the reason when it adds something. */
export function describeError(body: Record<string, unknown>): string {
  const detail = String(body.detail ?? body.error ?? 'error');
  const reason = body.reason !== undefined && body.reason !== body.detail ? ` (${String(body.reason)})` : '';
  return `${detail}${reason}`;
}
