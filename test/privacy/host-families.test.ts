import t from 'tap';
import { detectLlmApi } from '../../privacy/index.js';
import { createFakeOllama } from '../fakes/index.js';
import { startRouter } from './harness.js';

// Each provider's paths are calls only on the hosts that serve them: a Gemini path on
// api.openai.com, an Ollama path on api.anthropic.com or `/v1/chat/completions` on a host that
// serves its API under a prefix is no call the router knows, and fails closed (llm_unrecognised)
// instead of being read by the wrong API's redaction walker. The expectations are written out here,
// host by host, not derived from the table under test.

const HOSTS = {
  openai: 'api.openai.com',
  anthropic: 'api.anthropic.com',
  gemini: 'generativelanguage.googleapis.com',
  copilot: 'api.individual.githubcopilot.com',
  github: 'api.github.com',
  local: 'inference.local',
  neutral: 'llm.example.com',
} as const;
type HostKey = keyof typeof HOSTS;

/** [method, path, the API it is, the hosts where it is that API (space-separated); every other host: unrecognised]. */
const CALLS: Array<[string, string, string, string]> = [
  ['POST', '/v1/chat/completions', 'openai-chat', 'openai copilot local neutral'],
  ['POST', '/chat/completions', 'openai-chat', 'copilot'],
  ['POST', '/v1/completions', 'openai-completions', 'openai copilot local neutral'],
  ['POST', '/v1/embeddings', 'openai-embeddings', 'openai copilot local neutral'],
  ['POST', '/v1/responses', 'openai-responses', 'openai copilot local neutral'],
  ['POST', '/responses', 'openai-responses', 'copilot'],
  ['POST', '/v1/responses/input_tokens', 'openai-responses-input-tokens', 'openai copilot local neutral'],
  ['POST', '/v1/messages', 'anthropic-messages', 'anthropic copilot local neutral'],
  ['POST', '/v1/messages/count_tokens', 'anthropic-count-tokens', 'anthropic copilot local neutral'],
  ['POST', '/api/chat', 'ollama-chat', 'local neutral'],
  ['POST', '/api/generate', 'ollama-generate', 'local neutral'],
  ['POST', '/api/embed', 'ollama-embed', 'local neutral'],
  ['GET', '/api/tags', 'ollama-tags', 'local neutral'],
  ['POST', '/v1beta/models/gemini-2.5-pro:generateContent', 'gemini-generate', 'gemini local'],
  ['POST', '/v1beta/models/gemini-2.5-pro:streamGenerateContent', 'gemini-stream', 'gemini local'],
  ['POST', '/v1beta/models/gemini-2.5-pro:countTokens', 'gemini-count-tokens', 'gemini local'],
  ['POST', '/v1/models/gemini-2.5-pro:generateContent', 'gemini-generate', 'gemini local'],
  ['GET', '/v1beta/models', 'gemini-models', 'gemini local'],
  ['GET', '/models', 'copilot-models', 'copilot'],
  ['GET', '/copilot_internal/user', 'copilot-user', 'github'],
  ['GET', '/copilot_internal/v2/token', 'copilot-token', 'github'],
  ['POST', '/v1/files', '', ''],
  ['POST', '/v1beta/cachedContents', '', ''],
  ['POST', '/v1/responses/compact', '', ''],
  ['GET', '/v1/responses', '', ''],
  ['GET', '/v1/chat/completions', '', ''],
];

t.test('every API path on every host family: that API where the host serves it, else unrecognised', async (t) => {
  for (const [method, path, api, where] of CALLS) {
    const on = new Set(where.split(' ').filter(Boolean));
    for (const [key, host] of Object.entries(HOSTS) as Array<[HostKey, string]>) {
      t.equal(detectLlmApi(host, method, path, {}), on.has(key) ? api : undefined, `${method} ${host}${path}`);
      t.equal(detectLlmApi(host, method, `${path}/`, {}), on.has(key) ? api : undefined, `${method} ${host}${path}/ (trailing slash)`);
    }
  }
});

t.test('GET /v1/models: the host says whose list, else the client\'s headers', async (t) => {
  const want: Record<HostKey, [string | undefined, string | undefined, string | undefined]> = {
    // [no header, anthropic-version, x-goog-api-key]
    openai: ['openai-models', 'openai-models', 'openai-models'],
    anthropic: ['anthropic-models', 'anthropic-models', 'anthropic-models'],
    gemini: ['gemini-models', 'gemini-models', 'gemini-models'],
    copilot: ['openai-models', 'anthropic-models', 'openai-models'],
    github: [undefined, undefined, undefined],
    local: ['openai-models', 'anthropic-models', 'gemini-models'],
    neutral: ['openai-models', 'anthropic-models', 'openai-models'],
  };
  const headers = [{}, { 'anthropic-version': '2023-06-01' }, { 'x-goog-api-key': 'AIza-placeholder' }];
  for (const [key, host] of Object.entries(HOSTS) as Array<[HostKey, string]>) {
    headers.forEach((h, i) => t.equal(detectLlmApi(host, 'GET', '/v1/models', h), want[key][i], `GET ${host}/v1/models ${JSON.stringify(h)}`));
  }
});

