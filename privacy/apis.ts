import type { IncomingHttpHeaders } from 'node:http';
import type { LlmApi, LlmShape } from '../core/index.js';

/**
 * What the router does with a call: which backend endpoint serves it. `socket`: a Responses
 * WebSocket session, each message a turn. `session`: a Copilot client's session bootstrap (its
 * user and token endpoints), answered by Sluice itself when the routes keep Copilot's calls local.
 */
export type LlmCallKind = 'chat' | 'completions' | 'embeddings' | 'models' | 'count-tokens' | 'socket' | 'session';

/**
 * Which provider's paths a host serves. A path is a call only on hosts whose family serves it:
 * a Gemini path on api.openai.com or an Ollama path on api.anthropic.com is no call of theirs, and
 * reading it as one would hand its body to the wrong redaction walker. `copilot`: GitHub Copilot's
 * API hosts, which serve OpenAI's paths without `/v1`; `github`: api.github.com, where only
 * Copilot's session endpoints are the router's.
 */
type HostFamily = 'openai' | 'anthropic' | 'ollama' | 'gemini' | 'copilot' | 'github';

interface ApiSpec {
  method: 'GET' | 'POST';
  paths: ReadonlyArray<readonly [HostFamily, string]>;
  kind: LlmCallKind;
  shape: LlmShape;
}

/**
 * Every API of core's `LlmApi`, by method and canonical path. A Record, so an API added to the
 * union without its entry here is a compile error (see core/llm.ts for the whole list of places).
 */
const APIS: Record<LlmApi, ApiSpec> = {
  'openai-chat': { method: 'POST', paths: [['openai', '/v1/chat/completions'], ['copilot', '/chat/completions']], kind: 'chat', shape: 'openai' },
  'openai-completions': { method: 'POST', paths: [['openai', '/v1/completions']], kind: 'completions', shape: 'openai' },
  'openai-embeddings': { method: 'POST', paths: [['openai', '/v1/embeddings']], kind: 'embeddings', shape: 'openai' },
  'openai-models': { method: 'GET', paths: [['openai', '/v1/models']], kind: 'models', shape: 'openai' },
  'anthropic-messages': { method: 'POST', paths: [['anthropic', '/v1/messages']], kind: 'chat', shape: 'anthropic' },
  'anthropic-count-tokens': { method: 'POST', paths: [['anthropic', '/v1/messages/count_tokens']], kind: 'count-tokens', shape: 'anthropic' },
  'anthropic-models': { method: 'GET', paths: [['anthropic', '/v1/models']], kind: 'models', shape: 'anthropic' },
  'ollama-chat': { method: 'POST', paths: [['ollama', '/api/chat']], kind: 'chat', shape: 'ollama' },
  'ollama-generate': { method: 'POST', paths: [['ollama', '/api/generate']], kind: 'completions', shape: 'ollama' },
  'ollama-embed': { method: 'POST', paths: [['ollama', '/api/embed']], kind: 'embeddings', shape: 'ollama' },
  'ollama-tags': { method: 'GET', paths: [['ollama', '/api/tags']], kind: 'models', shape: 'ollama' },
  'openai-responses': { method: 'POST', paths: [['openai', '/v1/responses'], ['copilot', '/responses']], kind: 'chat', shape: 'responses' },
  // Codex's default transport: the upgrade is a GET of the same path; each turn is a message.
  'openai-responses-socket': { method: 'GET', paths: [['openai', '/v1/responses']], kind: 'socket', shape: 'responses' },
  'openai-responses-input-tokens': { method: 'POST', paths: [['openai', '/v1/responses/input_tokens']], kind: 'count-tokens', shape: 'responses' },
  // Gemini names the model in the path: matched by GEMINI_CALL below, not by route.
  'gemini-generate': { method: 'POST', paths: [['gemini', '/v1beta/models/{model}:generateContent']], kind: 'chat', shape: 'gemini' },
  'gemini-stream': { method: 'POST', paths: [['gemini', '/v1beta/models/{model}:streamGenerateContent']], kind: 'chat', shape: 'gemini' },
  'gemini-count-tokens': { method: 'POST', paths: [['gemini', '/v1beta/models/{model}:countTokens']], kind: 'count-tokens', shape: 'gemini' },
  'gemini-models': { method: 'GET', paths: [['gemini', '/v1beta/models'], ['gemini', '/v1/models']], kind: 'models', shape: 'gemini' },
  // Copilot's model list: OpenAI's list with capabilities, limits and the endpoints each model serves.
  'copilot-models': { method: 'GET', paths: [['copilot', '/models']], kind: 'models', shape: 'openai' },
  'copilot-user': { method: 'GET', paths: [['github', '/copilot_internal/user']], kind: 'session', shape: 'openai' },
  'copilot-token': { method: 'GET', paths: [['github', '/copilot_internal/v2/token']], kind: 'session', shape: 'openai' },
};

