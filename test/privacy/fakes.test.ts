import t from 'tap';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { Ollama } from 'ollama';
import { createFakeAnthropic, createFakeOllama, createFakeOpenAI } from '../fakes/index.js';

// The fakes are only worth something if the official SDKs accept them as the real thing.

const rejection = (p: Promise<unknown>): Promise<unknown> => p.then(() => new Error('resolved'), (e: unknown) => e);

const weatherTool = { name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius' } };

t.test('fake OpenAI with the openai SDK', async (t) => {
  const fake = await createFakeOpenAI({ models: ['gpt-4o-mini'], apiKey: 'sk-test', chunkSize: 3 });
  t.teardown(() => fake.close());
  const client = new OpenAI({ apiKey: 'sk-test', baseURL: `${fake.url}/v1`, maxRetries: 0 });

  const plain = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
  t.equal(plain.choices[0]!.message.content, 'Hello from the fake backend.');
  t.equal(plain.usage?.total_tokens, 18);

  fake.setReply({ text: 'Let me check.', toolCalls: [weatherTool], usage: { input: 20, output: 9 } });
  const runner = client.chat.completions.stream({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'weather?' }], stream_options: { include_usage: true } });
  const final = await runner.finalChatCompletion();
  t.equal(final.choices[0]!.message.content, 'Let me check.');
  t.equal(final.choices[0]!.finish_reason, 'tool_calls');
  t.same(JSON.parse(final.choices[0]!.message.tool_calls![0]!.function.arguments), weatherTool.arguments);
  t.equal(final.usage?.completion_tokens, 9);

  const emb = await client.embeddings.create({ model: 'gpt-4o-mini', input: ['a', 'b'] });
  t.equal(emb.data.length, 2);
  t.equal(emb.data[1]!.embedding[0], 1.25);

  const models = await client.models.list();
  t.same(models.data.map((m) => m.id), ['gpt-4o-mini']);

  t.match(await rejection(client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] })), { status: 404, code: 'model_not_found' });
  const bad = new OpenAI({ apiKey: 'wrong', baseURL: `${fake.url}/v1`, maxRetries: 0 });
  t.match(await rejection(bad.models.list()), { status: 401 });
  fake.setReply({ error: { status: 429, message: 'slow down' } });
  t.match(await rejection(client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] })), { status: 429 });
  t.equal(fake.requests[0]!.headers.authorization, 'Bearer sk-test');
});

t.test('fake NIM errors in vLLM shape still read by the openai SDK', async (t) => {
  const fake = await createFakeOpenAI({ flavor: 'nim', models: ['meta/llama-3.1-8b-instruct'] });
  t.teardown(() => fake.close());
  const client = new OpenAI({ apiKey: 'nvapi-x', baseURL: `${fake.url}/v1`, maxRetries: 0 });
  const models = await client.models.list();
  t.equal(models.data[0]!.id, 'meta/llama-3.1-8b-instruct');
  t.match(await rejection(client.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'x' }] })), { status: 404 });
});

t.test('fake Anthropic with @anthropic-ai/sdk', async (t) => {
  const fake = await createFakeAnthropic({ models: ['claude-fake-1'], apiKey: 'sk-ant-test', chunkSize: 1 });
  t.teardown(() => fake.close());
  const client = new Anthropic({ apiKey: 'sk-ant-test', baseURL: fake.url, maxRetries: 0 });
  const msg = await client.messages.create({ model: 'claude-fake-1', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
  t.same(msg.content, [{ type: 'text', text: 'Hello from the fake backend.' }]);
  t.equal(msg.stop_reason, 'end_turn');

  fake.setReply({ text: 'Checking ünïcode ✓.', toolCalls: [weatherTool], usage: { input: 30, output: 11 } });
  const stream = client.messages.stream({
    model: 'claude-fake-1', max_tokens: 100, messages: [{ role: 'user', content: 'weather?' }],
    tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
  });
  let text = '';
  stream.on('text', (d) => (text += d));
  const final = await stream.finalMessage();
  t.equal(text, 'Checking ünïcode ✓.');
  t.equal(final.stop_reason, 'tool_use');
  t.same(final.content[1], { type: 'tool_use', id: 'toolu_fake0', name: 'get_weather', input: weatherTool.arguments });
  t.same(final.usage, { input_tokens: 30, output_tokens: 11 }, 'usage from message_start and message_delta');

  fake.setReply({ text: 'a b c d', failAfter: 2 });
  await t.rejects(client.messages.stream({ model: 'claude-fake-1', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).finalMessage(), /Overloaded/);
  t.match(await rejection(client.messages.create({ model: 'claude-x', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] })), { status: 404, error: { type: 'error', error: { type: 'not_found_error' } } });
  const tokens = await client.messages.countTokens({ model: 'claude-fake-1', messages: [{ role: 'user', content: 'x' }] });
  t.equal(tokens.input_tokens, 42);
});

t.test('fake Ollama with the ollama client (and its /v1 endpoints with the other SDKs)', async (t) => {
  const fake = await createFakeOllama({ models: ['qwen3:8b'], chunkSize: 5 });
  t.teardown(() => fake.close());
  const client = new Ollama({ host: fake.url });
  const list = await client.list();
  t.same(list.models.map((m) => m.name), ['qwen3:8b']);

  const res = await client.chat({ model: 'qwen3:8b', messages: [{ role: 'user', content: 'hi' }] });
  t.equal(res.message.content, 'Hello from the fake backend.');
  t.equal(res.eval_count, 6);

  fake.setReply({ text: 'Sure.', toolCalls: [weatherTool] });
  let text = '';
  const calls: unknown[] = [];
  let last: { done: boolean; done_reason: string } | undefined;
  for await (const part of await client.chat({ model: 'qwen3:8b', messages: [{ role: 'user', content: 'weather?' }], stream: true })) {
    text += part.message.content;
    if (part.message.tool_calls) calls.push(...part.message.tool_calls);
    last = part;
  }
  t.equal(text, 'Sure.');
  t.same(calls, [{ function: { name: 'get_weather', arguments: weatherTool.arguments } }]);
  t.equal(last?.done, true);

  t.match(await rejection(client.chat({ model: 'missing', messages: [{ role: 'user', content: 'x' }] })), { status_code: 404, error: "model 'missing' not found" });
  const emb = await client.embed({ model: 'qwen3:8b', input: ['x'] });
  t.equal(emb.embeddings.length, 1);

  const viaOpenAI = new OpenAI({ apiKey: 'ollama', baseURL: `${fake.url}/v1`, maxRetries: 0 });
  fake.setReply({ text: 'compat' });
  const c = await viaOpenAI.chat.completions.create({ model: 'qwen3:8b', messages: [{ role: 'user', content: 'x' }] });
  t.equal(c.choices[0]!.message.content, 'compat');
  const viaAnthropic = new Anthropic({ apiKey: 'ollama', baseURL: fake.url, maxRetries: 0 });
  const m = await viaAnthropic.messages.create({ model: 'qwen3:8b', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] });
  t.same(m.content, [{ type: 'text', text: 'compat' }]);
});
