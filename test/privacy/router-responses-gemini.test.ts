import t from 'tap';
import OpenAI from 'openai';
import { ResponsesWS } from 'openai/resources/responses/ws';
import type { ResponsesServerEvent } from 'openai/resources/responses/responses';
import { createFakeOllama, createFakeOpenAI } from '../fakes/index.js';
import { ConnectAgent } from '../helpers/websocket.js';
import { startRouter, weather, weatherCall } from './harness.js';

// Responses (HTTP and WebSocket) and Gemini clients routed to a local Ollama, and OpenAI's API
// under a host's path prefix: the calls are recognised at ingress, translated, and audited.

const ollama = await createFakeOllama({ models: ['qwen3:8b'], chunkSize: 3, reply: { text: 'From Ollama.', toolCalls: [weatherCall], usage: { input: 11, output: 6 } } });
t.teardown(() => ollama.close());
const backends = { local: { type: 'ollama' as const, url: ollama.url } };
const tools: OpenAI.Responses.Tool[] = [{ type: 'function', name: weather.name, description: weather.description, parameters: weather.parameters, strict: false }];

function sdk(h: { url: string; fetch: typeof fetch }, base = `${h.url}/v1`): OpenAI {
  return new OpenAI({ apiKey: 'sk-placeholder', baseURL: base, maxRetries: 0, fetch: h.fetch });
}

