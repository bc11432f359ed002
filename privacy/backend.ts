import type { Dispatcher, Pool } from 'undici';
import { undiciPool } from '../core/index.js';
import type { Cancel } from '../core/index.js';
import type { BackendConfig } from './schema.js';
import type { Shape } from './translate/index.js';
import type { LlmCallKind } from './apis.js';

/**
 * One configured backend at run time: its own undici Pool (so timeouts are the backend's, not
 * the forwarder's), the wire shape it speaks, and the headers Sluice adds. The client's own
 * auth never reaches a backend; only the credential named in the policy does.
 */
export interface Backend {
  readonly name: string;
  readonly config: BackendConfig;
  readonly shape: Shape;
  readonly origin: string;
  /** Path prefix from the configured URL (e.g. a gateway mounted under /nim). */
  readonly basePath: string;
  readonly timeoutMs: number;
  /** Shape of its embeddings endpoint (none for Anthropic). */
  readonly embedShape: Shape | undefined;
  /** Shape of its model list: Ollama's /api/tags, else /v1/models (OpenAI and Anthropic both list `data[].id`). */
  readonly listShape: Shape;
  pathFor(kind: LlmCallKind, clientShape: Shape): string | undefined;
  request(opts: { method: string; path: string; headers: Record<string, string>; body?: string; signal?: AbortSignal | Cancel }): Promise<Dispatcher.ResponseData>;
  close(): Promise<void>;
}

export interface CredentialSource {
  headersFor(provider: string): Record<string, string>;
}

const DEFAULT_TIMEOUT_MS = 300_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

export function shapeOfBackend(config: BackendConfig): Shape {
  if (config.type === 'anthropic') return 'anthropic';
  if (config.type === 'ollama') return config.api === 'openai' ? 'openai' : config.api === 'anthropic' ? 'anthropic' : 'ollama';
  return 'openai';
}


export function createBackend(name: string, config: BackendConfig): Backend {
  const url = new URL(config.url);
  // Accept both http://host:8000 and http://host:8000/v1, the way people copy NIM URLs.
  const basePath = url.pathname.replace(/\/+$/, '').replace(/\/v1$/, '');
  const timeoutMs = config.timeout_ms ?? DEFAULT_TIMEOUT_MS;
  // Made on the first call: undici is required then, so a Sluice whose routes are never called
  // (and `sluice up` at idle) does not load it for the default Ollama backend.
  let made: Pool | undefined;
  const pool = (): Pool => (made ??= new (undiciPool().Pool)(url.origin, {
    connect: { timeout: config.connect_timeout_ms ?? DEFAULT_CONNECT_TIMEOUT_MS },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    keepAliveTimeout: 10_000,
  }));
  const shape = shapeOfBackend(config);
  const isOllama = config.type === 'ollama';
  const embedShape: Shape | undefined = isOllama ? (config.api === 'openai' ? 'openai' : 'ollama') : shape === 'anthropic' ? undefined : 'openai';
  const listShape: Shape = isOllama ? 'ollama' : 'openai';
  return {
    name,
    config,
    shape,
    origin: url.origin,
    basePath,
    timeoutMs,
    embedShape,
    listShape,
    pathFor(kind, clientShape) {
      const p = (s: string) => basePath + s;
      switch (kind) {
        case 'chat':
          return p(shape === 'openai' ? '/v1/chat/completions' : shape === 'anthropic' ? '/v1/messages' : '/api/chat');
        case 'embeddings':
          return embedShape === undefined ? undefined : p(embedShape === 'openai' ? '/v1/embeddings' : '/api/embed');
        case 'models':
          return p(listShape === 'ollama' ? '/api/tags' : '/v1/models');
        case 'count-tokens':
          // A count in another client's shape is estimated (the bodies differ).
          return shape === 'anthropic' && clientShape === 'anthropic' ? p('/v1/messages/count_tokens') : undefined;
        case 'completions':
          // Legacy completions pass through only to a backend that speaks the client's shape.
          if (clientShape === 'openai' && (shape === 'openai' || config.type === 'ollama')) return p('/v1/completions');
          if (clientShape === 'ollama' && config.type === 'ollama') return p('/api/generate');
          return undefined;
      }
    },
    request(opts) {
      return pool().request({ method: opts.method as Dispatcher.HttpMethod, path: opts.path, headers: opts.headers, body: opts.body, signal: opts.signal });
    },
    async close() {
      await made?.close();
    },
  };
}

/** Headers for a backend call: content type, API version for Anthropic, and the configured credential. */
export function backendHeaders(backend: Backend, credentials: CredentialSource | undefined, clientHeaders: Record<string, string | string[] | undefined>, clientShape: Shape): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json, text/event-stream, application/x-ndjson' };
  if (backend.shape === 'anthropic') {
    const version = clientShape === 'anthropic' ? clientHeaders['anthropic-version'] : undefined;
    headers['anthropic-version'] = typeof version === 'string' ? version : '2023-06-01';
    const beta = clientShape === 'anthropic' ? clientHeaders['anthropic-beta'] : undefined;
    if (typeof beta === 'string') headers['anthropic-beta'] = beta;
  }
  if (backend.config.credential && credentials) Object.assign(headers, credentials.headersFor(backend.config.credential));
  return headers;
}
