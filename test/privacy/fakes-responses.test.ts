import t from 'tap';
import OpenAI from 'openai';
import { ResponsesWS } from 'openai/resources/responses/ws';
import type { ResponsesServerEvent } from 'openai/resources/responses/responses';
import { createFakeOpenAI, createFakeResponses } from '../fakes/index.js';
import { createTestCA } from '../helpers/tls.js';
import { tlsFront } from '../helpers/tls-front.js';
import { startTestSluice } from '../helpers/sluice.js';
import { ConnectAgent } from '../helpers/websocket.js';
import { weather, weatherCall } from './harness.js';

// The Responses fake, held to the official openai SDK: HTTP (plain and SSE) and WebSocket mode,
// directly and through a real Sluice's WebSocket relay.

const KEY = 'sk-fake-responses-key';
const fake = await createFakeResponses({ apiKey: KEY, models: ['gpt-fake'], reply: { text: 'Looking it up.', toolCalls: [weatherCall], usage: { input: 21, output: 13 } } });
t.teardown(() => fake.close());
const tools: OpenAI.Responses.Tool[] = [{ type: 'function', name: weather.name, description: weather.description, parameters: weather.parameters, strict: false }];

t.test('HTTP: whole answers and SSE streams the SDK assembles', async (t) => {
  const client = new OpenAI({ apiKey: KEY, baseURL: `${fake.url}/v1`, maxRetries: 0 });
  const res = await client.responses.create({ model: 'gpt-fake', input: 'Weather in Paris?', tools });
  t.equal(res.output_text, 'Looking it up.');
  const call = res.output.find((o) => o.type === 'function_call');
  t.match(call, { type: 'function_call', name: 'get_weather', call_id: 'call_fake0' });
  t.same(JSON.parse((call as OpenAI.Responses.ResponseFunctionToolCall).arguments), weatherCall.arguments);
  t.match(res.usage, { input_tokens: 21, output_tokens: 13, total_tokens: 34 });

  const types: string[] = [];
  const stream = client.responses.stream({ model: 'gpt-fake', input: [{ role: 'user', content: 'Weather?' }], tools });
  stream.on('event', (e) => types.push(e.type));
  const final = await stream.finalResponse();
  t.equal(final.output_text, 'Looking it up.');
  t.equal(types[0], 'response.created');
  t.equal(types.at(-1), 'response.completed');
  t.ok(types.includes('response.function_call_arguments.delta'));
  t.equal(fake.requests.at(-1)!.body!.stream, true);

  const count = await client.responses.inputTokens.count({ model: 'gpt-fake', input: 'Weather in Paris?' });
  t.ok(count.input_tokens > 0);

  const bad = new OpenAI({ apiKey: 'wrong', baseURL: `${fake.url}/v1`, maxRetries: 0 });
  const err = await bad.responses.create({ model: 'gpt-fake', input: 'x' }).catch((e: unknown) => e);
  t.ok(err instanceof OpenAI.AuthenticationError);
  const missing = await client.responses.create({ model: 'gpt-nope', input: 'x' }).catch((e: unknown) => e);
  t.ok(missing instanceof OpenAI.NotFoundError);
});

t.test('custom (freeform) tools and namespaced calls, as Codex declares them', async (t) => {
  fake.setReply({ toolCalls: [{ name: 'exec', namespace: 'functions', input: 'await tools.exec_command({cmd: "echo \\"hi\\""})', arguments: {} }, { name: 'sleep', namespace: 'clock', arguments: { duration_ms: 5 } }] });
  t.teardown(() => fake.setReply({ text: 'Looking it up.', toolCalls: [weatherCall], usage: { input: 21, output: 13 } }));
  const client = new OpenAI({ apiKey: KEY, baseURL: `${fake.url}/v1`, maxRetries: 0 });
  const final = await client.responses.stream({ model: 'gpt-fake', input: 'go' }).finalResponse();
  t.match(final.output[0], { type: 'custom_tool_call', name: 'exec', namespace: 'functions', input: 'await tools.exec_command({cmd: "echo \\"hi\\""})' });
  t.match(final.output[1], { type: 'function_call', name: 'sleep', namespace: 'clock', arguments: '{"duration_ms":5}' });
});

async function turns(ws: ResponsesWS, n: number): Promise<ResponsesServerEvent[][]> {
  const out: ResponsesServerEvent[][] = [[]];
  return new Promise((resolve, reject) => {
    ws.on('error', reject);
    ws.on('event', (e) => {
      out.at(-1)!.push(e);
      if (e.type === 'response.completed' || e.type === 'error') {
        if (out.length === n) resolve(out);
        else out.push([]);
      }
    });
  });
}

