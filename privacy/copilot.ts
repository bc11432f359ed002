import type { LlmApi } from '../core/index.js';

/**
 * What Sluice answers a GitHub Copilot client (Copilot CLI, OpenClaw's github-copilot provider)
 * when the routes keep Copilot's calls on this machine: its session (who the user is, where the
 * model API is, a short-lived API token) and its model list. The client then sends its calls to
 * the API host named here, a *.githubcopilot.com host the router answers, and nothing reaches
 * GitHub: no account is needed to run Copilot on a local model.
 */
type Json = Record<string, unknown>;

/** The plan host the session names: where the client sends its calls, which the router answers. */
const API_HOST = 'api.individual.githubcopilot.com';
const ENDPOINTS = {
  api: `https://${API_HOST}`,
  proxy: 'https://proxy.individual.githubcopilot.com',
  telemetry: 'https://telemetry.individual.githubcopilot.com',
  'origin-tracker': 'https://origin-tracker.individual.githubcopilot.com',
};
const SKU = 'sluice_local';
/** Clients refresh a token this long before it expires (GitHub issues 30-minute tokens, refreshed after 25). */
const TOKEN_LIFETIME_S = 30 * 60;
const TOKEN_REFRESH_S = 25 * 60;

export function copilotSessionAnswer(api: Extract<LlmApi, 'copilot-user' | 'copilot-token'>, now: number): Json {
  if (api === 'copilot-user') {
    return {
      login: 'sluice',
      copilot_plan: 'individual',
      access_type_sku: SKU,
      chat_enabled: true,
      can_signup_for_limited: false,
      assigned_date: null,
      analytics_tracking_id: '',
      organization_login_list: [],
      organization_list: [],
      endpoints: ENDPOINTS,
    };
  }
  const expiresAt = Math.floor(now / 1000) + TOKEN_LIFETIME_S;
  // Clients read the API host from the token's proxy-ep (proxy. becomes api.); it is no secret: it never leaves.
  return {
    token: `tid=sluice-local;exp=${expiresAt};sku=${SKU};proxy-ep=proxy.individual.githubcopilot.com`,
    expires_at: expiresAt,
    refresh_in: TOKEN_REFRESH_S,
    endpoints: ENDPOINTS,
    chat_enabled: true,
    sku: SKU,
  };
}

type Vendor = 'Anthropic' | 'OpenAI' | 'Google';

/**
 * Copilot clients accept only model ids they know (Copilot CLI answers "No supported model
 * available" to a list of others), so a locally answered list names Copilot's own ids; a route
 * maps each to the backend's model. These are the ids Copilot CLI 1.0 and OpenClaw 2026.9 offer.
 */
export const COPILOT_MODELS: ReadonlyArray<readonly [string, Vendor]> = [
  ['claude-sonnet-5.5', 'Anthropic'],
  ['claude-sonnet-5', 'Anthropic'],
  ['claude-sonnet-4.6', 'Anthropic'],
  ['claude-opus-5', 'Anthropic'],
  ['claude-haiku-4.5', 'Anthropic'],
  ['gpt-5.5', 'OpenAI'],
  ['gpt-5.4', 'OpenAI'],
  ['gpt-5.4-mini', 'OpenAI'],
  ['gpt-5-mini', 'OpenAI'],
  ['gpt-5.3-codex', 'OpenAI'],
  ['gemini-3.6-flash', 'Google'],
  ['gemini-2.5-pro', 'Google'],
];

/** The paths each vendor's models are served on by Copilot, all of which the router answers. */
const ENDPOINTS_BY_VENDOR: Record<Vendor | 'other', readonly string[]> = {
  Anthropic: ['/chat/completions', '/v1/messages'],
  OpenAI: ['/chat/completions'],
  Google: ['/chat/completions'],
  other: ['/chat/completions'],
};

const LIMITS = { max_context_window_tokens: 128_000, max_prompt_tokens: 128_000, max_output_tokens: 16_384 };

/** Copilot's model list: OpenAI's `{object: list, data}` with each model's capabilities and endpoints. */
export function renderCopilotModelList(names: readonly string[]): Json {
  const vendors = new Map<string, Vendor>(COPILOT_MODELS);
  return {
    object: 'list',
    data: names.map((id) => {
      const vendor = vendors.get(id);
      return {
        id,
        name: id,
        object: 'model',
        vendor: vendor ?? 'Sluice',
        version: id,
        preview: false,
        model_picker_enabled: true,
        capabilities: {
          family: id,
          type: 'chat',
          object: 'model_capabilities',
          tokenizer: 'o200k_base',
          limits: LIMITS,
          supports: { streaming: true, tool_calls: true, parallel_tool_calls: true, structured_outputs: true },
        },
        supported_endpoints: ENDPOINTS_BY_VENDOR[vendor ?? 'other'],
        policy: { state: 'enabled', terms: '' },
      };
    }),
  };
}
