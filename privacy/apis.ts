import type { IncomingHttpHeaders } from 'node:http';
import type { LlmApi, LlmShape } from '../core/index.js';

/** What the router does with a call: which backend endpoint serves it. */
export type LlmCallKind = 'chat' | 'completions' | 'embeddings' | 'models' | 'count-tokens';

interface ApiSpec {
  method: 'GET' | 'POST';
  path: string;
  kind: LlmCallKind;
  shape: LlmShape;
}

/**
 * Every API of core's `LlmApi`, by method and canonical path. A Record, so an API added to the
 * union without its entry here is a compile error (see core/llm.ts for the whole list of places).
 */
const APIS: Record<LlmApi, ApiSpec> = {
  'openai-chat': { method: 'POST', path: '/v1/chat/completions', kind: 'chat', shape: 'openai' },
  'openai-completions': { method: 'POST', path: '/v1/completions', kind: 'completions', shape: 'openai' },
  'openai-embeddings': { method: 'POST', path: '/v1/embeddings', kind: 'embeddings', shape: 'openai' },
  'openai-models': { method: 'GET', path: '/v1/models', kind: 'models', shape: 'openai' },
  'anthropic-messages': { method: 'POST', path: '/v1/messages', kind: 'chat', shape: 'anthropic' },
  'anthropic-count-tokens': { method: 'POST', path: '/v1/messages/count_tokens', kind: 'count-tokens', shape: 'anthropic' },
  'anthropic-models': { method: 'GET', path: '/v1/models', kind: 'models', shape: 'anthropic' },
  'ollama-chat': { method: 'POST', path: '/api/chat', kind: 'chat', shape: 'ollama' },
  'ollama-generate': { method: 'POST', path: '/api/generate', kind: 'completions', shape: 'ollama' },
  'ollama-embed': { method: 'POST', path: '/api/embed', kind: 'embeddings', shape: 'ollama' },
  'ollama-tags': { method: 'GET', path: '/api/tags', kind: 'models', shape: 'ollama' },
};

/** Answered by the router itself, so it needs neither DNS nor a network policy entry. */
export const VIRTUAL_HOST = 'inference.local';
export const DEFAULT_LLM_HOSTS: readonly string[] = ['api.openai.com', 'api.anthropic.com', VIRTUAL_HOST];

/** Hosts whose provider is known, so an unrecognised request on them is refused in that provider's shape. */
const HOST_SHAPES: Readonly<Record<string, LlmShape>> = { 'api.openai.com': 'openai', 'api.anthropic.com': 'anthropic' };

const BY_ROUTE = new Map<string, LlmApi[]>();
for (const [api, spec] of Object.entries(APIS) as Array<[LlmApi, ApiSpec]>) {
  const key = `${spec.method} ${spec.path}`;
  BY_ROUTE.set(key, [...(BY_ROUTE.get(key) ?? []), api]);
}

/**
 * Which API a request on an LLM host is, from its method and canonical path (a trailing slash
 * is the same resource to these servers). `GET /v1/models` is the one path two APIs share: the
 * host says which, and on a neutral host the Anthropic SDK's `anthropic-version` header does.
 */
export function detectLlmApi(host: string, method: string, path: string, headers: IncomingHttpHeaders): LlmApi | undefined {
  const p = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  const candidates = BY_ROUTE.get(`${method.toUpperCase()} ${p}`);
  if (!candidates) return undefined;
  if (candidates.length === 1) return candidates[0];
  const shape = HOST_SHAPES[host] ?? (headers['anthropic-version'] !== undefined ? 'anthropic' : 'openai');
  return candidates.find((api) => APIS[api].shape === shape);
}

export function shapeOf(api: LlmApi): LlmShape {
  return APIS[api].shape;
}

export function kindOf(api: LlmApi): LlmCallKind {
  return APIS[api].kind;
}

/**
 * Whose error shape an unrecognised request on an LLM host gets: the host's provider, else the
 * one its path and headers point to (an Ollama client calls /api/…, the Anthropic SDK sends
 * anthropic-version), else OpenAI's, which most clients read.
 */
export function shapeOfRequest(host: string, path: string, headers: IncomingHttpHeaders): LlmShape {
  const known = HOST_SHAPES[host];
  if (known) return known;
  if (headers['anthropic-version'] !== undefined) return 'anthropic';
  if (path === '/api' || path.startsWith('/api/')) return 'ollama';
  return 'openai';
}
