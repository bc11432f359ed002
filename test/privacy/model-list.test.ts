import t from 'tap';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { Ollama } from 'ollama';
import { createFakeOllama } from '../fakes/index.js';
import { startRouter } from './harness.js';

// Agents that list models before calling (opencode, Codex, Copilot CLI) see the names the routes
// accept: each model a route spells out, and the routed backend's own names, less those a route
// denies; in each API's list shape, read by the official SDKs' list calls.

const ollama = await createFakeOllama({ models: ['qwen3:8b', 'gpt-4o', 'llama3.2:latest'], reply: { text: 'ok' } });
t.teardown(() => ollama.close());
const backends = { local: { type: 'ollama' as const, url: ollama.url } };

t.test('OpenAI: only the names routes spell out, wildcards and denied names left out', async (t) => {
  const h = await startRouter(t, {
    backends,
    routes: [
      { name: 'denied', match: { model: 'gpt-4.1' }, action: 'deny' },
      { name: 'gpt', match: { api: 'openai', model: ['gpt-5', 'gpt-5-mini', 'o*', 'gpt-4.1', 'sonnet?'] }, backend: 'local', model: 'qwen3:8b' },
      { name: 'claude-only', match: { api: 'anthropic', model: 'claude-x' }, backend: 'local' },
      { name: 'secret', match: { model: 'private-model', sensitive: true }, backend: 'local' },
    ],
  }, { host: 'api.openai.com' });
  const client = new OpenAI({ apiKey: 'sk-placeholder', baseURL: `${h.url}/v1`, maxRetries: 0, fetch: h.fetch });
  const ids: string[] = [];
  for await (const m of client.models.list()) ids.push(m.id);
  t.same(ids, ['gpt-5', 'gpt-5-mini'], 'no glob, no denied name, no other API\'s name, no name only sensitive content meets');
  t.match(await h.nextCall(1), { api: 'openai-models', action: 'route', backend: 'sluice', route: 'gpt', status: 200 });
  t.equal(ollama.requests.filter((r) => r.path === '/api/tags').length, 0, 'no backend list asked for: no route takes any model');
  // The names listed are the ones a call is routed with.
  const answer = await client.chat.completions.create({ model: ids[0]!, messages: [{ role: 'user', content: 'x' }] });
  t.equal(answer.choices[0]!.message.content, 'ok');
});

t.test('OpenAI and Ollama: a model-independent route adds its backend\'s names, minus the denied ones', async (t) => {
  const h = await startRouter(t, {
    backends,
    routes: [
      { match: { model: 'gpt-4o' }, action: 'deny', reason: 'not this one' },
      { match: { model: 'codex-mini' }, backend: 'local', model: 'qwen3:8b' },
      { match: {}, backend: 'local' },
    ],
  }, { host: 'api.openai.com' });
  const client = new OpenAI({ apiKey: 'sk-placeholder', baseURL: `${h.url}/v1`, maxRetries: 0, fetch: h.fetch });
  const page = await client.models.list();
  t.same(page.data.map((m) => m.id), ['codex-mini', 'qwen3:8b', 'llama3.2:latest']);
  const local = new Ollama({ host: 'http://inference.local', fetch: h.fetch });
  const tags = await local.list();
  t.same(tags.models.map((m) => m.name), ['codex-mini', 'qwen3:8b', 'llama3.2:latest'], 'the same names in Ollama\'s /api/tags shape');
});

t.test('Anthropic and Gemini list shapes', async (t) => {
  const routes = [
    { match: { api: 'anthropic' as const, model: ['claude-sonnet-4-5', 'claude-haiku-4-5'] }, backend: 'local', model: 'qwen3:8b' },
    { match: { api: 'gemini' as const, model: 'gemini-2.5-pro' }, backend: 'local', model: 'qwen3:8b' },
  ];
  const h = await startRouter(t, { backends, routes });
  const anthropic = new Anthropic({ apiKey: 'sk-ant-placeholder', baseURL: h.url, maxRetries: 0, fetch: h.fetch });
  const page = await anthropic.models.list();
  t.same(page.data.map((m) => m.id), ['claude-sonnet-4-5', 'claude-haiku-4-5']);
  t.match(await h.nextCall(1), { api: 'anthropic-models', action: 'route' });
  for (const path of ['/v1beta/models', '/v1/models']) {
    const res = await h.fetch(`https://generativelanguage.googleapis.com${path}`, { headers: { 'x-goog-api-key': 'AIza-placeholder' } });
    t.equal(res.status, 200);
    const body = (await res.json()) as { models: Array<{ name: string; supportedGenerationMethods: string[] }> };
    t.same(body.models.map((m) => m.name), ['models/gemini-2.5-pro'], `Gemini's ${path} names models/…`);
    t.ok(body.models[0]!.supportedGenerationMethods.includes('generateContent'));
  }
});

t.test('Copilot: its own ids the routes accept, then names routes spell out', async (t) => {
  const h = await startRouter(t, { backends, routes: [{ match: { model: ['gpt-5-mini', 'claude-haiku-4.5', 'my-local-coder'] }, backend: 'local', model: 'qwen3:8b' }] });
  const res = await h.fetch('https://api.individual.githubcopilot.com/models', { headers: { authorization: 'Bearer tid=placeholder', 'copilot-integration-id': 'copilot-developer-cli' } });
  t.equal(res.status, 200);
  const body = (await res.json()) as { data: Array<{ id: string; capabilities: unknown }> };
  t.same(body.data.map((m) => m.id), ['claude-haiku-4.5', 'gpt-5-mini', 'my-local-coder'], "Copilot's ids in its own order, then the route's own name");
  t.ok(body.data.every((m) => m.capabilities !== undefined), "in Copilot's list shape");
});

t.test('a list where no route accepts any name is refused, in the caller\'s shape', async (t) => {
  const h = await startRouter(t, { backends, routes: [{ match: { model: 'gpt-*' }, backend: 'local' }, { match: { model: 'o3' }, action: 'deny' }] }, { host: 'api.openai.com' });
  const client = new OpenAI({ apiKey: 'sk-placeholder', baseURL: `${h.url}/v1`, maxRetries: 0, fetch: h.fetch });
  const err = await client.models.list().then(() => undefined, (e: unknown) => e);
  t.ok(err instanceof OpenAI.PermissionDeniedError, 'a 403 the SDK reads');
  t.match((err as { message: string }).message, /route_denied/);
  t.match(await h.nextCall(1), { api: 'openai-models', action: 'deny' });
});