t.test('WebSocket mode: a warm-up, a turn, a continuation by previous_response_id, an unknown id', async (t) => {
  const client = new OpenAI({ apiKey: KEY, baseURL: `${fake.url}/v1`, maxRetries: 0 });
  const ws = new ResponsesWS(client);
  t.teardown(() => ws.close());
  const got = turns(ws, 2);
  ws.send({ type: 'response.create', model: 'gpt-fake', input: [], generate: false } as never);
  ws.send({ type: 'response.create', model: 'gpt-fake', input: 'Weather in Paris?', tools });
  const [warm, turn] = await got;
  t.equal(warm!.at(-1)!.type, 'response.completed');
  t.same((warm!.at(-1) as OpenAI.Responses.ResponseCompletedEvent).response.output, [], 'generate: false answers nothing');
  const done = turn!.at(-1) as OpenAI.Responses.ResponseCompletedEvent;
  t.match(done.response.output.map((o) => o.type), ['message', 'function_call']);
  const deltas = turn!.filter((e) => e.type === 'response.output_text.delta').map((e) => (e as OpenAI.Responses.ResponseTextDeltaEvent).delta).join('');
  t.equal(deltas, 'Looking it up.');

  const next = turns(ws, 2);
  ws.send({ type: 'response.create', model: 'gpt-fake', previous_response_id: done.response.id, input: [{ type: 'function_call_output', call_id: 'call_fake0', output: '21 C' }] });
  ws.send({ type: 'response.create', model: 'gpt-fake', previous_response_id: 'resp_unknown', input: [] });
  const [cont, unknown] = await next;
  t.equal(cont!.at(-1)!.type, 'response.completed');
  t.equal(fake.requests.at(-2)!.method, 'WS', 'messages are recorded like requests');
  t.match(unknown!.at(-1), { type: 'error', error: { code: 'previous_response_not_found' } });
});

t.test('WebSocket mode through a real Sluice: the relay carries the SDK\'s turns and audits them', async (t) => {
  const hosted = await createFakeOpenAI({ apiKey: KEY, models: ['gpt-fake'], reply: { text: 'Relayed.' } });
  const ca = await createTestCA();
  const front = await tlsFront(await ca.issue(['api.openai.com']), hosted.port);
  // The upgrade is a Responses call: an allow route lets it out (the default routes it to a local Ollama).
  const sluice = await startTestSluice(`version: 1
network_policies:
  openai:
    endpoints:
      - { host: api.openai.com, port: ${front.port} }
inference:
  routes:
    - { match: {}, action: allow }
`, { upstreamCA: [ca.caPem], resolve: { 'api.openai.com': '127.0.0.1' } });
  t.teardown(async () => {
    await sluice.close();
    await front.close();
    await hosted.close();
  });
  const client = new OpenAI({ apiKey: KEY, baseURL: `https://api.openai.com:${front.port}/v1`, maxRetries: 0 });
  const ws = new ResponsesWS(client, { agent: new ConnectAgent({ host: sluice.host, port: sluice.port }, sluice.caCertPem) });
  const got = turns(ws, 1);
  ws.send({ type: 'response.create', model: 'gpt-fake', input: 'hi' });
  const [turn] = await got;
  t.equal(turn!.filter((e) => e.type === 'response.output_text.delta').map((e) => (e as OpenAI.Responses.ResponseTextDeltaEvent).delta).join(''), 'Relayed.');
  t.equal(hosted.requests.at(-1)!.headers.authorization, `Bearer ${KEY}`);
  ws.close();
  let ws101: Record<string, unknown> | undefined;
  for (let i = 0; i < 200 && !ws101; i++) {
    ws101 = (await sluice.readAudit()).find((e) => (e.http_response as { code?: number } | undefined)?.code === 101);
    if (!ws101) await new Promise((r) => setTimeout(r, 10));
  }
  t.match(ws101, { traffic: { packets_out: 1 }, http_request: { url: { path: '/v1/responses' } } });
  t.ok((ws101!.traffic as { packets_in: number }).packets_in >= 8, 'every event came back as its own message');
});

