import { EventEmitter } from 'node:events';
import type { Decision } from './decision.js';
import type { HostClass, LlmApi } from './llm.js';

/**
 * Everything observable goes through one typed bus per proxy instance; audit/ subscribes,
 * stages only emit. Events carry names and codes, never secret values or query strings.
 * On a gateway every sandbox's stages emit through a view of the bus that stamps the
 * sandbox's name on each event (`sandboxBus`), so no stage needs to know which sandbox it serves.
 */
export interface Endpoint {
  ip?: string;
  port?: number;
  host?: string;
}

export interface ConnectEvent {
  /** The sandbox the traffic came from (set by the sandbox's bus view); absent for host clients. */
  sandbox?: string;
  type: 'connect';
  time: number;
  src: Endpoint;
  dst: Endpoint;
  decision: Decision;
  /** 'tunnel' for raw (tls: skip or no interception), 'intercept' for TLS interception. */
  mode?: 'tunnel' | 'intercept';
}

export interface RequestEvent {
  /** The sandbox the traffic came from (set by the sandbox's bus view); absent for host clients. */
  sandbox?: string;
  type: 'request';
  time: number;
  src: Endpoint;
  dst: Endpoint;
  method: string;
  /** Path without its query string. */
  path: string;
  scheme: 'http' | 'https';
  decision: Decision;
  status?: number;
  durationMs?: number;
  /**
   * Set when the request was allowed but could not be completed: the name did not resolve, the
   * upstream refused, timed out or failed TLS. Not a denial: the policy allowed it.
   */
  error?: { code: string; reason: string };
  /** A WebSocket, reported once when it closes: data messages and their payload bytes each way. */
  websocket?: WebSocketStats;
  /** On LLM hosts: how the request was classified at ingress. */
  llm?: LlmClass;
}

export interface WebSocketStats {
  /** Client → upstream. */
  messagesOut: number;
  bytesOut: number;
  /** Upstream → client. */
  messagesIn: number;
  bytesIn: number;
  closeCode?: number;
  closedBy?: 'client' | 'upstream' | 'sluice';
}

export interface LlmClass {
  hostClass: HostClass;
  /** Absent: not a call the router recognises. */
  api?: LlmApi;
  stream?: boolean;
}

export interface PolicyEvent {
  /** The sandbox the traffic came from (set by the sandbox's bus view); absent for host clients. */
  sandbox?: string;
  type: 'policy';
  time: number;
  activity: 'loaded' | 'rejected';
  file?: string;
  reason: string;
  errors?: string[];
  /** Features the loaded policy asks for that Sluice does differently or not at all. */
  warnings?: string[];
}

export interface UpstreamErrorEvent {
  /** The sandbox the traffic came from (set by the sandbox's bus view); absent for host clients. */
  sandbox?: string;
  type: 'upstream_error';
  time: number;
  src?: Endpoint;
  dst: Endpoint;
  code: string;
  reason: string;
}

export interface LlmCallEvent {
  /** The sandbox the traffic came from (set by the sandbox's bus view); absent for host clients. */
  sandbox?: string;
  type: 'llm_call';
  time: number;
  src?: Endpoint;
  /** The host the agent called (e.g. api.openai.com), when known. */
  dst?: Endpoint;
  /** HTTP method and path (without query) of the agent's call, when known. */
  method?: string;
  path?: string;
  /** The recognised API; `unrecognised` for a request on an LLM host the router does not know. */
  api: LlmApi | 'unrecognised';
  requestedModel?: string;
  backend: string;
  backendModel?: string;
  route?: string;
  action: 'route' | 'allow' | 'deny';
  stream: boolean;
  status?: number;
  inputTokens?: number;
  outputTokens?: number;
  ttftMs?: number;
  durationMs?: number;
  /** Bytes of the client's request body and of the answer the client received. */
  requestBytes?: number;
  responseBytes?: number;
  redactions?: Record<string, number>;
  /** Only with `inference.log_prompts`, and only after redaction. */
  prompt?: string;
  reason?: string;
}

export interface FindingEvent {
  /** The sandbox the traffic came from (set by the sandbox's bus view); absent for host clients. */
  sandbox?: string;
  type: 'finding';
  time: number;
  src?: Endpoint;
  dst?: Endpoint;
  /** e.g. credential_endpoint_mismatch, secret_exfiltration, redaction */
  kind: string;
  /** Names of providers or entity types, never values. */
  subjects: string[];
  action: 'blocked' | 'redacted' | 'allowed';
  reason: string;
}

/** A sandbox's life on a gateway: what the control plane did to it, and how it ended. */
export interface SandboxEvent {
  sandbox?: string;
  type: 'sandbox';
  time: number;
  activity: 'created' | 'started' | 'exited' | 'stopped' | 'removed' | 'failed' | 'lost' | 'policy_changed' | 'policy_refused';
  driver?: string;
  exitCode?: number;
  reason: string;
}

/** A control-plane API call that changed something, or any refused one (401/403). */
export interface ApiEvent {
  sandbox?: string;
  type: 'api';
  time: number;
  method: string;
  /** The route's path template, e.g. /v1/sandboxes/{name}: never a query string. */
  route: string;
  status: number;
  /** Who called: `unix-socket`, or the token's id and name; never the token. */
  actor: string;
  /** Scope the caller held ('admin', 'read') or 'none'. */
  scope: string;
  src?: Endpoint;
  /** Wire code of a refusal (unauthorized, forbidden, …). */
  code?: string;
  reason?: string;
}

export type SluiceEvent = ConnectEvent | RequestEvent | PolicyEvent | UpstreamErrorEvent | LlmCallEvent | FindingEvent | SandboxEvent | ApiEvent;

export interface EventBus {
  emit(event: SluiceEvent): void;
  on(listener: (event: SluiceEvent) => void): () => void;
}

export function createEventBus(): EventBus {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    emit(event) {
      // A failing listener must never break the request path.
      try {
        emitter.emit('event', event);
      } catch (err) {
        process.emitWarning(`sluice: event listener failed: ${(err as Error).message}`);
      }
    },
    on(listener) {
      emitter.on('event', listener);
      return () => emitter.off('event', listener);
    },
  };
}

/**
 * A view of `bus` for one sandbox: what its stages and listener emit carries `sandbox: name`;
 * listeners registered on it see every event of the underlying bus (a sandbox's stages never
 * subscribe, audit/ and the gateway subscribe to the root bus).
 */
export function sandboxBus(bus: EventBus, name: string): EventBus {
  return {
    emit(event) {
      bus.emit(event.sandbox === name ? event : { ...event, sandbox: name });
    },
    on: (listener) => bus.on(listener),
  };
}
