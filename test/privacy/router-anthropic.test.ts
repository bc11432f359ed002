import t from 'tap';
import Anthropic from '@anthropic-ai/sdk';
import { createFakeAnthropic, createFakeOllama, createFakeOpenAI } from '../fakes/index.js';
import { startRouter, weather, weatherCall } from './harness.js';

// The acceptance check: @anthropic-ai/sdk messages.stream with a tool, routed claude-* → Ollama.

const tool = { name: weather.name, description: weather.description, input_schema: weather.parameters as Anthropic.Tool.InputSchema };

t.test('messages.stream with a tool, claude-* → ollama (1-byte chunks from the backend)', async (t) => {
  const ollama = await createFakeOllama({ models: ['qwen3:8b'], chunkSize: 1, reply: { text: 'Let me look that up.', toolCalls: [weatherCall], usage: { input: 41, output: 17 } } });
  t.teardown(() => ollama.close());
  const h = await startRouter(t, {
    backends: { local: { type: 'ollama', url: ollama.url } },
    routes: [{ name: 'claude-local', match: { api: 'anthropic', model: 'claude-*' }, backend: 'local', model: 'qwen3:8b' }],
  });
  const client = new Anthropic({ apiKey: 'sk-ant-placeholder', baseURL: h.url, maxRetries: 0, fetch: h.fetch });
  const stream = client.messages.stream({
    model: 'claude-test-1',
    max_tokens: 256,
    temperature: 0.2,
    stop_sequences: ['END'],
    system: 'You are terse.',
    tools: [tool],
    messages: [{ role: 'user', content: 'Weather in Paris?' }],
  });
  let text = '';
  stream.on('text', (d) => (text += d));
  const final = await stream.finalMessage();
  t.equal(text, 'Let me look that up.');
  t.equal(final.model, 'claude-test-1', 'the client sees the model it asked for');
  t.equal(final.stop_reason, 'tool_use');
  t.equal(final.content.length, 2);
  t.same(final.content[0], { type: 'text', text: 'Let me look that up.' });
  const use = final.content[1] as Anthropic.ToolUseBlock;
  t.equal(use.type, 'tool_use');
  t.equal(use.name, 'get_weather');
  t.same(use.input, weatherCall.arguments, 'tool input parsed from input_json_delta');
  t.same(final.usage, { input_tokens: 41, output_tokens: 17 });

  const sent = ollama.requests.find((r) => r.path === '/api/chat')!;
  t.equal(sent.body!.model, 'qwen3:8b', 'model mapped');
  t.equal(sent.body!.stream, true);
  t.same(sent.body!.messages, [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Weather in Paris?' }]);
  t.same(sent.body!.tools, [{ type: 'function', function: { name: 'get_weather', description: weather.description, parameters: weather.parameters } }]);
  t.same(sent.body!.options, { num_predict: 256, temperature: 0.2, stop: ['END'] });
  t.equal(sent.headers['x-api-key'], undefined, "the client's key never reaches the backend");
  t.equal(sent.headers.authorization, undefined);

  const ev = await h.nextCall(1);
  t.match(ev, { type: 'llm_call', api: 'anthropic-messages', requestedModel: 'claude-test-1', backend: 'local', backendModel: 'qwen3:8b', route: 'claude-local', action: 'route', stream: true, status: 200, inputTokens: 41, outputTokens: 17 });
  t.type(ev.ttftMs, 'number');
  t.type(ev.durationMs, 'number');
});

t.test('messages.create, multi-turn with tool result, images → ollama', async (t) => {
  const ollama = await createFakeOllama({ models: ['qwen3:8b'], reply: { text: 'It is 21 °C in Paris.', usage: { input: 80, output: 9 } } });
  t.teardown(() => ollama.close());
  const h = await startRouter(t, { backends: { local: { type: 'ollama', url: ollama.url } }, routes: [{ match: { model: 'claude-*' }, backend: 'local', model: 'qwen3:8b' }] });
  const client = new Anthropic({ apiKey: 'x', baseURL: h.url, maxRetries: 0, fetch: h.fetch });
  const msg = await client.messages.create({
    model: 'claude-test-1',
    max_tokens: 100,
    tools: [tool],
    messages: [
      { role: 'user', content: [{ type: 'text', text: 'Weather here?' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } }] },
      { role: 'assistant', content: [{ type: 'text', text: 'Checking.' }, { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '21 C' }] },
    ],
  });
  t.same(msg.content, [{ type: 'text', text: 'It is 21 °C in Paris.' }]);
  t.equal(msg.stop_reason, 'end_turn');
  t.same(msg.usage, { input_tokens: 80, output_tokens: 9 });
  const sent = ollama.requests[0]!.body!;
  t.equal(sent.stream, false);
  t.same(sent.messages, [
    { role: 'user', content: 'Weather here?', images: ['iVBORw0KGgo='] },
    { role: 'assistant', content: 'Checking.', tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Paris' } } }] },
    { role: 'tool', content: '21 C', tool_name: 'get_weather' },
  ]);
});

t.test('anthropic client → OpenAI-shaped backend (NIM): streamed tool argument deltas reassembled', async (t) => {
  const nim = await createFakeOpenAI({ flavor: 'nim', models: ['meta/llama-3.1-8b-instruct'], apiKey: 'nvapi-real', chunkSize: 2, reply: { text: 'On it.', toolCalls: [weatherCall], usage: { input: 33, output: 12 } } });
  t.teardown(() => nim.close());
  const h = await startRouter(t, { backends: { nim: { type: 'nim', url: `${nim.url}/v1`, credential: 'nvidia' } }, routes: [{ match: {}, backend: 'nim', model: 'meta/llama-3.1-8b-instruct' }] }, { providers: { nvidia: 'nvapi-real' } });
  const client = new Anthropic({ apiKey: 'placeholder', baseURL: h.url, maxRetries: 0, fetch: h.fetch });
  const final = await client.messages.stream({ model: 'claude-test-1', max_tokens: 50, tools: [tool], messages: [{ role: 'user', content: 'Paris?' }] }).finalMessage();
  t.equal(final.stop_reason, 'tool_use');
  t.same((final.content[1] as Anthropic.ToolUseBlock).input, weatherCall.arguments);
  t.same(final.usage, { input_tokens: 33, output_tokens: 12 }, 'usage from the include_usage chunk Sluice asked for');
  const sent = nim.requests[0]!;
  t.equal(sent.headers.authorization, 'Bearer nvapi-real', 'credential injected');
  t.same(sent.body!.stream_options, { include_usage: true });
  t.equal(sent.body!.max_tokens, 50);
});

t.test('errors reach the Anthropic SDK in its own shape', async (t) => {
  const ollama = await createFakeOllama({ models: ['qwen3:8b'] });
  t.teardown(() => ollama.close());
  const h = await startRouter(t, {
    backends: { local: { type: 'ollama', url: ollama.url }, dead: { type: 'ollama', url: 'http://127.0.0.1:9', connect_timeout_ms: 500 } },
    routes: [
      { match: { model: 'claude-missing' }, backend: 'local', model: 'nope:1b' },
      { match: { model: 'claude-dead' }, backend: 'dead' },
      { match: { model: 'claude-fallback' }, backend: 'dead', fallback: 'local', fallback_model: 'qwen3:8b' },
      { match: { model: 'claude-*' }, action: 'deny', reason: 'not on this machine' },
    ],
  });
  const client = new Anthropic({ apiKey: 'x', baseURL: h.url, maxRetries: 0, fetch: h.fetch });
  const ask = (model: string) => client.messages.create({ model, max_tokens: 10, messages: [{ role: 'user', content: 'x' }] });
  const notFound = await ask('claude-missing').catch((e: unknown) => e);
  t.ok(notFound instanceof Anthropic.NotFoundError, 'Ollama 404 → Anthropic NotFoundError');
  t.same((notFound as InstanceType<typeof Anthropic.APIError>).error, { type: 'error', error: { type: 'not_found_error', message: "model 'nope:1b' not found" } });
  let sent = 0;
  h.sluice.bus.on((e) => {
    if (e.type === 'llm_call' && e.requestedModel === 'claude-dead') sent++;
  });
  const patient = new Anthropic({ apiKey: 'x', baseURL: h.url, maxRetries: 3, fetch: h.fetch });
  const dead = await patient.messages.create({ model: 'claude-dead', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
  t.equal((dead as InstanceType<typeof Anthropic.APIError>).status, 503);
  t.match((dead as InstanceType<typeof Anthropic.APIError>).error, { type: 'error', error: { type: 'overloaded_error', message: /^inference route "routes\[\d\]": backend "dead" unreachable/ } }, 'the error names the route and the backend');
  t.equal(sent, 1, 'x-should-retry: false: the SDK did not retry a route whose backends are down');
  const fb = await ask('claude-fallback');
  t.same(fb.content, [{ type: 'text', text: 'Hello from the fake backend.' }], 'fallback answered');
  const denied = await ask('claude-other').catch((e: unknown) => e);
  t.equal((denied as InstanceType<typeof Anthropic.APIError>).status, 403);
  t.equal((denied as InstanceType<typeof Anthropic.APIError>).headers?.get('x-sluice-error'), 'route_denied');
  t.match(h.calls.map((c) => c.action), ['route', 'route', 'route', 'deny']);
  t.equal(h.calls[2]!.backend, 'local', 'audit names the backend that answered');
});

t.test('cancellation mid-stream aborts the backend request; idle backend ends in an error event', async (t) => {
  const ollama = await createFakeOllama({ models: ['m'], reply: { text: 'one two three four five', stallAfter: 2 } });
  t.teardown(() => ollama.close());
  const h = await startRouter(t, { backends: { local: { type: 'ollama', url: ollama.url, timeout_ms: 300 } }, routes: [{ match: {}, backend: 'local', model: 'm' }] });
  const client = new Anthropic({ apiKey: 'x', baseURL: h.url, maxRetries: 0, fetch: h.fetch });

  const stream = client.messages.stream({ model: 'claude-test-1', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] });
  const ended = stream.finalMessage().catch((e: unknown) => e);
  await new Promise<void>((resolve) => stream.on('text', () => resolve()));
  stream.abort();
  t.ok((await ended) instanceof Anthropic.APIUserAbortError);
  for (let i = 0; i < 100 && !ollama.requests[0]!.aborted; i++) await new Promise((r) => setTimeout(r, 10));
  t.equal(ollama.requests[0]!.aborted, true, 'backend saw the disconnect');

  const idle = client.messages.stream({ model: 'claude-test-1', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] });
  const err = await idle.finalMessage().catch((e: unknown) => e);
  t.match(String(err), /sent nothing for 300 ms/, 'idle timeout reported as an Anthropic error event');
});

t.test('model list and count_tokens answered for Anthropic clients', async (t) => {
  const ollama = await createFakeOllama({ models: ['qwen3:8b', 'llama3.2:latest'] });
  t.teardown(() => ollama.close());
  const h = await startRouter(t, undefined);
  // The inference section arrives with a reload of the policy file.
  const reloaded = await h.sluice.writePolicy(JSON.stringify({ version: 1, network_policies: {}, inference: inferenceOf(ollama.url) }));
  t.equal(reloaded.activity, 'loaded');
  const client = new Anthropic({ apiKey: 'x', baseURL: h.url, maxRetries: 0, fetch: h.fetch });
  const page = await client.models.list();
  t.same(page.data.map((m) => m.id), ['qwen3:8b', 'llama3.2:latest']);
  const count = await client.messages.countTokens({ model: 'claude-test-1', messages: [{ role: 'user', content: 'Hello there, how are you?' }] });
  t.ok(count.input_tokens > 0, 'estimated when the backend cannot count');
  t.equal(h.sluice.pipeline.health().local!.healthy, true);
});

function inferenceOf(url: string) {
  return { backends: { local: { type: 'ollama' as const, url } }, routes: [{ match: {}, backend: 'local' }] };
}

t.test('passthrough when the backend speaks Anthropic: hosted anthropic and Ollama api: anthropic / api: openai', async (t) => {
  const hosted = await createFakeAnthropic({ models: ['claude-real'], apiKey: 'sk-ant-real', chunkSize: 1, reply: { text: 'Hosted.', toolCalls: [weatherCall], usage: { input: 4, output: 3 } } });
  const ollama = await createFakeOllama({ models: ['qwen3:8b'], reply: { text: 'Compat.', usage: { input: 2, output: 1 } } });
  t.teardown(() => Promise.all([hosted.close(), ollama.close()]));
  const h = await startRouter(t, {
    backends: {
      hosted: { type: 'anthropic', url: hosted.url, credential: 'anthropic' },
      oa: { type: 'ollama', url: ollama.url, api: 'anthropic' },
      oo: { type: 'ollama', url: ollama.url, api: 'openai' },
    },
    routes: [
      { match: { model: 'claude-real' }, backend: 'hosted' },
      { match: { model: 'via-anthropic' }, backend: 'oa', model: 'qwen3:8b' },
      { match: { model: 'via-openai' }, backend: 'oo', model: 'qwen3:8b' },
    ],
  }, { providers: { anthropic: 'sk-ant-real' } });
  const client = new Anthropic({ apiKey: 'sk-ant-placeholder', baseURL: h.url, maxRetries: 0, fetch: h.fetch, defaultHeaders: { 'anthropic-beta': 'tools-2024-04-04' } });
  const final = await client.messages.stream({ model: 'claude-real', max_tokens: 10, tools: [tool], messages: [{ role: 'user', content: 'x' }] }).finalMessage();
  t.match(final, { model: 'claude-real', stop_reason: 'tool_use', content: [{ text: 'Hosted.' }, { input: weatherCall.arguments }], usage: { input_tokens: 4, output_tokens: 3 } });
  t.equal(hosted.requests[0]!.headers['x-api-key'], 'sk-ant-real', 'real key injected, placeholder dropped');
  t.equal(hosted.requests[0]!.headers['anthropic-beta'], 'tools-2024-04-04', "the client's beta header is kept");
  t.match(await h.nextCall(1), { backend: 'hosted', inputTokens: 4, outputTokens: 3 });

  for (const [model, path] of [['via-anthropic', '/v1/messages'], ['via-openai', '/v1/chat/completions']] as const) {
    const msg = await client.messages.create({ model, max_tokens: 10, messages: [{ role: 'user', content: 'x' }] });
    t.same(msg.content, [{ type: 'text', text: 'Compat.' }], model);
    t.equal(ollama.requests.at(-1)!.path, path);
  }
});
