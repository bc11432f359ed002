import type { IncomingHttpHeaders } from 'node:http';
import type { Shape } from './translate/index.js';

/** Which LLM API a request is, recognised by method and path on an LLM host; other paths follow the network policy. */
export type LlmApi =
  | 'openai-chat'
  | 'openai-completions'
  | 'openai-embeddings'
  | 'openai-models'
  | 'anthropic-messages'
  | 'anthropic-count-tokens'
  | 'anthropic-models'
  | 'ollama-chat'
  | 'ollama-generate'
  | 'ollama-embed'
  | 'ollama-tags';

/** Answered by the router itself, so it needs neither DNS nor a network policy entry. */
export const VIRTUAL_HOST = 'inference.local';
export const DEFAULT_LLM_HOSTS: readonly string[] = ['api.openai.com', 'api.anthropic.com', VIRTUAL_HOST];

const ROUTES: Record<string, LlmApi> = {
  'POST /v1/chat/completions': 'openai-chat',
  'POST /v1/completions': 'openai-completions',
  'POST /v1/embeddings': 'openai-embeddings',
  'POST /v1/messages': 'anthropic-messages',
  'POST /v1/messages/count_tokens': 'anthropic-count-tokens',
  'POST /api/chat': 'ollama-chat',
  'POST /api/generate': 'ollama-generate',
  'POST /api/embed': 'ollama-embed',
  'GET /api/tags': 'ollama-tags',
};

/**
 * `GET /v1/models` is the one path two APIs share: the host says which, and on a neutral host
 * the Anthropic SDK's `anthropic-version` header does.
 */
export function detectLlmApi(host: string, method: string, path: string, headers: IncomingHttpHeaders): LlmApi | undefined {
  const m = method.toUpperCase();
  const p = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  if (m === 'GET' && p === '/v1/models') {
    if (host === 'api.anthropic.com') return 'anthropic-models';
    if (host === 'api.openai.com') return 'openai-models';
    return headers['anthropic-version'] !== undefined ? 'anthropic-models' : 'openai-models';
  }
  return ROUTES[`${m} ${p}`];
}

export function shapeOf(api: LlmApi): Shape {
  return api.startsWith('openai') ? 'openai' : api.startsWith('anthropic') ? 'anthropic' : 'ollama';
}

export type LlmCallKind = 'chat' | 'completions' | 'embeddings' | 'models' | 'count-tokens';

export function kindOf(api: LlmApi): LlmCallKind {
  switch (api) {
    case 'openai-chat':
    case 'anthropic-messages':
    case 'ollama-chat':
      return 'chat';
    case 'openai-completions':
    case 'ollama-generate':
      return 'completions';
    case 'openai-embeddings':
    case 'ollama-embed':
      return 'embeddings';
    case 'anthropic-count-tokens':
      return 'count-tokens';
    default:
      return 'models';
  }
}
