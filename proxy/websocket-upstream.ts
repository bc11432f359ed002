import type http from 'node:http';
import type { WebSocket } from 'ws';
import type * as Ws from 'ws';
import { SluiceError, lazyModule } from '../core/index.js';
import type { RequestContext, ResponseHead } from '../core/index.js';
import type { ExchangeDeps } from './exchange.js';
import type { ForwardTarget } from './forward.js';
import { upstreamError } from './forward.js';
import { filterBuffer } from './body-filters.js';

/** ws (~15 MB loaded) is required on the first WebSocket, not when Sluice starts. */
export const loadWs = lazyModule<typeof Ws>('ws');

/**
 * Sluice's own WebSocket to the upstream, over a connection to the validated address (TLS
 * verified like every forwarded request). ws makes its own key, checks the upstream's accept
 * value and negotiates compression on this leg; the client's leg is negotiated separately, so
 * the message hooks always see plain messages.
 */
export type UpstreamSocket =
  | { kind: 'open'; socket: WebSocket; headers: string[] }
  /** The upstream answered with plain HTTP (401, 404, …): relayed to the client as it is. */
  | { kind: 'refused'; status: number; raw: Buffer };

/** Set by ws (or meaningless on the other leg); everything else on the upgrade request goes up. */
const OWN_HEADERS = new Set(['sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions', 'sec-websocket-protocol', 'sec-websocket-accept', 'connection', 'upgrade']);
const MAX_REFUSAL_BODY = 64 * 1024;
const HANDSHAKE_TIMEOUT_MS = 30_000;

export async function connectUpstream(deps: ExchangeDeps, ctx: RequestContext, target: ForwardTarget, offered: string[], signal: AbortSignal): Promise<UpstreamSocket> {
  const connection = await deps.forwarder.connect(target);
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(ctx.headers)) if (value !== undefined && !OWN_HEADERS.has(name)) headers[name] = value;
  // The path the policy decided on, byte for byte: a URL parse would re-normalise it.
  const path = (ctx.upstreamPath ?? ctx.classification.path) + (ctx.query ? `?${ctx.query}` : '');
  const host = ctx.dest.host.includes(':') ? `[${ctx.dest.host}]` : ctx.dest.host;
  return new Promise<UpstreamSocket>((resolve, reject) => {
    let ws: WebSocket;
    try {
      ws = new (loadWs().WebSocket)(`${target.scheme === 'https' ? 'wss' : 'ws'}://${host}:${ctx.dest.port}/`, offered, {
        createConnection: () => connection,
        headers,
        maxPayload: deps.maxBufferedBody,
        handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
        followRedirects: false,
        finishRequest: (req) => {
          req.path = path;
          req.end();
        },
      });
    } catch (err) {
      connection.destroy();
      // ws refuses subprotocol lists that are not RFC 6455 tokens.
      reject(new SluiceError('SLUICE_BAD_REQUEST', `invalid WebSocket handshake: ${(err as Error).message}`));
      return;
    }
    let head: ResponseHead | undefined;
    const onAbort = () => ws.terminate();
    signal.addEventListener('abort', onAbort, { once: true });
    // Errors after the handshake are the relay's (it listens to close); an emitter without a listener would throw.
    ws.on('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      reject(upstreamError(err, ctx.dest));
    });
    ws.once('upgrade', (res: http.IncomingMessage) => {
      head = { status: 101, headers: { ...res.headers } };
    });
    ws.once('open', () => {
      signal.removeEventListener('abort', onAbort);
      void passOn(deps, ctx, head ?? { status: 101, headers: {} }).then((lines) => resolve({ kind: 'open', socket: ws, headers: lines }), reject);
    });
    ws.once('unexpected-response', (_req: http.ClientRequest, res: http.IncomingMessage) => {
      signal.removeEventListener('abort', onAbort);
      void refusal(deps, ctx, res).then((raw) => {
        ws.terminate();
        resolve({ kind: 'refused', status: res.statusCode ?? 502, raw });
      }, (err: unknown) => {
        ws.terminate();
        reject(err);
      });
    });
  });
}

/** The upstream's 101 headers the client may see, after the stages' response hooks (credential echoes scrubbed). */
async function passOn(deps: ExchangeDeps, ctx: RequestContext, head: ResponseHead): Promise<string[]> {
  for (const stage of deps.stages) await stage.onResponseHeaders?.(ctx, head);
  const lines: string[] = [];
  for (const [name, value] of Object.entries(head.headers)) {
    if (value === undefined || OWN_HEADERS.has(name) || name === 'content-length' || name === 'transfer-encoding' || name === 'keep-alive') continue;
    for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
  }
  return lines;
}

async function refusal(deps: ExchangeDeps, ctx: RequestContext, res: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_REFUSAL_BODY) break;
    chunks.push(chunk);
  }
  const head: ResponseHead = { status: res.statusCode ?? 502, headers: { ...res.headers } };
  for (const stage of deps.stages) await stage.onResponseHeaders?.(ctx, head);
  const body = await filterBuffer(ctx.responseFilters, Buffer.concat(chunks));
  let text = `HTTP/1.1 ${head.status} ${res.statusMessage ?? ''}\r\n`;
  for (const [name, value] of Object.entries(head.headers)) {
    if (value === undefined || name === 'connection' || name === 'transfer-encoding' || name === 'content-length' || name === 'keep-alive') continue;
    for (const v of Array.isArray(value) ? value : [value]) text += `${name}: ${v}\r\n`;
  }
  text += `content-length: ${body.length}\r\nconnection: close\r\n\r\n`;
  return Buffer.concat([Buffer.from(text, 'latin1'), body]);
}