t.test('Responses over HTTP → Ollama: streamed and whole, tool call and usage', async (t) => {
  const h = await startRouter(t, { backends, routes: [{ match: { api: 'openai' }, backend: 'local', model: 'qwen3:8b' }] }, { host: 'api.openai.com' });
  const client = sdk(h);
  const whole = await client.responses.create({ model: 'gpt-5', instructions: 'Be brief.', input: 'Weather in Paris?', tools });
  t.equal(whole.output_text, 'From Ollama.');
  const call = whole.output.find((o) => o.type === 'function_call') as OpenAI.Responses.ResponseFunctionToolCall;
  t.same(JSON.parse(call.arguments), weatherCall.arguments);
  t.match(whole.usage, { input_tokens: 11, output_tokens: 6 });
  const sent = ollama.requests.at(-1)!.body!;
  t.match(sent.messages, [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Weather in Paris?' }], 'instructions and input reach Ollama as messages');
  t.match(await h.nextCall(1), { api: 'openai-responses', backend: 'local', action: 'route', inputTokens: 11, outputTokens: 6 });

  const final = await client.responses.stream({ model: 'gpt-5', input: [{ role: 'user', content: 'Weather?' }], tools }).finalResponse();
  t.equal(final.output_text, 'From Ollama.');
  t.match(await h.nextCall(2), { api: 'openai-responses', stream: true });
  const count = await client.responses.inputTokens.count({ model: 'gpt-5', input: 'Weather in Paris?' });
  t.ok(count.input_tokens > 0, 'input_tokens estimated in the Responses shape');
});

async function turns(ws: ResponsesWS, n: number): Promise<ResponsesServerEvent[][]> {
  const out: ResponsesServerEvent[][] = [[]];
  return new Promise((resolve, reject) => {
    ws.on('error', reject);
    ws.on('event', (e) => {
      out.at(-1)!.push(e);
      if (e.type === 'response.completed' || e.type === 'response.failed' || e.type === 'error') {
        if (out.length === n) resolve(out);
        else out.push([]);
      }
    });
  });
}

t.test('Responses over WebSocket → Ollama: answered by Sluice, one backend call per turn, history resolved', async (t) => {
  const h = await startRouter(t, { backends, routes: [{ match: { api: 'openai' }, backend: 'local', model: 'qwen3:8b' }] }, { host: 'api.openai.com' });
  const ws = new ResponsesWS(sdk(h), { agent: new ConnectAgent({ host: h.sluice.host, port: h.sluice.port }, h.sluice.caCertPem) });
  t.teardown(() => ws.close());
  const before = ollama.requests.length;
  const first = turns(ws, 2);
  ws.send({ type: 'response.create', model: 'gpt-5', input: [], generate: false } as never);
  ws.send({ type: 'response.create', model: 'gpt-5', input: 'Weather in Paris?', tools });
  const [warm, turn] = await first;
  t.equal(warm!.at(-1)!.type, 'response.completed', 'generate: false is answered without a backend call');
  const done = turn!.at(-1) as OpenAI.Responses.ResponseCompletedEvent;
  t.equal(done.type, 'response.completed');
  t.match(done.response.output.map((o) => o.type), ['message', 'function_call']);
  t.equal(ollama.requests.length, before + 1);
  const second = turns(ws, 1);
  ws.send({ type: 'response.create', model: 'gpt-5', previous_response_id: done.response.id, input: [{ type: 'function_call_output', call_id: (done.response.output[1] as { call_id: string }).call_id, output: '21 C' }] });
  await second;
  const msgs = ollama.requests.at(-1)!.body!.messages as Array<{ role: string }>;
  t.same(msgs.map((m) => m.role), ['user', 'assistant', 'tool'], 'the backend gets the whole conversation the socket continued');
  const ev = await h.nextCall(2);
  t.match(ev, { api: 'openai-responses-socket', backend: 'local', action: 'route' });
});

t.test('Gemini API → Ollama on generativelanguage.googleapis.com (an LLM host by default)', async (t) => {
  const h = await startRouter(t, { backends, routes: [{ match: { api: 'gemini' }, backend: 'local', model: 'qwen3:8b' }] }, { host: 'generativelanguage.googleapis.com' });
  const base = `${h.url}/v1beta/models/gemini-2.5-pro`;
  const body = { systemInstruction: { parts: [{ text: 'Be brief.' }] }, contents: [{ role: 'user', parts: [{ text: 'Weather in Paris?' }] }], tools: [{ functionDeclarations: [weather] }] };
  const res = await h.fetch(`${base}:generateContent`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-goog-api-key': 'AIza-placeholder' }, body: JSON.stringify(body) });
  t.equal(res.status, 200);
  const json = (await res.json()) as { candidates: Array<{ content: { parts: Array<Record<string, unknown>> } }>; usageMetadata: Record<string, number> };
  t.match(json.candidates[0]!.content.parts, [{ text: 'From Ollama.' }, { functionCall: { name: 'get_weather', args: weatherCall.arguments } }]);
  t.match(json.usageMetadata, { promptTokenCount: 11, candidatesTokenCount: 6 });
  t.match(ollama.requests.at(-1)!.body!.messages, [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Weather in Paris?' }]);
  t.match(await h.nextCall(1), { api: 'gemini-generate', requestedModel: 'gemini-2.5-pro', backend: 'local' });

  const sse = await h.fetch(`${base}:streamGenerateContent?alt=sse`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  t.match(sse.headers.get('content-type'), /event-stream/);
  const text = await sse.text();
  const chunks = text.split(/\r?\n\r?\n/).filter((f) => f.startsWith('data: ')).map((f) => JSON.parse(f.slice(6)) as { candidates?: Array<{ content?: { parts?: Array<{ text?: string }> }; finishReason?: string }> });
  t.equal(chunks.flatMap((c) => c.candidates?.[0]?.content?.parts ?? []).map((p) => p.text ?? '').join(''), 'From Ollama.');
  t.ok(chunks.some((c) => c.candidates?.[0]?.finishReason === 'STOP'));
  t.equal(ollama.requests.at(-1)!.body!.stream, true, 'the stream the path asks for is a stream from the backend too');
  t.ok(chunks.filter((c) => c.candidates?.[0]?.content?.parts?.some((p) => p.text)).length > 1, 'text reaches the client as the backend streams it, not in one piece at the end');
  t.match(await h.nextCall(2), { api: 'gemini-stream', stream: true });

  const noSse = await h.fetch(`${base}:streamGenerateContent`, { method: 'POST', body: JSON.stringify(body) });
  t.equal(noSse.status, 400, 'the JSON-array stream form is refused, not answered in a shape the client does not expect');
  t.match(await noSse.json(), { error: { status: 'INVALID_ARGUMENT', message: /alt=sse/ } });

  const count = await h.fetch(`${base}:countTokens`, { method: 'POST', body: JSON.stringify(body) });
  t.ok(((await count.json()) as { totalTokens: number }).totalTokens > 0);
  const models = (await (await h.fetch(`${h.url}/v1beta/models`)).json()) as { models: Array<{ name: string }> };
  t.same(models.models.map((m) => m.name), ['models/qwen3:8b']);
  const unknown = await h.fetch(`${h.url}/v1beta/cachedContents`, { method: 'POST', body: '{}' });
  t.equal(unknown.status, 403, 'what the router does not recognise on the Gemini host fails closed');
  t.match(await unknown.json(), { error: { message: /llm_unrecognised/ } }, "in Gemini's error shape");
});

t.test('OpenAI-compatible hosts under a path prefix (DashScope, OpenRouter)', async (t) => {
  const hosts = [{ host: 'dashscope.aliyuncs.com', prefix: '/compatible-mode/v1' }, { host: 'openrouter.ai', prefix: '/api/v1' }];
  const h = await startRouter(t, { backends, hosts, routes: [{ match: {}, backend: 'local', model: 'qwen3:8b' }] }, { host: 'dashscope.aliyuncs.com' });
  const dash = sdk(h, `${h.url}/compatible-mode/v1`);
  const res = await dash.chat.completions.create({ model: 'qwen-plus', messages: [{ role: 'user', content: 'Weather?' }] });
  t.equal(res.choices[0]!.message.content, 'From Ollama.');
  t.match(await h.nextCall(1), { api: 'openai-chat', path: '/compatible-mode/v1/chat/completions', requestedModel: 'qwen-plus', backend: 'local' });
  const router = sdk({ url: 'https://openrouter.ai', fetch: h.fetch }, 'https://openrouter.ai/api/v1');
  const r2 = await router.chat.completions.create({ model: 'qwen/qwen3', messages: [{ role: 'user', content: 'x' }] });
  t.equal(r2.choices[0]!.message.content, 'From Ollama.');
  const sent = ollama.requests.length;
  for (const path of ['/v1/chat/completions', '/chat/completions', '/api/v1/chat/completions', '/api/chat']) {
    const plain = await h.fetch(`${h.url}${path}`, { method: 'POST', body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }] }) });
    t.equal(plain.status, 403, `${path} is no call on a host that serves its API under a prefix`);
    t.match(await plain.text(), /\[sluice: llm_unrecognised\]/);
  }
  t.equal(ollama.requests.length, sent, 'none of them reached the backend');
  const outside = await h.fetch(`${h.url}/compatible-mode/v1x/chat/completions`, { method: 'POST', body: '{}' });
  t.equal(outside.status, 403, 'a path that merely starts with the prefix\'s letters is not under it');
});


t.test("a backend's max_output_tokens caps what calls ask of it, translated or native", async (t) => {
  const h = await startRouter(t, { backends: { local: { type: 'ollama', url: ollama.url, max_output_tokens: 100 } }, routes: [{ match: {}, backend: 'local', model: 'qwen3:8b' }] }, { host: 'api.openai.com' });
  await sdk(h).responses.create({ model: 'gpt-5', input: 'x', max_output_tokens: 64000 });
  t.equal((ollama.requests.at(-1)!.body!.options as { num_predict?: number }).num_predict, 100, 'Responses max_output_tokens 64000 → num_predict 100');
  await sdk(h).responses.create({ model: 'gpt-5', input: 'x', max_output_tokens: 20 });
  t.equal((ollama.requests.at(-1)!.body!.options as { num_predict?: number }).num_predict, 20, 'a smaller request is kept');
  const g = await h.fetch('http://inference.local/api/chat', { method: 'POST', body: JSON.stringify({ model: 'm', stream: false, messages: [{ role: 'user', content: 'x' }], options: { num_predict: 5000, temperature: 0 } }) });
  t.equal(g.status, 200);
  t.same(ollama.requests.at(-1)!.body!.options, { num_predict: 100, temperature: 0 }, 'an Ollama client passed through natively is capped too');
});

t.test('Responses over WebSocket → Ollama with redaction on: a local backend gets the turn as it came, audited with what it holds', async (t) => {
  const h = await startRouter(t, { backends, routes: [{ match: { api: 'openai' }, backend: 'local', model: 'qwen3:8b' }] }, { host: 'api.openai.com', privacy: { redact: 'all', mode: 'pseudonymize' } });
  const ws = new ResponsesWS(sdk(h), { agent: new ConnectAgent({ host: h.sluice.host, port: h.sluice.port }, h.sluice.caCertPem) });
  t.teardown(() => ws.close());
  const first = turns(ws, 1);
  ws.send({ type: 'response.create', model: 'gpt-5', input: 'Write to jane.doe@example.com about it.' });
  const [turn] = await first;
  t.equal(turn!.at(-1)!.type, 'response.completed');
  t.match(JSON.stringify(ollama.requests.at(-1)!.body), /jane\.doe@example\.com/, 'the local backend got the original text');
  t.match(await h.nextCall(1), { api: 'openai-responses-socket', backend: 'local', action: 'route', redactions: { email: 1 } });
});

t.test('Responses over WebSocket: the backend\'s events reach the socket as they come, its failure mid-answer included; the turn is audited with the bytes the client sent', async (t) => {
  const openai = await createFakeOpenAI({ reply: { tokens: ['One', ' two', ' three', ' four'], usage: { input: 9, output: 4 }, failAfter: 2 } });
  t.teardown(() => openai.close());
  const h = await startRouter(t, { backends: { compat: { type: 'openai-compatible', url: openai.url } }, routes: [{ match: { api: 'openai' }, backend: 'compat', model: 'm' }] }, { host: 'api.openai.com' });
  const ws = new ResponsesWS(sdk(h), { agent: new ConnectAgent({ host: h.sluice.host, port: h.sluice.port }, h.sluice.caCertPem) });
  t.teardown(() => ws.close());
  const message = { type: 'response.create', model: 'gpt-5', input: 'Count to four.' } as const;
  const first = turns(ws, 1);
  ws.send(message);
  const [events] = await first;
  const text = events!.filter((e) => e.type === 'response.output_text.delta').map((e) => (e as { delta: string }).delta).join('');
  t.equal(text, 'One two', 'the deltas before the failure');
  const last = events!.at(-1)!;
  t.ok(last.type === 'error' || last.type === 'response.failed', `then the failure (${last.type})`);
  t.match(JSON.stringify(last), /scripted failure/, 'saying what happened');
  const call = await h.nextCall(1);
  t.match(call, { api: 'openai-responses-socket', backend: 'compat', action: 'route' });
  t.equal(call.requestBytes, Buffer.byteLength(JSON.stringify(message)), 'request bytes: the message the client sent');
  t.ok(call.reason, `the audit says why the answer ended (${call.reason})`);

  openai.setReply({ tokens: ['Fine', ' again'], usage: { input: 9, output: 2 } });
  const second = turns(ws, 1);
  ws.send({ type: 'response.create', model: 'gpt-5', input: 'Again.' });
  const [again] = await second;
  t.equal(again!.at(-1)!.type, 'response.completed', 'the socket answers its next turn');
  t.equal(again!.filter((e) => e.type === 'response.output_text.delta').map((e) => (e as { delta: string }).delta).join(''), 'Fine again');
  t.match(await h.nextCall(2), { api: 'openai-responses-socket', outputTokens: 2 });
});