/** Answered by the router itself, so it needs neither DNS nor a network policy entry. */
export const VIRTUAL_HOST = 'inference.local';
export const GEMINI_HOST = 'generativelanguage.googleapis.com';
export const DEFAULT_LLM_HOSTS: readonly string[] = ['api.openai.com', 'api.anthropic.com', GEMINI_HOST, VIRTUAL_HOST];

/** GitHub Copilot's model hosts: api.githubcopilot.com and its per-plan api.{individual,business,enterprise}. */
export const COPILOT_HOST_SUFFIX = '.githubcopilot.com';
/** Where Copilot clients ask for their session (user, token): only those paths there are the router's. */
export const GITHUB_API_HOST = 'api.github.com';
/** The Copilot API hosts a plan names; a policy without `inference:` that allows one lets Copilot's calls out to it. */
export const COPILOT_API_HOSTS: readonly string[] = ['api.githubcopilot.com', 'api.individual.githubcopilot.com', 'api.business.githubcopilot.com', 'api.enterprise.githubcopilot.com'];

export function isCopilotHost(host: string): boolean {
  return host.endsWith(COPILOT_HOST_SUFFIX);
}

/** Hosts whose provider is known, so an unrecognised request on them is refused in that provider's shape. */
const HOST_SHAPES: Readonly<Record<string, LlmShape>> = { 'api.openai.com': 'openai', 'api.anthropic.com': 'anthropic', [GEMINI_HOST]: 'gemini' };

/** Per `METHOD path`, the APIs served there and by which family: GET /v1/models is three providers' list. */
const BY_ROUTE = new Map<string, Array<readonly [HostFamily, LlmApi]>>();
for (const [api, spec] of Object.entries(APIS) as Array<[LlmApi, ApiSpec]>) {
  for (const [family, path] of spec.paths) {
    if (path.includes('{model}')) continue;
    const key = `${spec.method} ${path}`;
    BY_ROUTE.set(key, [...(BY_ROUTE.get(key) ?? []), [family, api] as const]);
  }
}

/** Neutral hosts (configured `hosts`, route hosts, backends) serve the OpenAI-, Anthropic- and Ollama-shaped APIs. */
const NEUTRAL: readonly HostFamily[] = ['openai', 'anthropic', 'ollama'];

/**
 * The families a host serves. A provider's own host serves its own API only; Copilot's hosts serve
 * its unprefixed paths and OpenAI's and Anthropic's (`/v1/messages`); inference.local, answered by
 * the router alone, serves every shape. Gemini's paths are recognised only on Gemini's host and
 * inference.local: the model in the path is no OpenAI-compatible server's.
 */
export function familiesOf(host: string): readonly HostFamily[] {
  if (host === GITHUB_API_HOST) return ['github'];
  if (isCopilotHost(host)) return ['copilot', 'openai', 'anthropic'];
  if (host === 'api.openai.com') return ['openai'];
  if (host === 'api.anthropic.com') return ['anthropic'];
  if (host === GEMINI_HOST) return ['gemini'];
  if (host === VIRTUAL_HOST) return [...NEUTRAL, 'gemini'];
  return NEUTRAL;
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
 * is the same resource to these servers), among the APIs its host's families serve. `GET /v1/models`
 * is the one path several APIs share: a host serving one of them says which; on a neutral host the
 * Anthropic SDK's `anthropic-version` header or Gemini's `x-goog-api-key` does, else it is OpenAI's.
 */
export function detectLlmApi(host: string, method: string, path: string, headers: IncomingHttpHeaders, upgrade = false): LlmApi | undefined {
  const p = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  const m = method.toUpperCase();
  const families = familiesOf(host);
  if (families.includes('gemini')) {
    const gemini = GEMINI_CALL.exec(p);
    if (gemini) return m === 'POST' ? GEMINI_METHODS[gemini[2]!] : undefined;
  }
  // A GET of /v1/responses is only ever the WebSocket upgrade (retrieval is /v1/responses/{id}).
  if (m === 'GET' && p === '/v1/responses' && !upgrade) return undefined;
  const candidates = (BY_ROUTE.get(`${m} ${p}`) ?? []).filter(([family]) => families.includes(family)).map(([, api]) => api);
  if (candidates.length <= 1) return candidates[0];
  const shape: LlmShape = headers['anthropic-version'] !== undefined ? 'anthropic' : headers['x-goog-api-key'] !== undefined ? 'gemini' : 'openai';
  return candidates.find((api) => APIS[api].shape === shape) ?? candidates.find((api) => APIS[api].shape === 'openai');
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
