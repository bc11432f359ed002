import type { FakeBackend, FakeOptions, RecordedRequest } from './server.js';
import { sendJson, startFake } from './server.js';
import { openAIHandler } from './openai.js';
import { anthropicHandler } from './anthropic.js';
import { responsesHandler } from './responses.js';

/**
 * GitHub Copilot as its clients meet it, on one server that both api.github.com and
 * api.individual.githubcopilot.com point to: the session endpoints (`GET /copilot_internal/user`,
 * which names the plan's API host; `GET /copilot_internal/v2/token`, a short-lived API token),
 * and the API host's OpenAI paths without `/v1` (`GET /models` in Copilot's list shape with
 * capabilities and supported endpoints, `POST /chat/completions`, `POST /responses`, and Anthropic's
 * `POST /v1/messages` for Claude models). The session endpoints take
 * the GitHub token (`token` or `Bearer`); the API host takes the GitHub token (Copilot CLI) or
 * the API token issued here (OpenClaw).
 */
export interface FakeCopilotOptions extends FakeOptions {
  /** The GitHub token the session endpoints and the API demand. */
  githubToken: string;
}

export const COPILOT_API_HOST = 'api.individual.githubcopilot.com';
const API_TOKEN = 'tid=fake-copilot;exp=4102444800;sku=copilot_for_individuals;proxy-ep=proxy.individual.githubcopilot.com';
const ENDPOINTS = { api: `https://${COPILOT_API_HOST}`, proxy: 'https://proxy.individual.githubcopilot.com', telemetry: 'https://telemetry.individual.githubcopilot.com' };

function githubAuth(req: RecordedRequest, token: string): boolean {
  return req.headers.authorization === `token ${token}` || req.headers.authorization === `Bearer ${token}`;
}

export function createFakeCopilot(options: FakeCopilotOptions): Promise<FakeBackend> {
  // The OpenAI handler checks `apiKey`; here the API host's own check below decides instead.
  const chat = openAIHandler('openai');
  const messages = anthropicHandler();
  const responses = responsesHandler();
  const models = () => (options.models?.length ? options.models : ['gpt-5-mini', 'claude-sonnet-4.6']);
  return startFake({ ...options, apiKey: undefined }, [
    async (req, res) => {
      if (!req.path.startsWith('/copilot_internal/')) return false;
      if (!githubAuth(req, options.githubToken)) {
        sendJson(res, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' });
        return true;
      }
      if (req.method === 'GET' && req.path === '/copilot_internal/user') {
        sendJson(res, 200, { login: 'octocat', copilot_plan: 'individual', access_type_sku: 'copilot_for_individuals', chat_enabled: true, endpoints: ENDPOINTS, organization_login_list: [] });
        return true;
      }
      if (req.method === 'GET' && req.path === '/copilot_internal/v2/token') {
        sendJson(res, 200, { token: API_TOKEN, expires_at: 4102444800, refresh_in: 1500, endpoints: ENDPOINTS, chat_enabled: true, sku: 'copilot_for_individuals' });
        return true;
      }
      return false;
    },
    async (req, res, fake) => {
      if (req.path.startsWith('/copilot_internal/')) return false;
      if (!githubAuth(req, options.githubToken) && req.headers.authorization !== `Bearer ${API_TOKEN}`) {
        sendJson(res, 401, { error: { message: 'unauthorized: token expired or invalid', code: 'unauthorized' } });
        return true;
      }
      if (req.method === 'GET' && req.path === '/models') {
        sendJson(res, 200, {
          object: 'list',
          data: models().map((id) => ({
            id, name: id, object: 'model', vendor: id.startsWith('claude') ? 'Anthropic' : 'OpenAI', version: id, preview: false, model_picker_enabled: true,
            capabilities: { family: id, type: 'chat', object: 'model_capabilities', tokenizer: 'o200k_base', limits: { max_context_window_tokens: 128000, max_prompt_tokens: 128000, max_output_tokens: 64000 }, supports: { streaming: true, tool_calls: true, parallel_tool_calls: true } },
            supported_endpoints: id.startsWith('claude') ? ['/chat/completions', '/v1/messages'] : ['/chat/completions'],
            policy: { state: 'enabled', terms: '' },
          })),
        });
        return true;
      }
      if (req.method === 'POST' && req.path === '/chat/completions') return chat({ ...req, path: '/v1/chat/completions' }, res, fake);
      if (req.method === 'POST' && req.path === '/responses') return responses({ ...req, path: '/v1/responses' }, res, fake);
      if (req.method === 'POST' && req.path === '/v1/messages') return messages(req, res, fake);
      // Settings, telemetry and anything else Copilot serves: accepted and recorded, never needed for a turn.
      sendJson(res, 200, {});
      return true;
    },
  ]);
}
