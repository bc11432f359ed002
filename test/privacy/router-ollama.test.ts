import t from 'tap';
import { makeDestination } from '../../core/index.js';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { createFakeAnthropic, createFakeOllama, createFakeOpenAI } from '../fakes/index.js';
import { startRouter, weather, weatherCall } from './harness.js';

// Agents that speak Ollama, on the virtual host inference.local.

const tools = [{ type: 'function', function: weather }];

async function collect(stream: AsyncIterable<{ message: { content: string; tool_calls?: unknown[] }; done: boolean; done_reason?: string; prompt_eval_count?: number; eval_count?: number }>) {
  let text = '';
  const calls: unknown[] = [];
  let last: { done: boolean; done_reason?: string; prompt_eval_count?: number; eval_count?: number } | undefined;
  for await (const part of stream) {
    text += part.message.content;
    if (part.message.tool_calls) calls.push(...part.message.tool_calls);
    last = part;
  }
  return { text, calls, last };
}

t.test('ollama client → OpenAI-compatible backend and → Anthropic backend', async (t) => {
  const vllm = await createFakeOpenAI({ models: ['Qwen/Qwen3-8B'], chunkSize: 1, reply: { text: 'From vLLM.', toolCalls: [weatherCall], usage: { input: 7, output: 5 } } });
  const claude = await createFakeAnthropic({ models: ['claude-backend'], chunkSize: 2, reply: { text: 'From Claude.', toolCalls: [weatherCall], usage: { input: 9, output: 4 } } });
  t.teardown(() => Promise.all([vllm.close(), claude.close()]));
  const h = await startRouter(t, {
    backends: { vllm: { type: 'openai-compatible', url: vllm.url }, claude: { type: 'anthropic', url: claude.url } },
    routes: [
      { match: { api: 'ollama', model: 'qwen*' }, backend: 'vllm', model: 'Qwen/Qwen3-8B' },
      { match: { api: 'ollama', model: 'claude*' }, backend: 'claude', model: 'claude-backend' },
    ],
  }, { host: 'inference.local' });
  t.equal(h.sluice.pipeline.classifier.hostClass(makeDestination('inference.local', 80)), 'virtual');
  t.equal(h.sluice.pipeline.classifier.hostClass(makeDestination('example.com', 80)), 'other');
  const client = new Ollama({ host: h.url, fetch: h.fetch });

  for (const [model, text, usage] of [['qwen3:8b', 'From vLLM.', [7, 5]], ['claude-x', 'From Claude.', [9, 4]]] as const) {
    const res = await collect(await client.chat({ model, stream: true, tools, messages: [{ role: 'user', content: 'Paris?' }] }));
    t.equal(res.text, text);
    t.same(res.calls, [{ function: { name: 'get_weather', arguments: weatherCall.arguments } }], `${model}: tool call whole, arguments an object`);
    t.match(res.last, { done: true, done_reason: 'stop', prompt_eval_count: usage[0], eval_count: usage[1] });

    const plain = await client.chat({ model, messages: [{ role: 'user', content: 'x' }], options: { temperature: 0, num_predict: 20 } });
    t.equal(plain.message.content, text);
    t.equal(plain.model, model);
  }
  t.equal(vllm.requests[1]!.body!.temperature, 0);
  t.equal(vllm.requests[1]!.body!.max_tokens, 20);
  t.equal(claude.requests[1]!.body!.max_tokens, 20);

  vllm.setModels(['other']);
  const err = await client.chat({ model: 'qwen3:8b', messages: [{ role: 'user', content: 'x' }] }).then(() => undefined, (e: unknown) => e);
  t.match(err, { status_code: 404, error: /does not exist/ }, 'OpenAI 404 → Ollama {"error"} 404');
});

t.test('ollama → ollama passes through; default config routes to a local Ollama', async (t) => {
  const ollama = await createFakeOllama({ models: ['llama3.2:latest'], chunkSize: 1, reply: { text: 'Passthrough works.', usage: { input: 3, output: 2 } } });
  t.teardown(() => ollama.close());
  const h = await startRouter(t, { backends: { local: { type: 'ollama', url: ollama.url } }, routes: [{ match: {}, backend: 'local' }] }, { host: 'inference.local' });
  const client = new Ollama({ host: h.url, fetch: h.fetch });
  const res = await collect(await client.chat({ model: 'llama3.2:latest', stream: true, messages: [{ role: 'user', content: 'x' }] }));
  t.equal(res.text, 'Passthrough works.');
  const ev = await h.nextCall(1);
  t.match(ev, { api: 'ollama-chat', backend: 'local', inputTokens: 3, outputTokens: 2, stream: true });
  const tags = await client.list();
  t.same(tags.models.map((m) => m.name), ['llama3.2:latest']);
  const emb = await client.embed({ model: 'llama3.2:latest', input: 'x' });
  t.equal(emb.embeddings.length, 1);
  const gen = await client.generate({ model: 'llama3.2:latest', prompt: 'x', stream: false });
  t.equal(gen.response, 'Passthrough works.');
});

