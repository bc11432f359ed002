import t from 'tap';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { Ollama } from 'ollama';
import { ProxyAgent, fetch as undiciFetch } from 'undici';
import { startTestSluice } from '../helpers/sluice.js';
import { createFakeOllama, createFakeOpenAI } from '../fakes/index.js';
import { weather, weatherCall } from './harness.js';

// Through a real Sluice: the agent calls api.anthropic.com / api.openai.com through the proxy
// (TLS intercepted with Sluice's CA) and is answered by fake Ollama / NIM backends.

const ollama = await createFakeOllama({ models: ['qwen3:8b'], chunkSize: 1, reply: { text: 'Looking it up.', toolCalls: [weatherCall], usage: { input: 21, output: 13 } } });
const nim = await createFakeOpenAI({ flavor: 'nim', models: ['meta/llama-3.1-8b-instruct'], reply: { text: 'From NIM.', toolCalls: [weatherCall], usage: { input: 8, output: 4 } } });
t.teardown(() => Promise.all([ollama.close(), nim.close()]));
const sluice = await startTestSluice(`version: 1
network_policies: {}
inference:
  backends:
    local: { type: ollama, url: "${ollama.url}" }
    nim: { type: nim, url: "${nim.url}/v1" }
  routes:
    - { name: claude-local, match: { api: anthropic, model: "claude-*" }, backend: local, model: "qwen3:8b" }
    - { name: openai-nim, match: { api: openai }, backend: nim, model: "meta/llama-3.1-8b-instruct" }
    - { name: ollama-local, match: { api: ollama, model: "llama*" }, backend: local, model: "qwen3:8b" }
`, { resolve: { 'api.anthropic.com': '127.0.0.1', 'api.openai.com': '127.0.0.1' } }); // no DNS here; the router never dials them
t.teardown(() => sluice.close());

t.test('official SDKs through a real Sluice, routed to fake Ollama and NIM', async (t) => {
  const dispatcher = new ProxyAgent({ uri: sluice.url, requestTls: { ca: sluice.caCertPem } });
  t.teardown(() => dispatcher.close());
  const fetchOptions = { dispatcher } as never;
  const fetchFn = undiciFetch as unknown as typeof globalThis.fetch;

  const anthropic = new Anthropic({ apiKey: 'sk-ant-placeholder', maxRetries: 0, fetch: fetchFn, fetchOptions });
  const final = await anthropic.messages.stream({
    model: 'claude-test-1', max_tokens: 100, messages: [{ role: 'user', content: 'Weather in Paris?' }],
    tools: [{ name: weather.name, description: weather.description, input_schema: weather.parameters as Anthropic.Tool.InputSchema }],
  }).finalMessage();
  t.same(final.content[0], { type: 'text', text: 'Looking it up.' });
  t.match(final.content[1], { type: 'tool_use', name: 'get_weather', input: weatherCall.arguments });
  t.equal(final.stop_reason, 'tool_use');
  t.same(final.usage, { input_tokens: 21, output_tokens: 13 });
  t.equal(ollama.requests.at(-1)!.body!.model, 'qwen3:8b');

  const openai = new OpenAI({ apiKey: 'sk-placeholder', maxRetries: 0, fetch: fetchFn, fetchOptions });
  const tools: OpenAI.ChatCompletionTool[] = [{ type: 'function', function: weather }];
  const plain = await openai.chat.completions.create({ model: 'gpt-4o', tools, messages: [{ role: 'user', content: 'x' }] });
  t.equal(plain.choices[0]!.finish_reason, 'tool_calls');
  const streamed = await openai.chat.completions.stream({ model: 'gpt-4o', tools, messages: [{ role: 'user', content: 'x' }], stream_options: { include_usage: true } }).finalChatCompletion();
  t.equal(streamed.choices[0]!.message.content, 'From NIM.');
  t.same(JSON.parse((streamed.choices[0]!.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall).function.arguments), weatherCall.arguments);
  t.equal(streamed.usage?.total_tokens, 12);
  t.equal(nim.requests.at(-1)!.body!.model, 'meta/llama-3.1-8b-instruct');
  t.equal(nim.requests.at(-1)!.headers.authorization, undefined, "the agent's placeholder key is not sent to a backend without a credential");

  // An Ollama-speaking agent on the virtual host: no DNS, no network policy entry.
  const viaProxy = ((input: string | URL, init?: RequestInit) => undiciFetch(input, { ...(init as object), dispatcher } as never)) as unknown as typeof globalThis.fetch;
  const local = new Ollama({ host: 'http://inference.local', fetch: viaProxy });
  ollama.setReply({ text: 'Hi from Ollama.' });
  const res = await local.chat({ model: 'llama3', messages: [{ role: 'user', content: 'x' }] });
  t.equal(res.message.content, 'Hi from Ollama.');
  const denied = await local.chat({ model: 'mistral', messages: [{ role: 'user', content: 'x' }] }).then(() => undefined, (e: unknown) => e);
  t.match(denied, { status_code: 403 }, 'no route for this model: denied, never sent anywhere');

  // The agent hangs up mid-stream: the backend request is aborted, not left running.
  ollama.setReply({ text: 'one two three four five', stallAfter: 2 });
  const stream = anthropic.messages.stream({ model: 'claude-test-1', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] });
  const ended = stream.finalMessage().catch((e: unknown) => e);
  await new Promise<void>((resolve) => stream.on('text', () => resolve()));
  stream.abort();
  t.ok((await ended) instanceof Anthropic.APIUserAbortError);
  const last = ollama.requests.at(-1)!;
  for (let i = 0; i < 200 && !last.aborted; i++) await new Promise((r) => setTimeout(r, 10));
  t.equal(last.aborted, true, 'backend saw the disconnect through the proxy');

  const events = await sluice.readAudit();
  const audit = JSON.stringify(events);
  t.match(audit, /claude-local/, 'LLM calls reach the audit log with their route');
  const llm = events.map((e) => (e.unmapped as { llm?: Record<string, unknown> } | undefined)?.llm).filter((l): l is Record<string, unknown> => l !== undefined && l.action === 'route');
  t.ok(llm.length >= 4, 'one event per routed call');
  for (const l of llm.filter((x) => x.stream === true && x.status === 200)) t.ok((l.response_bytes as number) > 0 && (l.request_bytes as number) > 0, `streamed call ${String(l.route)} reports its bytes`);
  t.ok(llm.some((l) => l.stream === false && (l.response_bytes as number) > 0), 'whole answers report their bytes too');
});
