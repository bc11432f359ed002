import type { IncomingHttpHeaders } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { ClientProcess, Classifier, Destination, Endpoint, EventBus, RequestContext, Stage } from '../core/index.js';
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
  const { path, query } = splitTarget(init.target);
  const headers = stripHopByHop(init.headers);
  // Node's server already answered "Expect: 100-continue" to the client; undici refuses to send it.
  delete headers.expect;
  const hasBody = init.headers['content-length'] !== undefined ? Number(init.headers['content-length']) > 0 : init.headers['transfer-encoding'] !== undefined;
  const { dest, scheme } = init;
  headers.host = dest.port === DEFAULT_PORT[scheme] ? (dest.host.includes(':') ? `[${dest.host}]` : dest.host) : dest.authority;
  return {
    id: randomUUID(),
    src: init.src,
    dest,
    scheme,
    sandbox: init.sandbox,
    ...(init.clientProcess ? { clientProcess: init.clientProcess } : {}),
    bus: init.bus,
    get signal() {
      return init.signal();
    },
    method: init.method,
    hasBody,
    classification: init.classifier.classify({ dest, method: init.method, rawPath: path, headers, ...(init.upgrade ? { upgrade: init.upgrade } : {}) }),
    ...(init.upgrade ? { upgrade: init.upgrade } : {}),
    query,
    headers,
    requestFilters: [],
    responseFilters: [],
    state: new Map(),
  };
}

/**
 * Header hooks in order; then, when a stage asked for the body, the body hooks over it and the
 * request filters. Returns the buffered body (undefined when it streams).
 */
export async function runRequestHooks(stages: readonly Stage[], ctx: RequestContext, readBody: (cap: number) => Promise<Buffer>): Promise<Buffer | undefined> {
  for (const stage of stages) await stage.onRequestHeaders?.(ctx);
  if (ctx.bufferRequestBody === undefined) return undefined;
  let buffered = await readBody(ctx.bufferRequestBody);
  for (const stage of stages) {
    const replaced = await stage.onRequestBody?.(ctx, buffered);
    if (replaced) buffered = replaced;
  }
  return filterBuffer(ctx.requestFilters, buffered);
}
