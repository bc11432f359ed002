import type { IncomingHttpHeaders } from 'node:http';
import type { LlmApi, LlmShape } from '../core/index.js';

/** What the router does with a call: which backend endpoint serves it. */
export type LlmCallKind = 'chat' | 'completions' | 'embeddings' | 'models' | 'count-tokens' | 'socket';

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
  'openai-responses': { method: 'POST', path: '/v1/responses', kind: 'chat', shape: 'responses' },
  // Codex's default transport: the upgrade is a GET of the same path; each turn is a message.
  'openai-responses-socket': { method: 'GET', path: '/v1/responses', kind: 'socket', shape: 'responses' },
  'openai-responses-input-tokens': { method: 'POST', path: '/v1/responses/input_tokens', kind: 'count-tokens', shape: 'responses' },
  'gemini-generate': { method: 'POST', path: '/v1beta/models/{model}:generateContent', kind: 'chat', shape: 'gemini' },
  'gemini-stream': { method: 'POST', path: '/v1beta/models/{model}:streamGenerateContent', kind: 'chat', shape: 'gemini' },
  'gemini-count-tokens': { method: 'POST', path: '/v1beta/models/{model}:countTokens', kind: 'count-tokens', shape: 'gemini' },
  'gemini-models': { method: 'GET', path: '/v1beta/models', kind: 'models', shape: 'gemini' },
};

/** Answered by the router itself, so it needs neither DNS nor a network policy entry. */
export const VIRTUAL_HOST = 'inference.local';
export const GEMINI_HOST = 'generativelanguage.googleapis.com';
export const DEFAULT_LLM_HOSTS: readonly string[] = ['api.openai.com', 'api.anthropic.com', GEMINI_HOST, VIRTUAL_HOST];

/** Hosts whose provider is known, so an unrecognised request on them is refused in that provider's shape. */
const HOST_SHAPES: Readonly<Record<string, LlmShape>> = { 'api.openai.com': 'openai', 'api.anthropic.com': 'anthropic', [GEMINI_HOST]: 'gemini' };

const BY_ROUTE = new Map<string, LlmApi[]>();
for (const [api, spec] of Object.entries(APIS) as Array<[LlmApi, ApiSpec]>) {
  if (spec.path.includes('{model}')) continue;
  const key = `${spec.method} ${spec.path}`;
  BY_ROUTE.set(key, [...(BY_ROUTE.get(key) ?? []), api]);
}

/**
 * Gemini names the model in the path: `/v1beta/models/{model}:{method}`, also under /v1 (the
 * stable API) with the same bodies. A model name is one path segment (no `/`, no `:`).
 */
const GEMINI_CALL = /^\/v1(?:beta)?\/models\/([^/:]+):(generateContent|streamGenerateContent|countTokens)$/;
const GEMINI_METHODS: Readonly<Record<string, LlmApi>> = { generateContent: 'gemini-generate', streamGenerateContent: 'gemini-stream', countTokens: 'gemini-count-tokens' };

/** The model a Gemini call names in its path (decoded), else undefined. */
export function modelInPath(path: string): string | undefined {
  const m = GEMINI_CALL.exec(path);
  if (!m) return undefined;
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    return undefined;
  }
}

/**
 * Which API a request on an LLM host is, from its method and canonical path (a trailing slash
 * is the same resource to these servers). `GET /v1/models` is the one path two APIs share: the
 * host says which, and on a neutral host the Anthropic SDK's `anthropic-version` header does.
 */
export function detectLlmApi(host: string, method: string, path: string, headers: IncomingHttpHeaders, upgrade = false): LlmApi | undefined {
  const p = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  const m = method.toUpperCase();
  const gemini = GEMINI_CALL.exec(p);
  if (gemini) return m === 'POST' ? GEMINI_METHODS[gemini[2]!] : undefined;
  if (m === 'GET' && p === '/v1/models' && (host === GEMINI_HOST || headers['x-goog-api-key'] !== undefined)) return 'gemini-models';
  if (m === 'GET' && p === '/v1beta/models') return 'gemini-models';
  // A GET of /v1/responses is only ever the WebSocket upgrade (retrieval is /v1/responses/{id}).
  if (m === 'GET' && p === '/v1/responses' && !upgrade) return undefined;
  const candidates = BY_ROUTE.get(`${m} ${p}`);
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
  if (headers['x-goog-api-key'] !== undefined || path.startsWith('/v1beta/')) return 'gemini';
  if (path === '/api' || path.startsWith('/api/')) return 'ollama';
  return 'openai';
}