t.test('WebSocket mode relayed with redaction: each turn leaves pseudonymised, the events come back restored', async (t) => {
  const EMAIL = 'jane.doe@example.com';
  const AWS = 'AKIAIOSFODNN7EXAMPLE';
  // The model repeats what it was given, in its text and in a tool call's arguments.
  const quoting = () => {
    const body = JSON.stringify(hosted.requests.at(-1)!.body);
    const seen = /mail ([^ ,"]+) and key ([^ ,"]+)/.exec(body);
    return { text: `Noted ${seen?.[1]} and ${seen?.[2]}.`, toolCalls: [{ name: 'send_email', arguments: { to: seen?.[1] ?? 'none' } }], usage: { input: 9, output: 5 } };
  };
  const hosted = await createFakeOpenAI({ apiKey: KEY, models: ['gpt-fake'], chunkSize: 2, reply: () => quoting() });
  const ca = await createTestCA();
  const front = await tlsFront(await ca.issue(['api.openai.com']), hosted.port);
  const sluice = await startTestSluice(`version: 1
network_policies:
  openai:
    endpoints:
      - { host: api.openai.com, port: ${front.port} }
privacy:
  redact: all
  mode: pseudonymize
inference:
  routes:
    - { match: { api: openai }, action: allow }
`, { upstreamCA: [ca.caPem], resolve: { 'api.openai.com': '127.0.0.1' } });
  t.teardown(async () => {
    await sluice.close();
    await front.close();
    await hosted.close();
  });
  const client = new OpenAI({ apiKey: KEY, baseURL: `https://api.openai.com:${front.port}/v1`, maxRetries: 0 });
  const ws = new ResponsesWS(client, { agent: new ConnectAgent({ host: sluice.host, port: sluice.port }, sluice.caCertPem) });
  t.teardown(() => ws.close());
  const firstTurn = turns(ws, 1);
  ws.send({ type: 'response.create', model: 'gpt-fake', instructions: 'Be brief.', input: `My mail ${EMAIL} and key ${AWS} please.` });
  // A copy: the listener goes on collecting the next turn's events.
  const first = [...(await firstTurn)[0]!];
  const done = first.at(-1) as OpenAI.Responses.ResponseCompletedEvent;
  const secondTurn = turns(ws, 1);
  ws.send({ type: 'response.create', model: 'gpt-fake', previous_response_id: done.response.id, input: [{ type: 'function_call_output', call_id: 'call_fake0', output: `sent to ${EMAIL}` }] });
  await secondTurn;
  const wire = JSON.stringify(hosted.requests.filter((r) => r.method === 'WS').map((r) => r.body));
  t.notOk(wire.includes(EMAIL) || wire.includes(AWS), 'the provider never saw the e-mail address or the key');
  t.match(wire, /mail \S+ and key \S+/);
  const text = first.filter((e) => e.type === 'response.output_text.delta').map((e) => (e as OpenAI.Responses.ResponseTextDeltaEvent).delta).join('');
  t.equal(text, `Noted ${EMAIL} and ${AWS}.`, 'streamed deltas restored, split placeholders included');
  t.equal(done.response.output.find((o) => o.type === 'message') && (done.response.output.find((o) => o.type === 'message') as OpenAI.Responses.ResponseOutputMessage).content.map((c) => (c as { text: string }).text).join(''), `Noted ${EMAIL} and ${AWS}.`, 'the final response restored whole');
  const call = done.response.output.find((o) => o.type === 'function_call') as OpenAI.Responses.ResponseFunctionToolCall;
  t.same(JSON.parse(call.arguments), { to: EMAIL }, 'tool arguments restored');
  const seqs = first.map((e) => (e as { sequence_number: number }).sequence_number);
  t.same(seqs, seqs.map((_, i) => i), 'events numbered from 0 without gaps after restoration');
  const secondOut = hosted.requests.filter((r) => r.method === 'WS').at(-1)!.body!;
  t.notOk(JSON.stringify(secondOut).includes(EMAIL), 'the tool output of the next turn is redacted with the same vault');
  // More new text than is scanned on the event loop (OFFLOAD_CHARS): found off it, and the turn still leaves redacted.
  const filler = 'the build step reads the config and warms the cache. '.repeat(2000);
  const thirdTurn = turns(ws, 1);
  ws.send({ type: 'response.create', model: 'gpt-fake', instructions: 'Be brief.', input: `${filler}My mail ${EMAIL} and key ${AWS} please. ${filler}` });
  const third = [...(await thirdTurn)[0]!];
  const thirdOut = JSON.stringify(hosted.requests.filter((r) => r.method === 'WS').at(-1)!.body);
  t.ok(thirdOut.length > 200_000, 'the large turn reached the provider');
  t.notOk(thirdOut.includes(EMAIL) || thirdOut.includes(AWS), 'without the e-mail address or the key');
  t.equal(third.filter((e) => e.type === 'response.output_text.delta').map((e) => (e as OpenAI.Responses.ResponseTextDeltaEvent).delta).join(''), `Noted ${EMAIL} and ${AWS}.`, 'and its answer came back restored');
  const calls = (await sluice.readAudit()).filter((e) => (e.unmapped as { llm?: { api?: string } } | undefined)?.llm?.api === 'openai-responses-socket');
  t.equal(calls.length, 3, 'each relayed turn is an audited LLM call');
  t.match(calls[0], { unmapped: { llm: { action: 'allow', requested_model: 'gpt-fake' } } });
});