t.test('the Responses WebSocket upgrade is a call only where Responses is served', async (t) => {
  for (const [key, host] of Object.entries(HOSTS) as Array<[HostKey, string]>) {
    const want = ['openai', 'copilot', 'local', 'neutral'].includes(key) ? 'openai-responses-socket' : undefined;
    t.equal(detectLlmApi(host, 'GET', '/v1/responses', {}, true), want, `upgrade ${host}/v1/responses`);
  }
});

t.test('through a real Sluice: a foreign spelling on each host fails closed and reaches no backend', async (t) => {
  const ollama = await createFakeOllama({ models: ['qwen3:8b'], reply: { text: 'ok' } });
  t.teardown(() => ollama.close());
  const hosts = ['llm.example.com', { host: 'dashscope.aliyuncs.com', prefix: '/compatible-mode/v1' }];
  const h = await startRouter(t, { backends: { local: { type: 'ollama', url: ollama.url } }, hosts, routes: [{ match: {}, backend: 'local', model: 'qwen3:8b' }] }, { host: 'llm.example.com' });
  const body = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }], contents: [{ parts: [{ text: 'x' }] }] });
  const foreign: Array<[string, string]> = [
    ['https://api.openai.com', '/v1beta/models/gemini-2.5-pro:generateContent'],
    ['https://api.openai.com', '/V1BETA/models/gemini-2.5-pro:streamGenerateContent?alt=sse'],
    ['https://api.openai.com', '/v1beta//models/gemini-2.5-pro%3AgenerateContent'],
    ['https://api.openai.com', '/v1/models/gemini-2.5-pro:generateContent'],
    ['https://api.openai.com', '/v1/messages'],
    ['https://api.openai.com', '/api/chat'],
    ['https://api.anthropic.com', '/v1/chat/completions'],
    ['https://api.anthropic.com', '/v1/responses'],
    ['https://api.anthropic.com', '/v1beta/models/gemini-2.5-pro:generateContent'],
    ['https://api.anthropic.com', '/api/generate'],
    ['https://generativelanguage.googleapis.com', '/v1/chat/completions'],
    ['https://generativelanguage.googleapis.com', '/v1beta/openai/chat/completions'],
    ['https://generativelanguage.googleapis.com', '/v1/messages'],
    ['https://api.individual.githubcopilot.com', '/v1beta/models/gemini-2.5-pro:generateContent'],
    ['https://api.individual.githubcopilot.com', '/api/chat'],
    ['https://llm.example.com', '/v1beta/models/gemini-2.5-pro:generateContent'],
    ['https://llm.example.com', '/chat/completions'],
    ['https://dashscope.aliyuncs.com', '/v1/chat/completions'],
    ['https://dashscope.aliyuncs.com', '/V1/chat/completions'],
    ['https://dashscope.aliyuncs.com', '/v1//chat/completions'],
    ['https://dashscope.aliyuncs.com', '/compatible-mode/v1x/chat/completions'],
    ['https://dashscope.aliyuncs.com', '/api/chat'],
  ];
  for (const [origin, path] of foreign) {
    const res = await h.fetch(`${origin}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    t.equal(res.status, 403, `${origin}${path} is refused`);
    t.match(await res.text(), /\[sluice: llm_unrecognised\]/, `${origin}${path}: llm_unrecognised`);
  }
  t.equal(ollama.requests.length, 0, 'not one of them reached the backend');
  t.equal(h.calls.length, foreign.length, 'each refusal is audited');
  t.ok(h.calls.every((c) => c.action === 'deny'), 'as a denial');

  // The same backend answers each spelling on the host that serves it.
  const served: Array<[string, string]> = [
    ['https://generativelanguage.googleapis.com', '/v1beta/models/gemini-2.5-pro:generateContent'],
    ['http://inference.local', '/v1beta/models/gemini-2.5-pro:generateContent'],
    ['https://api.openai.com', '/v1/chat/completions'],
    ['https://api.anthropic.com', '/v1/messages'],
    ['https://llm.example.com', '/api/chat'],
    ['https://dashscope.aliyuncs.com', '/compatible-mode/v1/chat/completions'],
  ];
  for (const [origin, path] of served) {
    const payload = path.includes('messages') ? JSON.stringify({ model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }) : path === '/api/chat' ? JSON.stringify({ model: 'm', stream: false, messages: [{ role: 'user', content: 'x' }] }) : body;
    const res = await h.fetch(`${origin}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }, body: payload });
    t.equal(res.status, 200, `${origin}${path} is answered`);
    await res.arrayBuffer();
  }
  t.equal(ollama.requests.length, served.length, 'each served spelling reached the backend once');
});