t.test('deny: the agent reads the reason', async (t) => {
  const h = await startRouter(t, { backends: {}, routes: [{ name: 'no-ollama', match: { api: 'ollama' }, action: 'deny', reason: 'Ollama clients are not allowed here' }] }, { host: 'inference.local' });
  const client = new Ollama({ host: h.url, fetch: h.fetch });
  const err = await client.chat({ model: 'x', messages: [] }).then(() => undefined, (e: unknown) => e);
  t.match(err, { status_code: 403, error: /Ollama clients are not allowed here \[sluice: route_denied\]/ }, "the refusal in Ollama's own {\"error\"} shape");
  const res = await h.fetch(`${h.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'x', messages: [] }) });
  t.equal(res.status, 403);
  t.equal(res.headers.get('x-sluice-error'), 'route_denied');
  t.match(await res.json(), { error: /not allowed here/ });
  t.match(await h.nextCall(1), { action: 'deny', route: 'no-ollama', reason: 'Ollama clients are not allowed here' });
  const other = await h.fetch(`${h.url}/api/pull`, { method: 'POST', body: '{"model":"llama3"}' });
  t.equal(other.status, 403, 'a path that is not an LLM call: the deny route covers every Ollama-shaped request');
  t.equal(other.headers.get('x-sluice-error'), 'route_denied');
  t.match(await other.json(), { error: /not allowed here/ });
});

t.test('legacy single-prompt APIs: /api/generate and /v1/completions over any backend', async (t) => {
  const vllm = await createFakeOpenAI({ models: ['Qwen/Qwen3-8B'], chunkSize: 2, reply: { text: 'Generated text.', usage: { input: 6, output: 3 } } });
  const claude = await createFakeAnthropic({ models: ['claude-backend'], reply: { text: 'Completed by Claude.', usage: { input: 5, output: 4 } } });
  const ollama = await createFakeOllama({ models: ['llama3.2:latest'], chunkSize: 3, reply: { text: 'Native generate.' } });
  t.teardown(() => Promise.all([vllm.close(), claude.close(), ollama.close()]));
  const h = await startRouter(t, {
    backends: { vllm: { type: 'openai-compatible', url: vllm.url }, claude: { type: 'anthropic', url: claude.url }, local: { type: 'ollama', url: ollama.url } },
    routes: [
      { match: { api: 'ollama', model: 'qwen*' }, backend: 'vllm', model: 'Qwen/Qwen3-8B' },
      { match: { api: 'ollama' }, backend: 'local' },
      { match: { api: 'openai' }, backend: 'claude', model: 'claude-backend' },
    ],
  }, { host: 'inference.local' });
  const client = new Ollama({ host: h.url, fetch: h.fetch });

  let text = '';
  let last: { done: boolean; eval_count?: number } | undefined;
  for await (const part of await client.generate({ model: 'qwen3:8b', prompt: 'Say something', system: 'Be kind', stream: true, options: { num_predict: 9 } })) {
    text += part.response;
    last = part;
  }
  t.equal(text, 'Generated text.');
  t.match(last, { done: true, eval_count: 3 });
  t.same(vllm.requests[0]!.body!.messages, [{ role: 'system', content: 'Be kind' }, { role: 'user', content: 'Say something' }], 'prompt became a chat turn');
  t.equal(vllm.requests[0]!.path, '/v1/chat/completions');
  const plain = await client.generate({ model: 'qwen3:8b', prompt: 'x', stream: false });
  t.equal(plain.response, 'Generated text.');

  let native = '';
  for await (const part of await client.generate({ model: 'llama3.2:latest', prompt: 'x', stream: true })) native += part.response;
  t.equal(native, 'Native generate.', 'same shape: the NDJSON stream is relayed');
  t.equal(ollama.requests.at(-1)!.path, '/api/generate');

  const openai = new OpenAI({ apiKey: 'x', baseURL: `${h.url}/v1`, maxRetries: 0, fetch: h.fetch });
  const done = await openai.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Complete me', max_tokens: 12 });
  t.equal(done.choices[0]!.text, 'Completed by Claude.');
  t.equal(done.usage?.total_tokens, 9);
  t.equal(claude.requests[0]!.body!.max_tokens, 12);
  let streamed = '';
  for await (const c of await openai.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Complete me', stream: true })) streamed += c.choices[0]?.text ?? '';
  t.equal(streamed, 'Completed by Claude.');
});
