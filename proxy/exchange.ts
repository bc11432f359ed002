import type http from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EventEmitter } from 'node:events';
import { SluiceError, decisionError } from '../core/index.js';
import type { BodyFilter, Classifier, Destination, Endpoint, EventBus, LlmClass, RequestContext, Stage, StageResponse } from '../core/index.js';
import { stripHopByHop } from './headers.js';
import { filterStream } from './body-filters.js';
import { createRequestContext, runRequestHooks } from './request.js';
import { isUpstreamFailure, refusalAfterPolicy, sendError, toSluiceError } from './respond.js';
import { hostAgrees, parseAbsolute, splitTarget } from './target.js';
import type { Forwarder } from './forward.js';
import type { ResolvedAddress } from './ssrf.js';

/**
 * One HTTP exchange (plain absolute-form, or a request inside an intercepted tunnel) through
 * the stages: headers hooks in order, optional buffered body, a stage's own response or the
 * forwarder, then response hooks and filters. Any throw becomes the JSON error response.
 */
export interface TunnelInfo {
  dest: Destination;
  scheme: 'http' | 'https';
  src: Endpoint;
  sandbox: string | undefined;
  /** The address the SSRF guard validated at CONNECT time, reused for every request. */
  address?: Promise<ResolvedAddress>;
}

export interface ExchangeDeps {
  stages: readonly Stage[];
  /** Set when every client of this listener is one known sandbox (`sluice run`). */
  sandbox?: string;
  forwarder: Forwarder;
  bus: EventBus;
  classifier: Classifier;
  resolveAddress(ctx: RequestContext, tunnel: TunnelInfo | undefined): Promise<ResolvedAddress>;
  maxBufferedBody: number;
}

