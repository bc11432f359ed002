import t from 'tap';
import OpenAI from 'openai';
import { createFakeAnthropic, createFakeOllama, createFakeOpenAI } from '../fakes/index.js';
import { startRouter, weather, weatherCall } from './harness.js';

// The openai SDK routed to a fake NIM (passthrough), to Ollama and to Anthropic (translated).

const tools: OpenAI.ChatCompletionTool[] = [{ type: 'function', function: weather }];
const rejection = (p: Promise<unknown>): Promise<unknown> => p.then(() => new Error('resolved'), (e: unknown) => e);

t.test('openai SDK → fake NIM: model mapped, credential injected, streaming and not', async (t) => {
  const nim = await createFakeOpenAI({ flavor: 'nim', models: ['meta/llama-3.1-8b-instruct'], apiKey: 'nvapi-real', chunkSize: 1, reply: { text: 'Calling the tool.', toolCalls: [weatherCall], usage: { input: 25, output: 14 } } });
  t.teardown(() => nim.close());
  const h = await startRouter(t, {
    backends: { nim: { type: 'nim', url: nim.url, credential: 'nvidia' } },
    routes: [{ name: 'gpt-to-nim', match: { api: 'openai', model: 'gpt-*' }, backend: 'nim', model: 'meta/llama-3.1-8b-instruct' }],
  }, { host: 'api.openai.com', providers: { nvidia: 'nvapi-real' } });
  const client = new OpenAI({ apiKey: 'sk-placeholder', baseURL: `${h.url}/v1`, maxRetries: 0, fetch: h.fetch });

  const plain = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Paris?' }], tools });
  t.equal(plain.choices[0]!.finish_reason, 'tool_calls');
  t.same(JSON.parse((plain.choices[0]!.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall).function.arguments), weatherCall.arguments);
  t.equal(plain.usage?.prompt_tokens, 25);

  const stream = client.chat.completions.stream({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Paris?' }], tools, stream_options: { include_usage: true } });
  const final = await stream.finalChatCompletion();
  t.equal(final.choices[0]!.message.content, 'Calling the tool.');
  t.equal(final.choices[0]!.finish_reason, 'tool_calls');
  const call = final.choices[0]!.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
  t.same(JSON.parse(call.function.arguments), weatherCall.arguments);
  t.equal(final.usage?.completion_tokens, 14);

  t.equal(nim.requests.length, 2);
  for (const r of nim.requests) {
    t.equal(r.path, '/v1/chat/completions');
    t.equal(r.body!.model, 'meta/llama-3.1-8b-instruct');
    t.equal(r.headers.authorization, 'Bearer nvapi-real', 'placeholder replaced by the configured credential');
  }
  const ev = await h.nextCall(2);
  t.match(ev, { api: 'openai-chat', requestedModel: 'gpt-4o', backend: 'nim', backendModel: 'meta/llama-3.1-8b-instruct', route: 'gpt-to-nim', stream: true, inputTokens: 25, outputTokens: 14, status: 200 });

  nim.setReply({ text: 'No usage asked.', usage: { input: 3, output: 2 } });
  const chunks: OpenAI.ChatCompletionChunk[] = [];
  for await (const c of await client.chat.completions.create({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'x' }] })) chunks.push(c);
  t.equal(chunks.map((c) => c.choices[0]?.delta.content ?? '').join(''), 'No usage asked.');
  t.notOk(chunks.some((c) => c.choices.length === 0), 'the usage chunk Sluice asked for is not shown to a client that did not');
  t.same(nim.requests.at(-1)!.body!.stream_options, { include_usage: true });
  t.match(await h.nextCall(3), { inputTokens: 3, outputTokens: 2 }, 'the audit still gets the tokens');

  const missing = await rejection(client.chat.completions.create({ model: 'o3-mini', messages: [{ role: 'user', content: 'x' }] }));
  t.match(missing, { status: 403 }, 'no route matches → denied (privacy first)');
});

