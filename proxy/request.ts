import type { IncomingHttpHeaders } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { BodyFilter, Cancel, ClientProcess, Classification, Classifier, Decision, Destination, Endpoint, EventBus, RequestContext, RouteVerdict, Stage } from '../core/index.js';
import { filterBuffer } from './body-filters.js';
import { stripHopByHop } from './headers.js';
import { DEFAULT_PORT, splitTarget } from './target.js';

/**
 * A request's context and the request side of the stages, shared by the live exchange and by
 * `sluice explain`, so that both decide with the same code: the request is classified once,
 * here, before any stage runs.
 */
export interface RequestInit {
  src: Endpoint;
  dest: Destination;
  scheme: 'http' | 'https';
  sandbox: string | undefined;
  clientProcess?: () => Promise<ClientProcess>;
  bus: EventBus;
  signal(): AbortSignal;
  cancel: Cancel;
  method: string;
  /** Origin-form target as sent: raw path and query. */
  target: string;
  /** Headers as received (hop-by-hop and Proxy-* fields are dropped here). */
  headers: IncomingHttpHeaders;
  classifier: Classifier;
  /** A WebSocket upgrade: after the header hooks, messages flow instead of a body. */
  upgrade?: 'websocket';
}

export function createRequestContext(init: RequestInit): RequestContext {
  return new ExchangeContext(init);
}

/**
 * A class, not an object literal, for its `signal` and `id` getters: on the prototype, one for every
 * request. A literal with a getter closure of its own gets a hidden class of its own per request,
 * and V8's scavenger keeps each such hidden class (and the closure, and so the whole request it
 * reaches) alive until the next full collection: every request was copied out of the young
 * generation, ~1.5 MB per scavenge and 5–40 ms pauses (bench/README.md, "Where the p99 comes from").
 */
class ExchangeContext implements RequestContext {
  /** Made when first read (the router's request ids): a UUID costs ~1 µs, and most requests never show one. */
  #id: string | undefined;
  readonly src: Endpoint;
  readonly dest: Destination;
  readonly scheme: 'http' | 'https';
  readonly sandbox: string | undefined;
  declare readonly clientProcess?: () => Promise<ClientProcess>;
  readonly bus: EventBus;
  readonly cancel: Cancel;
  method: string;
  readonly hasBody: boolean;
  readonly classification: Classification;
  declare readonly upgrade?: 'websocket';
  query: string;
  headers: IncomingHttpHeaders;
  requestFilters: BodyFilter[] = [];
  responseFilters: BodyFilter[] = [];
  readonly state = new Map<symbol, unknown>();
  declare upstreamPath?: string;
  declare network?: Decision;
  declare decision?: Decision;
  declare route?: RouteVerdict;
  declare injected?: string[];
  declare bufferRequestBody?: number;
  readonly #signal: () => AbortSignal;

  constructor(init: RequestInit) {
    const { path, query } = splitTarget(init.target);
    const headers = stripHopByHop(init.headers);
    // Node's server already answered "Expect: 100-continue" to the client; undici refuses to send it.
    delete headers.expect;
    const { dest, scheme } = init;
    headers.host = dest.port === DEFAULT_PORT[scheme] ? (dest.host.includes(':') ? `[${dest.host}]` : dest.host) : dest.authority;
    this.src = init.src;
    this.dest = dest;
    this.scheme = scheme;
    this.sandbox = init.sandbox;
    if (init.clientProcess) this.clientProcess = init.clientProcess;
    this.bus = init.bus;
    this.#signal = init.signal;
    this.cancel = init.cancel;
    this.method = init.method;
    this.hasBody = init.headers['content-length'] !== undefined ? Number(init.headers['content-length']) > 0 : init.headers['transfer-encoding'] !== undefined;
    this.classification = init.classifier.classify({ dest, method: init.method, rawPath: path, headers, ...(init.upgrade ? { upgrade: init.upgrade } : {}) });
    if (init.upgrade) this.upgrade = init.upgrade;
    this.query = query;
    this.headers = headers;
  }

  get id(): string {
    return (this.#id ??= randomUUID());
  }

  get signal(): AbortSignal {
    return this.#signal();
  }
}

/**
 * Header hooks in order; then, when a stage asked for the body, the body hooks over it and the
 * request filters. Returns the buffered body (undefined when it streams).
 */
export async function runRequestHooks(stages: readonly Stage[], ctx: RequestContext, readBody: (cap: number) => Promise<Buffer>): Promise<Buffer | undefined> {
  for (const stage of stages) {
    // Most hooks finish synchronously: awaited only when they return a promise (a turn of the microtask queue per stage saved).
    const pending = stage.onRequestHeaders?.(ctx);
    if (pending) await pending;
  }
  if (ctx.bufferRequestBody === undefined) return undefined;
  let buffered = await readBody(ctx.bufferRequestBody);
  for (const stage of stages) {
    const replaced = await stage.onRequestBody?.(ctx, buffered);
    if (replaced) buffered = replaced;
  }
  return filterBuffer(ctx.requestFilters, buffered);
}