async function readCapped(req: http.IncomingMessage, cap: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > cap) throw new SluiceError('SLUICE_BODY_TOO_LARGE', `request body of ${declared} bytes exceeds the ${cap}-byte limit for inspected requests`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > cap) throw new SluiceError('SLUICE_BODY_TOO_LARGE', `request body exceeds the ${cap}-byte limit for inspected requests`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function writeStageResponse(res: http.ServerResponse, response: StageResponse, filters: readonly BodyFilter[]): Promise<void> {
  res.writeHead(response.status, stripHopByHop(response.headers));
  const body = response.body;
  const source = typeof body === 'string' || body instanceof Uint8Array ? Readable.from([Buffer.from(body)]) : Readable.from(body);
  return filters.length ? pipeline(source, filterStream(filters), res) : pipeline(source, res);
}

export async function runExchange(deps: ExchangeDeps, req: http.IncomingMessage, res: http.ServerResponse, tunnel: TunnelInfo | undefined): Promise<void> {
  const started = performance.now();
  // A client that goes away cancels the exchange. AbortController is costly per request, so
  // stages get one only when they ask (ctx.signal); undici gets a plain emitter.
  let controller: AbortController | undefined;
  let gone = false;
  const cancel = new EventEmitter();
  res.on('close', () => {
    if (res.writableFinished) return;
    gone = true;
    controller?.abort();
    cancel.emit('abort');
  });
  const lazySignal = (): AbortSignal => {
    if (!controller) {
      controller = new AbortController();
      if (gone) controller.abort();
    }
    return controller.signal;
  };
  let dest: Destination | undefined = tunnel?.dest;
  let ctx: RequestContext | undefined;
  const scheme = tunnel?.scheme ?? 'http';
  const sandbox = tunnel?.sandbox ?? deps.sandbox ?? sandboxOf(req);
  const src: Endpoint = tunnel?.src ?? { ip: req.socket.remoteAddress, port: req.socket.remotePort, ...(sandbox ? { sandbox } : {}) };
  try {
    let target = req.url ?? '/';
    if (!tunnel) {
      const parsed = parseAbsolute(target);
      dest = parsed.dest;
      target = parsed.target;
    } else if (!target.startsWith('/')) {
      if (target === '*' && req.method === 'OPTIONS') target = '*';
      else throw new SluiceError('SLUICE_BAD_REQUEST', 'requests inside a tunnel must use origin-form targets (/path)');
    }
    if (!hostAgrees(req.headers.host, dest!, scheme)) {
      throw new SluiceError('SLUICE_HOST_MISMATCH', `Host header "${String(req.headers.host).slice(0, 200)}" does not match the tunnel's destination ${dest!.authority}`, { reason: 'the Host header must name the host the tunnel was opened to' });
    }
    ctx = createRequestContext({
      src,
      dest: dest!,
      scheme,
      sandbox,
      bus: deps.bus,
      signal: lazySignal,
      method: req.method ?? 'GET',
      target,
      headers: req.headers,
      classifier: deps.classifier,
    });
    const buffered = await runRequestHooks(deps.stages, ctx, (cap) => readCapped(req, Math.min(cap, deps.maxBufferedBody)));
    const body: Buffer | Readable | null = buffered ?? (!ctx.hasBody ? null : ctx.requestFilters.length ? req.pipe(filterStream(ctx.requestFilters)) : req);

    for (const stage of deps.stages) {
      if (!stage.respond) continue;
      const own = await stage.respond(ctx, body instanceof Buffer ? body : body ?? Buffer.alloc(0));
      if (own) {
        await writeStageResponse(res, own, ctx.responseFilters);
        finish(deps, ctx, own.status, started);
        return;
      }
    }

    // Fail closed: a request no stage allowed (or one that a stage denied without throwing) is never sent.
    if (ctx.decision?.action !== 'allow') {
      throw ctx.decision ? decisionError(ctx.decision) : new SluiceError('SLUICE_INTERNAL', 'no stage decided this request', { reason: 'no stage decided this request; Sluice does not forward undecided requests' });
    }
    if (body instanceof Buffer) {
      delete ctx.headers['transfer-encoding'];
      ctx.headers['content-length'] = String(body.length);
    } else if (body && ctx.requestFilters.length) {
      // Filters may change the length: send chunked.
      delete ctx.headers['content-length'];
    }
    const resolved = await deps.resolveAddress(ctx, tunnel);
    const upstream = await deps.forwarder.request(
      { scheme, dest: ctx.dest, address: resolved.address },
      { method: ctx.method, path: (ctx.upstreamPath ?? ctx.classification.path) + (ctx.query ? `?${ctx.query}` : ''), headers: ctx.headers, body, signal: cancel },
    );
    const head = { status: upstream.status, headers: stripHopByHop(upstream.headers) };
    for (const stage of deps.stages) await stage.onResponseHeaders?.(ctx, head);
    if (ctx.responseFilters.length) delete head.headers['content-length'];
    res.writeHead(head.status, head.headers);
    await (ctx.responseFilters.length ? pipeline(upstream.body, filterStream(ctx.responseFilters), res) : pump(upstream.body, res));
    finish(deps, ctx, head.status, started);
  } catch (err) {
    let e = toSluiceError(err);
    const failed = isUpstreamFailure(e);
    if (ctx && !failed && (!ctx.decision || ctx.decision.action === 'allow')) {
      // Refused after the policy allowed it (SSRF guard, DLP, credentials, router): the decision
      // and the body say who refused, and the fix.
      const refused = refusalAfterPolicy(e, ctx.decision, ctx.dest.host);
      ctx.decision = refused.decision;
      e = refused.error;
    }
    // A client that hung up mid-answer breaks the pipe to it: not Sluice's fault, not worth a warning.
    if (e.code === 'SLUICE_INTERNAL' && !gone) process.emitWarning(`sluice: internal error: ${(err as Error)?.stack ?? String(err)}`);
    // A stage that refused over a secret put a scrubbed spelling of the path in the error.
    const path = typeof e.context.path === 'string' ? e.context.path : (ctx?.classification.path ?? splitTarget(req.url ?? '/').path);
    const own = ctx && !res.headersSent ? renderOwnError(deps.stages, ctx, e) : undefined;
    if (own) {
      res.writeHead(own.status, { ...stripHopByHop(own.headers), 'x-sluice-error': e.wire, 'cache-control': 'no-store' });
      res.end(typeof own.body === 'string' || own.body instanceof Uint8Array ? own.body : undefined);
    } else {
      sendError(res, e, { host: dest?.host, port: dest?.port, method: req.method, path });
    }
    if (ctx) {
      // An upstream that failed is not a refusal: the decision that allowed the request stands.
      finish(deps, ctx, e.status, started, err, path, {
        ...(failed ? { failure: { code: e.wire, reason: e.message } } : {}),
        ...(typeof e.context.address === 'string' ? { ip: e.context.address } : {}),
      });
    } else if (dest) {
      deps.bus.emit({ type: 'request', time: Date.now(), src, dst: { host: dest.host, port: dest.port }, method: req.method ?? '', path: splitTarget(req.url ?? '/').path, scheme, decision: { action: 'deny', code: e.wire, reason: e.message }, status: e.status });
    }
  }
}

function renderOwnError(stages: readonly Stage[], ctx: RequestContext, err: SluiceError): StageResponse | undefined {
  for (const stage of stages) {
    try {
      const own = stage.renderError?.(ctx, err);
      if (own) return own;
    } catch {
      // A stage that cannot render its own error shape leaves it to the generic JSON.
    }
  }
  return undefined;
}

/**
 * Upstream body → client without stream.pipeline's per-call AbortController (measurable on
 * small keep-alive responses); a client that goes away destroys the upstream body, which
 * makes undici drop that upstream request.
 */
function pump(src: Readable, dst: http.ServerResponse): Promise<void> {
  return new Promise((resolve, reject) => {
    src.once('error', (err) => {
      dst.destroy(err);
      reject(err);
    });
    dst.once('close', () => {
      if (!dst.writableFinished) src.destroy();
      resolve();
    });
    src.pipe(dst);
  });
}

function finish(
  deps: ExchangeDeps,
  ctx: RequestContext,
  status: number,
  started: number,
  error?: unknown,
  path = ctx.classification.path,
  extra: { failure?: { code: string; reason: string }; ip?: string } = {},
): void {
  for (const stage of deps.stages) stage.onClose?.(ctx, error);
  deps.bus.emit({
    type: 'request',
    time: Date.now(),
    src: ctx.src,
    dst: { host: ctx.dest.host, port: ctx.dest.port, ...(extra.ip ? { ip: extra.ip } : {}) },
    method: ctx.method,
    path,
    scheme: ctx.scheme,
    ...llmClass(ctx),
    decision: ctx.decision ?? { action: 'allow', code: 'allowed', reason: 'no stage objected' },
    status,
    durationMs: Math.round((performance.now() - started) * 1000) / 1000,
    ...(extra.failure ? { error: extra.failure } : {}),
  });
}

/** On LLM hosts, the classification the request was decided by, for the audit event. */
function llmClass(ctx: RequestContext): { llm?: LlmClass } {
  const c = ctx.classification;
  if (c.hostClass === 'other') return {};
  return { llm: { hostClass: c.hostClass, ...(c.api ? { api: c.api } : {}), ...(c.stream !== undefined ? { stream: c.stream } : {}) } };
}

/**
 * The sandbox a client says it is, from `Proxy-Authorization: Basic base64("sluice:<name>")`
 * (the form `sluice run` puts in the sandbox's proxy URLs). A claim, not a proof: a listener
 * dedicated to one sandbox sets `sandbox` in its options, which wins over any header.
 */
export function sandboxOf(req: http.IncomingMessage): string | undefined {
  const auth = req.headers['proxy-authorization'];
  if (!auth || !/^basic /i.test(auth)) return undefined;
  const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const name = colon >= 0 && decoded.slice(0, colon) === 'sluice' ? decoded.slice(colon + 1) : decoded.split(':')[0];
  return name && /^[A-Za-z0-9_.-]{1,64}$/.test(name) ? name : undefined;
}
