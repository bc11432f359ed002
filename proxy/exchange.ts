import type http from 'node:http';
import type net from 'node:net';
import { pipeline as streamPipeline } from 'node:stream';
import type { Readable, Transform } from 'node:stream';
import { Cancellation, SluiceError, decisionError } from '../core/index.js';
import type { Classifier, ClientProcess, Destination, Endpoint, EventBus, LlmClass, RequestContext, Stage, StageResponse } from '../core/index.js';
import { stripHopByHop } from './headers.js';
import { filterStream, keepLength } from './body-filters.js';
import { writeStageResponse } from './stage-response.js';
import { createRequestContext, runRequestHooks } from './request.js';
import { isUpstreamFailure, refusalAfterPolicy, sendError, toSluiceError } from './respond.js';
import { hostAgrees, parseAbsolute, splitTarget } from './target.js';
import type { Forwarder } from './forward.js';
import type { ResolvedAddress } from './ssrf.js';
import { codingsOf, decodableAcceptEncoding, decodersFor } from './content-coding.js';
import type { BodyBudget, BodyCharge } from './body-budget.js';
import { identify } from './identity.js';
import type { ListenerIdentity } from './identity.js';

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
  /** The program behind the client connection the tunnel was opened on (sandbox listeners). */
  clientProcess?: () => Promise<ClientProcess>;
  /** The address the SSRF guard validated at CONNECT time, reused for every request. */
  address?: Promise<ResolvedAddress>;
}

export interface ExchangeDeps {
  stages: readonly Stage[];
  identity: ListenerIdentity;
  forwarder: Forwarder;
  bus: EventBus;
  classifier: Classifier;
  /** Sandbox listeners: the program behind a plain-HTTP client connection. */
  clientProcessOf?(socket: net.Socket): (() => Promise<ClientProcess>) | undefined;
  resolveAddress(ctx: RequestContext, tunnel: TunnelInfo | undefined): Promise<ResolvedAddress>;
  maxBufferedBody: number;
  /** Shared by every exchange of the listener (body-budget.ts). */
  bodyBudget: BodyBudget;
}

/**
 * Reads a body a stage asked to see whole, charging the budget for it: all at once when its length is
 * declared (and then into one buffer of that size, not chunks and a concatenated copy).
 */
async function readCapped(body: Readable, declared: number, cap: number, charge: BodyCharge): Promise<Buffer> {
  if (declared > cap) throw new SluiceError('SLUICE_BODY_TOO_LARGE', `request body of ${declared} bytes exceeds the ${cap}-byte limit for inspected requests`);
  charge.take(declared);
  let charged = declared;
  const whole = declared > 0 ? Buffer.allocUnsafe(declared) : undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  // A refusal mid-body must not destroy the request: the client still has to read the answer (discardUnread).
  for await (const chunk of body.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    if (size + chunk.length > cap) throw new SluiceError('SLUICE_BODY_TOO_LARGE', `request body exceeds the ${cap}-byte limit for inspected requests`);
    if (size + chunk.length > charged) {
      charge.take(size + chunk.length - charged);
      charged = size + chunk.length;
    }
    if (whole && size + chunk.length <= whole.length) chunk.copy(whole, size);
    else chunks.push(chunk);
    size += chunk.length;
  }
  if (!whole) return Buffer.concat(chunks);
  // Node's parser enforces Content-Length, so the buffer is exactly filled.
  return size === whole.length ? whole : Buffer.concat([whole.subarray(0, Math.min(size, whole.length)), ...chunks]);
}

