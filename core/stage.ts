import type { IncomingHttpHeaders } from 'node:http';
import type { Cancel } from './cancellation.js';
import type { Decision } from './decision.js';
import type { Destination } from './destination.js';
import type { SluiceError } from './errors.js';
import type { Endpoint, EventBus } from './events.js';
import type { Classification, HostClass } from './llm.js';
import type { ClientProcess } from './process.js';

/**
 * Stages are small, named pieces of the request path (policy, privacy router, credentials,
 * forward). app/pipeline.ts is the only place that knows their order. A stage decides at
 * headers time whether it needs the body; body filters are chunk transforms, buffering is
 * opt-in and capped. A stage denies by throwing a SluiceError. What a request is (its
 * classification) is decided once, before any stage runs, and stages read it from the context:
 * no stage asks another.
 */
export interface ConnectContext {
  readonly id: string;
  readonly src: Endpoint;
  readonly dest: Destination;
  /** Whether the tunnel goes to an LLM host (see core/llm.ts), classified once by host and port. */
  readonly hostClass: HostClass;
  /** The tunnel's client-facing identity, e.g. which sandbox it belongs to (from Proxy-Authorization). */
  readonly sandbox: string | undefined;
  /** For findings a stage reports while it judges the CONNECT. */
  readonly bus: EventBus;
  /**
   * On the listener of a sandbox Sluice runs: which program opened the client connection, worked
   * out on first call (once per connection) while the connection is open. Absent for other clients.
   */
  readonly clientProcess?: () => Promise<ClientProcess>;
  decision?: Decision;
}

/** A chunk transform over a body stream. May throw a SluiceError to abort the exchange. */
export interface BodyFilter {
  transform(chunk: Buffer): Buffer | Promise<Buffer>;
  flush?(): Buffer | Promise<Buffer>;
  /**
   * The filter passes every byte through unchanged and in order (it may hold some back until later,
   * and it may throw): a body only such filters read keeps its Content-Length instead of going chunked.
   */
  readonly keepsLength?: boolean;
}

export interface ResponseHead {
  status: number;
  headers: IncomingHttpHeaders;
}

/** What a stage may answer with instead of forwarding (e.g. the privacy router). */
export interface StageResponse extends ResponseHead {
  body: AsyncIterable<Uint8Array> | Uint8Array | string;
}

export interface RequestContext {
  readonly id: string;
  readonly src: Endpoint;
  /** The destination, canonicalised at ingress: the tunnel's for intercepted requests. */
  readonly dest: Destination;
  readonly scheme: 'http' | 'https';
  readonly sandbox: string | undefined;
  /** As on ConnectContext: the program behind the client connection this request came on. */
  readonly clientProcess?: () => Promise<ClientProcess>;
  readonly bus: EventBus;
  /** Aborted when the client goes away; an AbortController made on first ask (see `cancel`). */
  readonly signal: AbortSignal;
  /** The same, without an AbortController: what undici takes as `signal` on the request path. */
  readonly cancel: Cancel;
  method: string;
  /** True when the client sends a request body (Content-Length > 0 or chunked). */
  readonly hasBody: boolean;
  /** Set on a WebSocket upgrade: after the headers hooks, messages flow instead of a body. */
  readonly upgrade?: 'websocket';
  /**
   * Made at ingress, before any stage: the canonical path every stage judges and the forwarder
   * sends, the host class, the LLM API. Stages read it; none re-derives it from the raw request.
   */
  readonly classification: Classification;
  /** Raw query string without '?', '' when none. */
  query: string;
  /** Set by a stage that rewrites the forwarded path (e.g. credentials in a path segment). */
  upstreamPath?: string;
  /** Headers to send upstream (lowercase names; hop-by-hop and Proxy-* already removed). */
  headers: IncomingHttpHeaders;
  /**
   * The network policy's verdict on sending this request, as it is, to its destination (set by
   * the policy stage). On LLM hosts it is not the final word: the privacy router answers calls
   * itself and lets one out to the provider only when this says allow.
   */
  network?: Decision;
  /** The verdict the pipeline acts on and audits. Nothing is forwarded unless it says allow. */
  decision?: Decision;
  /** On LLM hosts: the inference route the router chose and what it does with the call. */
  route?: RouteVerdict;
  /** Names of the providers whose placeholders in this request are replaced by their real values. */
  injected?: string[];
  /** Set by a stage that needs the whole request body; the smallest cap wins. */
  bufferRequestBody?: number;
  requestFilters: BodyFilter[];
  responseFilters: BodyFilter[];
  /** Per-stage scratch space, keyed by the stage's own symbol. */
  readonly state: Map<symbol, unknown>;
}

export interface RouteVerdict {
  /** The route's name; `none` when no route matched. */
  readonly name: string;
  readonly action: 'route' | 'allow' | 'deny';
  /** For `route`: the backend that answers and the model it is asked for. */
  readonly backend?: string;
  readonly model?: string;
}

export interface Stage {
  readonly name: string;
  /** Called once per CONNECT, before any tunnel opens (a plain-HTTP request meets onRequestHeaders only). */
  onConnect?(ctx: ConnectContext): void | Promise<void>;
  onRequestHeaders?(ctx: RequestContext): void | Promise<void>;
  /** Called only when some stage asked for a buffered body; may return a replacement. */
  onRequestBody?(ctx: RequestContext, body: Buffer): Buffer | void | Promise<Buffer | void>;
  /** A stage that answers by itself (instead of forwarding) returns a response here. */
  respond?(ctx: RequestContext, body: Buffer | AsyncIterable<Uint8Array>): StageResponse | undefined | Promise<StageResponse | undefined>;
  onResponseHeaders?(ctx: RequestContext, head: ResponseHead): void | Promise<void>;
  /**
   * A refusal in the shape the client expects (e.g. an OpenAI or Anthropic error object for an
   * LLM call), instead of Sluice's generic JSON. The first stage that answers wins.
   */
  renderError?(ctx: RequestContext, err: SluiceError): StageResponse | undefined;
  onClose?(ctx: RequestContext, error?: unknown): void;
  /**
   * One WebSocket message of an upgraded request, either way, before it is passed on; may return
   * a replacement, or a list of messages to send in its place (none drops it: a restorer holding
   * back a tail; two: the tail released before a `.done` event). Throwing a SluiceError closes
   * both sides with 1008 (policy violation).
   */
  onWebSocketMessage?(ctx: RequestContext, message: WebSocketMessage): Buffer | Buffer[] | void | Promise<Buffer | Buffer[] | void>;
  /**
   * A stage that answers a WebSocket by itself (instead of an upstream) returns its peer here;
   * the relay then runs the same message hooks between the client and that peer.
   */
  acceptWebSocket?(ctx: RequestContext): WebSocketPeer | undefined | Promise<WebSocketPeer | undefined>;
}

export interface WebSocketMessage {
  /** `out`: from the client toward the upstream; `in`: from the upstream toward the client. */
  direction: 'out' | 'in';
  binary: boolean;
  data: Buffer;
}

/** The far side of a relayed WebSocket when a stage answers it (e.g. the privacy router). */
export interface WebSocketPeer {
  /** The subprotocol it speaks, from those the client offered. */
  protocol?: string;
  /** Called once, when the client's side is open; `send` and `close` reach the client through the relay's hooks. */
  open(io: { send(data: Buffer | string, binary?: boolean): void; close(code?: number, reason?: string): void }): void;
  /** A message from the client, after the hooks. */
  message(data: Buffer, binary: boolean): void;
  /** The client went away or the relay closed; nothing more will be sent. */
  close(code: number, reason: string): void;
}
