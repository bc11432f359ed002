import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { request as undiciRequest } from 'undici';
import type { EventBus } from '../../core/index.js';
import { isSluiceError, makeDestination } from '../../core/index.js';
import type { RequestContext, Stage } from '../../core/index.js';
import { filterStream } from '../../proxy/index.js';

/**
 * A stand-in for the proxy while testing the privacy stage alone: an HTTP server on
 * 127.0.0.1:0 that pretends every request arrived for `host` (an LLM host), runs the stage's
 * hooks in the pipeline's order and writes its StageResponse. When the stage declines (an
 * `allow` route), the request goes to `upstream`, as the proxy's forwarder would.
 */
export interface StageServer {
  readonly url: string;
  close(): Promise<void>;
}

export async function startStageServer(opts: { stage: Stage; bus: EventBus; host: string; upstream?: string }): Promise<StageServer> {
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    void handle(req, res, abort.signal).catch((err: unknown) => {
      const status = isSluiceError(err) ? err.status : 500;
      const body = JSON.stringify(isSluiceError(err) ? { error: err.wire, detail: err.message, reason: err.context.reason } : { error: 'internal_error', detail: String(err) });
      if (!res.headersSent) res.writeHead(status, { 'content-type': 'application/json', 'x-sluice-error': isSluiceError(err) ? err.wire : 'internal_error' }).end(body);
      else res.destroy();
    });
  });

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse, signal: AbortSignal): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://x');
    const headers = { ...req.headers };
    delete headers.connection;
    const ctx: RequestContext = {
      id: randomUUID(),
      src: { ip: '127.0.0.1' },
      dest: makeDestination(opts.host, 443),
      scheme: 'https',
      hasBody: req.headers['content-length'] !== undefined ? Number(req.headers['content-length']) > 0 : req.headers['transfer-encoding'] !== undefined,
      sandbox: undefined,
      bus: opts.bus,
      signal,
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.search.slice(1),
      headers,
      requestFilters: [],
      responseFilters: [],
      state: new Map(),
    };
    await opts.stage.onRequestHeaders?.(ctx);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body: Buffer = Buffer.concat(chunks);
    if (ctx.bufferRequestBody !== undefined) {
      const replaced = await opts.stage.onRequestBody?.(ctx, body);
      if (replaced) body = replaced;
    }
    const own = await opts.stage.respond?.(ctx, body);
    if (own) {
      res.writeHead(own.status, own.headers);
      const b = own.body;
      const source = typeof b === 'string' || b instanceof Uint8Array ? Readable.from([Buffer.from(b)]) : Readable.from(b);
      await (ctx.responseFilters.length ? pipeline(source, filterStream(ctx.responseFilters), res) : pipeline(source, res));
      return;
    }
    if (!opts.upstream) {
      res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'no upstream in the test adapter' }));
      return;
    }
    delete ctx.headers.host;
    delete ctx.headers['content-length'];
    const up = await undiciRequest(opts.upstream + ctx.path + (ctx.query ? `?${ctx.query}` : ''), { method: ctx.method as 'POST', headers: ctx.headers as Record<string, string>, body: body.length ? body : undefined, signal });
    const upHeaders = { ...up.headers };
    delete upHeaders['content-length'];
    delete upHeaders['transfer-encoding'];
    delete upHeaders.connection;
    res.writeHead(up.statusCode, upHeaders);
    await (ctx.responseFilters.length ? pipeline(up.body, filterStream(ctx.responseFilters), res) : pipeline(up.body, res));
  };

  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
