import { EventEmitter } from 'node:events';
import type { Decision } from './decision.js';
import type { HostClass, LlmApi } from './llm.js';

/**
 * Everything observable goes through one typed bus per proxy instance; audit/ subscribes,
 * stages only emit. Events carry names and codes, never secret values or query strings.
 */
export interface Endpoint {
  ip?: string;
  port?: number;
  host?: string;
  /** For a source: the sandbox the client runs in, when Sluice knows it. */
  sandbox?: string;
}

export interface ConnectEvent {
  type: 'connect';
  time: number;
  src: Endpoint;
  dst: Endpoint;
  decision: Decision;
  /** 'tunnel' for raw (tls: skip or no interception), 'intercept' for TLS interception. */
  mode?: 'tunnel' | 'intercept';
}

export interface RequestEvent {
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
  /** On LLM hosts: how the request was classified at ingress. */
  llm?: LlmClass;
}

export interface LlmClass {
  hostClass: HostClass;
  /** Absent: not a call the router recognises. */
  api?: LlmApi;
  stream?: boolean;
}

export interface PolicyEvent {
  type: 'policy';
  time: number;
  activity: 'loaded' | 'rejected';
  file?: string;
  /** The sandbox this Sluice serves alone (`sluice run`), when it serves one. */
  sandbox?: string;
  reason: string;
  errors?: string[];
  /** Features the loaded policy asks for that Sluice does differently or not at all. */
  warnings?: string[];
}

export interface UpstreamErrorEvent {
  type: 'upstream_error';
  time: number;
  src?: Endpoint;
  dst: Endpoint;
  code: string;
  reason: string;
}

export interface LlmCallEvent {
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

export type SluiceEvent = ConnectEvent | RequestEvent | PolicyEvent | UpstreamErrorEvent | LlmCallEvent | FindingEvent;

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