/** Where a request goes: the tunnel's destination, or the absolute-form URL's; its Host header must agree. */
export function requestTarget(req: http.IncomingMessage, tunnel: TunnelInfo | undefined): { dest: Destination; target: string } {
  let target = req.url ?? '/';
  let dest = tunnel?.dest;
  if (!tunnel) {
    const parsed = parseAbsolute(target);
    dest = parsed.dest;
    target = parsed.target;
  } else if (!target.startsWith('/') && !(target === '*' && req.method === 'OPTIONS')) {
    throw new SluiceError('SLUICE_BAD_REQUEST', 'requests inside a tunnel must use origin-form targets (/path)');
  }
  if (!hostAgrees(req.headers.host, dest!, tunnel?.scheme ?? 'http')) {
    throw new SluiceError('SLUICE_HOST_MISMATCH', `Host header "${String(req.headers.host).slice(0, 200)}" does not match the tunnel's destination ${dest!.authority}`, { reason: 'the Host header must name the host the tunnel was opened to' });
  }
  return { dest: dest!, target };
}

export async function runExchange(deps: ExchangeDeps, req: http.IncomingMessage, res: http.ServerResponse, tunnel: TunnelInfo | undefined): Promise<void> {
  const started = performance.now();
  // A client that goes away cancels the exchange. AbortController is costly per request, so
  // stages get one only when they ask (ctx.signal); undici and the router get the plain emitter.
  const cancel = new Cancellation();
  res.on('close', () => {
    if (!res.writableFinished) cancel.abort();
  });
  let dest: Destination | undefined = tunnel?.dest;
  let ctx: RequestContext | undefined;
  const scheme = tunnel?.scheme ?? 'http';
  const src: Endpoint = tunnel?.src ?? { ip: req.socket.remoteAddress, port: req.socket.remotePort };
  try {
    const where = requestTarget(req, tunnel);
    dest = where.dest;
    ctx = createRequestContext({
      src,
      dest,
      scheme,
      sandbox: tunnel ? tunnel.sandbox : identify(req, deps.identity),
      ...clientProcessField(tunnel ? tunnel.clientProcess : deps.clientProcessOf?.(req.socket)),
      bus: deps.bus,
      signal: () => cancel.signal(),
      cancel,
      method: req.method ?? 'GET',
      target: where.target,
      headers: req.headers,
      classifier: deps.classifier,
    });
    // A body the stages inspect is decoded from its Content-Encoding first; known once the header hooks ran.
    let source: Readable | undefined;
    const requestBody = (c: RequestContext): Readable => (source ??= c.hasBody && (c.bufferRequestBody !== undefined || c.requestFilters.length > 0) ? decodedRequest(req, c) : req);
    const readWhole = (from: Readable, cap: number, charge: BodyCharge): Promise<Buffer> =>
      readCapped(from, from === req ? Number(req.headers['content-length'] ?? 0) : 0, Math.min(cap, deps.maxBufferedBody), charge);
    const buffered = await runRequestHooks(deps.stages, ctx, (cap) => {
      const charge = deps.bodyBudget.open();
      res.once('close', () => charge.release());
      return readWhole(requestBody(ctx!), cap, charge);
    });
    // What a response filter reads must be decodable: ask only for codings Sluice can undo.
    if (ctx.responseFilters.length) ctx.headers['accept-encoding'] = decodableAcceptEncoding(ctx.headers['accept-encoding']);
    const streamed = buffered || !ctx.hasBody ? undefined : ctx.requestFilters.length ? requestBody(ctx).pipe(filterStream(ctx.requestFilters)) : requestBody(ctx);
    // A small body is read whole (through the filters) before it is sent: handed to undici as a stream,
    // every request's objects outlived the young generation (see SMALL_BODY).
    const small = streamed && req.headers['content-encoding'] === undefined && Number(req.headers['content-length'] ?? Infinity) <= SMALL_BODY;
    const body: Buffer | Readable | null = buffered ?? (small ? await readWhole(streamed, deps.maxBufferedBody, UNCHARGED) : (streamed ?? null));

    for (const stage of deps.stages) {
      if (!stage.respond) continue;
      const answer = stage.respond(ctx, body instanceof Buffer ? body : body ?? Buffer.alloc(0));
      const own = answer instanceof Promise ? await answer : answer;
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
    } else if (body && ctx.requestFilters.length && !keepLength(ctx.requestFilters)) {
      // Filters may change the length: send chunked.
      delete ctx.headers['content-length'];
    }
    const resolved = await deps.resolveAddress(ctx, tunnel);
    const upstream = await deps.forwarder.request(
      { scheme, dest: ctx.dest, address: resolved.address },
      { method: ctx.method, path: (ctx.upstreamPath ?? ctx.classification.path) + (ctx.query ? `?${ctx.query}` : ''), headers: ctx.headers, body, signal: cancel },
    );
    const head = { status: upstream.status, headers: stripHopByHop(upstream.headers) };
    for (const stage of deps.stages) {
      const pending = stage.onResponseHeaders?.(ctx, head);
      if (pending) await pending;
    }
    if (!ctx.responseFilters.length) {
      res.writeHead(head.status, head.headers);
      await pump(upstream.body, res);
    } else {
      const decoded = decodedResponse(upstream.body, head, ctx);
      delete head.headers['content-length'];
      res.writeHead(head.status, head.headers);
      await pump(decoded, res, filterStream(ctx.responseFilters));
    }
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
    if (e.code === 'SLUICE_INTERNAL' && !cancel.aborted) process.emitWarning(`sluice: internal error: ${(err as Error)?.stack ?? String(err)}`);
    // A stage that refused over a secret put a scrubbed spelling of the path in the error.
    const path = typeof e.context.path === 'string' ? e.context.path : (ctx?.classification.path ?? splitTarget(req.url ?? '/').path);
    const own = ctx && !res.headersSent ? renderOwnError(deps.stages, ctx, e) : undefined;
    if (own) {
      res.writeHead(own.status, { ...stripHopByHop(own.headers), 'x-sluice-error': e.wire, 'cache-control': 'no-store', ...retryAfter(e) });
      res.end(typeof own.body === 'string' || own.body instanceof Uint8Array ? own.body : undefined);
    } else {
      sendError(res, e, { host: dest?.host, port: dest?.port, method: req.method, path });
    }
    discardUnread(req);
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

/** How long the rest of a refused request body is read and thrown away before the connection is cut. */
const DISCARD_MS = 10_000;
/**
 * Request bodies up to this size (by Content-Length) are read whole, through the request filters,
 * before the upstream request starts. A body undici sends from a stream while its request is in
 * flight kept that request's objects alive past two young-generation collections: on a stream of
 * small POSTs, 1.5 MB promoted per scavenge against 70 KB for the same calls read whole first, and
 * scavenges of 3.2 ms against 0.7 (p50). The DLP filter holds a body this small back until its end
 * anyway (its first pass is at 64 KB), so with it on nothing leaves later than it did.
 */
const SMALL_BODY = 64 * 1024;
/**
 * What a small body read whole is charged to the buffered-body budget: nothing. The budget prices
 * a byte a stage parses at 12 (body-budget.ts); one passed on as it came costs its own bytes, as
 * the socket buffers of a streamed body did, and a few hundred concurrent small POSTs must not be
 * refused for it.
 */
const UNCHARGED: BodyCharge = { take: () => undefined, release: () => undefined };

/**
 * A request refused while its body was still arriving (over the body cap or budget): the rest is
 * read and dropped, so that the client, still writing, reads the answer instead of a reset from
 * a socket closed under it. Bounded in time: a body that never ends loses its connection.
 */
function discardUnread(req: http.IncomingMessage): void {
  if (req.complete || req.destroyed) return;
  req.unpipe();
  req.resume();
  const cut = setTimeout(() => req.socket.destroy(), DISCARD_MS).unref();
  req.once('end', () => clearTimeout(cut));
  req.once('close', () => clearTimeout(cut));
}

/** The request body as identity bytes for the stages that inspect it; refuses a coding Sluice cannot undo. */
function decodedRequest(req: http.IncomingMessage, ctx: RequestContext): Readable {
  const codings = codingsOf(req.headers['content-encoding']);
  if (codings.length === 0) return req;
  const chain = decodersFor(codings);
  if ('unsupported' in chain) {
    throw new SluiceError('SLUICE_ENCODING_UNSUPPORTED', `request Content-Encoding "${chain.unsupported.slice(0, 40)}" cannot be decoded, so the body cannot be inspected`, { reason: 'send the body with gzip, deflate, br or no Content-Encoding' });
  }
  // Forwarded as decoded: the upstream gets what the stages checked.
  delete ctx.headers['content-encoding'];
  delete ctx.headers['content-length'];
  return pipelineOf(req, chain.decoders);
}

/** The response body as identity bytes for the response filters; refuses a coding Sluice cannot undo. */
function decodedResponse(body: Readable, head: { status: number; headers: http.IncomingHttpHeaders }, ctx: RequestContext): Readable {
  const codings = codingsOf(head.headers['content-encoding']);
  if (codings.length === 0 || ctx.method === 'HEAD' || head.status === 204 || head.status === 304 || head.headers['content-length'] === '0') return body;
  const chain = decodersFor(codings);
  if ('unsupported' in chain) {
    body.on('error', () => undefined); // undici reports the abort as an error on the body
    body.destroy();
    throw new SluiceError('SLUICE_UPSTREAM_ERROR', `${ctx.dest.authority} answered with Content-Encoding "${chain.unsupported.slice(0, 40)}", which Sluice cannot decode to inspect`, { reason: 'the response body cannot be inspected, so it is not passed on' });
  }
  delete head.headers['content-encoding'];
  return pipelineOf(body, chain.decoders);
}

/** `source` through `transforms`; an error anywhere destroys the rest (the last stream reports it). */
function pipelineOf(source: Readable, transforms: Transform[]): Readable {
  if (transforms.length === 0) return source;
  return streamPipeline([source, ...transforms] as unknown as [Readable, Transform], () => undefined) as unknown as Readable;
}

function retryAfter(e: SluiceError): Record<string, string> {
  return typeof e.context.retryAfter === 'number' ? { 'retry-after': String(e.context.retryAfter) } : {};
}

export function renderOwnError(stages: readonly Stage[], ctx: RequestContext, err: SluiceError): StageResponse | undefined {
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
 * Upstream body (through the response filters, if any) → client, without stream.pipeline: its
 * per-call AbortController costs CPU on small keep-alive responses and, outliving the young
 * generation, takes the whole exchange with it into the old one (~2.4 KB promoted per call, a
 * mark-compact every ~2 s on a stream of small calls). A filter that throws or an upstream that
 * fails destroys the rest and rejects with its error; a client that goes away destroys the
 * upstream body, which makes undici drop that upstream request. A client that reads slowly pauses
 * the upstream body until its socket drains.
 */
function pump(src: Readable, dst: http.ServerResponse, through?: Transform): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => {
      src.destroy();
      through?.destroy();
      dst.destroy(err);
      reject(err);
    };
    src.once('error', fail);
    through?.once('error', fail);
    dst.once('close', () => {
      if (dst.writableFinished) return resolve();
      src.destroy();
      through?.destroy();
      resolve();
    });
    // The last hop by hand, not .pipe(): three listeners instead of the seven pipe() adds and removes.
    const from = through ? src.pipe(through) : src;
    from.on('data', (chunk: Buffer) => {
      if (!dst.write(chunk)) from.pause();
    });
    dst.on('drain', () => from.resume());
    from.once('end', () => dst.end());
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
export function llmClass(ctx: RequestContext): { llm?: LlmClass } {
  const c = ctx.classification;
  if (c.hostClass === 'other') return {};
  return { llm: { hostClass: c.hostClass, ...(c.api ? { api: c.api } : {}), ...(c.stream !== undefined ? { stream: c.stream } : {}) } };
}

export function clientProcessField(lazy: (() => Promise<ClientProcess>) | undefined): { clientProcess?: () => Promise<ClientProcess> } {
  return lazy ? { clientProcess: lazy } : {};
}