t.test('openai SDK → Ollama native: translated both ways, streaming with tools and usage', async (t) => {
  const ollama = await createFakeOllama({ models: ['qwen3:8b'], chunkSize: 3, reply: { text: 'Sure thing.', toolCalls: [weatherCall], usage: { input: 19, output: 8 } } });
  t.teardown(() => ollama.close());
  const h = await startRouter(t, { backends: { local: { type: 'ollama', url: ollama.url } }, routes: [{ match: {}, backend: 'local', model: 'qwen3:8b' }] }, { host: 'api.openai.com' });
  const client = new OpenAI({ apiKey: 'sk-placeholder', baseURL: `${h.url}/v1`, maxRetries: 0, fetch: h.fetch });
  const chunks: OpenAI.ChatCompletionChunk[] = [];
  const raw = await client.chat.completions.create({
    model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, tools, max_tokens: 64, stop: 'STOP',
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/AAAA' } }] },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '-3 C' },
    ],
  });
  for await (const c of raw) chunks.push(c);
  const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
  t.equal(text, 'Sure thing.');
  const toolDeltas = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
  t.equal(toolDeltas[0]!.function!.name, 'get_weather');
  t.same(JSON.parse(toolDeltas.map((d) => d.function?.arguments ?? '').join('')), weatherCall.arguments);
  t.equal(chunks.find((c) => c.choices[0]?.finish_reason)!.choices[0]!.finish_reason, 'tool_calls');
  const last = chunks[chunks.length - 1]!;
  t.same(last.choices, [], 'usage chunk has empty choices');
  t.same(last.usage, { prompt_tokens: 19, completion_tokens: 8, total_tokens: 27 });

  const sent = ollama.requests[0]!.body!;
  t.same(sent.messages, [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'What is this?', images: ['/9j/AAAA'] },
    { role: 'assistant', content: '', tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Oslo' } } }] },
    { role: 'tool', content: '-3 C', tool_name: 'get_weather' },
  ]);
  t.same(sent.options, { num_predict: 64, stop: ['STOP'] });

  const plain = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] });
  t.equal(plain.object, 'chat.completion');
  t.equal(plain.model, 'gpt-4o-mini');
  t.equal(plain.choices[0]!.finish_reason, 'tool_calls');

  ollama.setReply({ text: 'no usage asked' });
  const noUsage: OpenAI.ChatCompletionChunk[] = [];
  for await (const c of await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'x' }] })) noUsage.push(c);
  t.notOk(noUsage.some((c) => c.usage), 'no usage chunk unless include_usage');

  const emb = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['a', 'b'] });
  t.equal(emb.data.length, 2);
  t.same(emb.data[1]!.embedding, [1.5, 0.25, -1], 'base64 floats decoded by the SDK');
  t.equal(ollama.requests.at(-1)!.path, '/api/embed');

  const models = await client.models.list();
  t.same(models.data.map((m) => m.id), ['qwen3:8b']);

  ollama.setModels(['other']);
  const nf = await rejection(client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }));
  t.ok(nf instanceof OpenAI.NotFoundError, 'Ollama 404 → OpenAI NotFoundError');
  t.match(nf, { status: 404, error: { message: "model 'qwen3:8b' not found", type: 'invalid_request_error', code: 'model_not_found' } });
});

t.test('openai SDK → Anthropic backend: translated streaming, errors mid-stream', async (t) => {
  const anthropic = await createFakeAnthropic({ models: ['claude-backend'], apiKey: 'sk-ant-real', chunkSize: 4, reply: { text: 'Bonjour.', toolCalls: [weatherCall], usage: { input: 50, output: 20 } } });
  t.teardown(() => anthropic.close());
  const h = await startRouter(t, { backends: { claude: { type: 'anthropic', url: anthropic.url, credential: 'anthropic' } }, routes: [{ match: { api: 'openai' }, backend: 'claude', model: 'claude-backend' }] }, { host: 'api.openai.com', providers: { anthropic: 'sk-ant-real' } });
  const client = new OpenAI({ apiKey: 'sk-placeholder', baseURL: `${h.url}/v1`, maxRetries: 0, fetch: h.fetch });
  const final = await client.chat.completions.stream({ model: 'gpt-4o', messages: [{ role: 'system', content: 'sys' }, { role: 'user', content: 'hi' }], tools, stream_options: { include_usage: true } }).finalChatCompletion();
  t.equal(final.choices[0]!.message.content, 'Bonjour.');
  t.equal(final.choices[0]!.finish_reason, 'tool_calls');
  t.same(JSON.parse((final.choices[0]!.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall).function.arguments), weatherCall.arguments);
  t.same(final.usage, { prompt_tokens: 50, completion_tokens: 20, total_tokens: 70 });
  const sent = anthropic.requests[0]!;
  t.equal(sent.headers['x-api-key'], 'sk-ant-real');
  t.equal(sent.headers['anthropic-version'], '2023-06-01');
  t.equal(sent.body!.system, 'sys');
  t.equal(sent.body!.max_tokens, 4096, 'Anthropic requires max_tokens: a default is supplied');
  t.same(sent.body!.tools, [{ name: 'get_weather', description: weather.description, input_schema: weather.parameters }]);

  anthropic.setReply({ text: 'one two three', failAfter: 2 });
  const err = await rejection(client.chat.completions.stream({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }).finalChatCompletion());
  t.match(String(err), /Overloaded/, 'Anthropic error event → OpenAI error in the stream');

  anthropic.setReply({ error: { status: 429, message: 'Number of requests has exceeded your rate limit' } });
  const limited = await rejection(client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }));
  t.ok(limited instanceof OpenAI.RateLimitError);
  t.match(limited, { error: { type: 'requests', code: 'rate_limit_exceeded', message: /rate limit/ } });
});

t.test('allow route: the call goes to the original provider untouched', async (t) => {
  const upstream = await createFakeOpenAI({ models: ['gpt-4o'] });
  t.teardown(() => upstream.close());
  const h = await startRouter(t, { backends: {}, routes: [{ name: 'hosted', match: { api: 'openai' }, action: 'allow' }] }, { host: 'api.openai.com', upstream });
  const client = new OpenAI({ apiKey: 'sk-placeholder', baseURL: `${h.url}/v1`, maxRetries: 0, fetch: h.fetch });
  const res = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] });
  t.equal(res.choices[0]!.message.content, 'Hello from the fake backend.');
  t.equal(upstream.requests[0]!.body!.model, 'gpt-4o');
  t.match(await h.nextCall(1), { action: 'allow', route: 'hosted', api: 'openai-chat' });
});

t.test('with the redaction engine: sensitive prompts stay local; hosted calls redacted, answers restored (split placeholders too)', async (t) => {
  const seen: string[] = [];
  const upstream = await createFakeOpenAI({
    models: ['gpt-4o'],
    reply: (req) => {
      const placeholder = /<EMAIL_\d+>/.exec(req.raw)?.[0] ?? 'nobody';
      seen.push(req.raw);
      const half = Math.floor(placeholder.length / 2);
      return { tokens: ['You wrote to ', placeholder.slice(0, half), placeholder.slice(half), '.'], text: `You wrote to ${placeholder}.`, toolCalls: [{ name: 'send', arguments: { to: placeholder } }] };
    },
  });
  const local = await createFakeOllama({ models: ['qwen3:8b'], reply: { text: 'Handled locally.' } });
  t.teardown(() => Promise.all([upstream.close(), local.close()]));
  const config = {
    backends: { local: { type: 'ollama' as const, url: local.url } },
    routes: [
      { name: 'sensitive-local', match: { sensitive: true, model: 'gpt-4o-mini' }, backend: 'local', model: 'qwen3:8b' },
      { name: 'hosted', match: { api: 'openai' as const }, action: 'allow' as const },
    ],
  };
  const h = await startRouter(t, config, { host: 'api.openai.com', upstream, privacy: { redact: ['email', 'private_key'], operators: { private_key: 'block' } } });
  const client = new OpenAI({ apiKey: 'sk-placeholder', baseURL: `${h.url}/v1`, maxRetries: 0, fetch: h.fetch });
  const prompt = [{ role: 'user' as const, content: 'Mail alice@example.com please' }];

  const hosted = await client.chat.completions.create({ model: 'gpt-4o', messages: prompt, tools: [{ type: 'function', function: { name: 'send', parameters: { type: 'object' } } }] });
  t.notMatch(seen[0], /alice@example\.com/, 'the hosted provider never sees the address');
  t.equal(hosted.choices[0]!.message.content, 'You wrote to alice@example.com.', 'restored in the answer');
  t.same(JSON.parse((hosted.choices[0]!.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall).function.arguments), { to: 'alice@example.com' }, 'and in tool arguments');
  t.match(await h.nextCall(1), { action: 'allow', redactions: { email: 1 } });

  const chunks: string[] = [];
  let args = '';
  for await (const c of await client.chat.completions.create({ model: 'gpt-4o', messages: prompt, stream: true })) {
    chunks.push(c.choices[0]?.delta.content ?? '');
    args += c.choices[0]?.delta.tool_calls?.[0]?.function?.arguments ?? '';
  }
  t.equal(chunks.join(''), 'You wrote to alice@example.com.', 'placeholder split across deltas restored');
  t.notOk(chunks.some((c) => c.includes('<EMA')), 'no partial placeholder shown');
  t.same(JSON.parse(args), { to: 'alice@example.com' });

  const kept = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: prompt });
  t.equal(kept.choices[0]!.message.content, 'Handled locally.');
  t.match(JSON.stringify(local.requests[0]!.body), /alice@example\.com/, 'a local backend gets the original text');
  t.match(await h.nextCall(3), { action: 'route', backend: 'local', redactions: { email: 1 } }, 'and the call is audited with what it holds, though nothing was rewritten');

  const key = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\n-----END RSA PRIVATE KEY-----';
  const blocked = await rejection(client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: key }] }));
  t.match(blocked, { status: 403 });
  t.equal((blocked as InstanceType<typeof OpenAI.APIError>).headers?.get('x-sluice-error'), 'redaction_blocked');
  t.equal(upstream.requests.length, 2, 'the blocked call never left');
  const local2 = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: key }] });
  t.equal(local2.choices[0]!.message.content, 'Handled locally.', 'a blocked type may go to a local backend (it does not leave the machine)');
  t.match(JSON.stringify(local.requests.at(-1)!.body), /MIIEowIBAAKCAQEA0Z3VS5/, 'as it is');
});
