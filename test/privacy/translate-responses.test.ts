import t from 'tap';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { ResponsesWS } from 'openai/resources/responses/ws';
import { WebSocketServer } from 'ws';
import { translate } from '../../privacy/index.js';

// What the Responses and Gemini codecs do beyond the shared every-pair tests: Codex's request
// shapes (additional_tools, namespaces, custom tools), what is dropped and said so, and the
// official openai SDK reading what the encoders write, over SSE and over WebSocket.

const { codecs } = translate;
type ChatEvent = translate.ChatEvent;

const CODEX_LIKE = {
  model: 'gpt-5',
  instructions: 'You are a coding agent.',
  input: [
    { type: 'additional_tools', role: 'developer', tools: [{ type: 'namespace', name: 'functions', description: '', tools: [{ type: 'custom', name: 'exec', description: 'Run JavaScript', format: { type: 'grammar', syntax: 'lark', definition: 'start: /.+/' } }, { type: 'function', name: 'wait', parameters: { type: 'object', properties: { cell_id: { type: 'string' } } } }] }] },
    { type: 'message', role: 'developer', content: [{ type: 'input_text', text: 'Be careful.' }] },
    { role: 'user', content: [{ type: 'input_text', text: 'Write a file.' }, { type: 'input_image', image_url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'auto' }] },
    { type: 'reasoning', id: 'rs_1', summary: [], encrypted_content: 'gAAAA…' },
    { type: 'custom_tool_call', call_id: 'call_1', namespace: 'functions', name: 'exec', input: 'await tools.exec_command({cmd: "echo \\"hi\\" > f"})' },
    { type: 'custom_tool_call_output', call_id: 'call_1', output: [{ type: 'input_text', text: 'done' }] },
    { type: 'function_call', call_id: 'call_2', name: 'lookup', arguments: '{"q":"x"}' },
    { type: 'function_call_output', call_id: 'call_2', output: '42' },
  ],
  tools: [{ type: 'function', name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } } } }, { type: 'web_search' }],
  tool_choice: 'auto',
  parallel_tool_calls: false,
  store: false,
  include: ['reasoning.encrypted_content'],
  prompt_cache_key: 'abc',
  max_output_tokens: 64000,
  text: { format: { type: 'json_schema', name: 'out', schema: { type: 'object', properties: { a: { type: 'string' } } } } },
  stream: true,
};

t.test('Responses requests: Codex\'s tools flattened, history kept, the rest dropped and named', async (t) => {
  const req = codecs.responses.parseRequest(CODEX_LIKE);
  t.equal(req.system, 'You are a coding agent.\n\nBe careful.');
  t.same(req.tools?.map((x) => [x.name, x.freeform ?? false, x.origin?.name]), [['functions__exec', true, 'exec'], ['functions__wait', false, 'wait'], ['lookup', false, undefined]]);
  t.same(req.messages.map((m) => [m.role, m.parts.map((p) => p.type)]), [['user', ['text', 'image']], ['assistant', ['tool_call']], ['user', ['tool_result']], ['assistant', ['tool_call']], ['user', ['tool_result']]]);
  const call = req.messages[1]!.parts[0] as Extract<translate.Part, { type: 'tool_call' }>;
  t.same([call.name, JSON.parse(call.arguments)], ['functions__exec', { input: 'await tools.exec_command({cmd: "echo \\"hi\\" > f"})' }]);
  t.match(req.messages[2]!.parts[0], { type: 'tool_result', id: 'call_1', name: 'functions__exec', content: 'done' });
  t.same(req.dropped?.sort(), ['built-in tool web_search', 'include reasoning.encrypted_content', 'reasoning items'].sort());
  t.match(req, { maxTokens: 64000, parallelToolCalls: false, toolChoice: 'auto', stream: true, format: { type: 'object' } });

  // To an OpenAI-compatible backend: the freeform tool is a function with one string argument.
  const chat = codecs.openai.renderRequest(req, 'qwen3');
  const exec = (chat.tools as { function: { name: string; parameters: { required: string[] } } }[])[0]!.function;
  t.same([exec.name, exec.parameters.required], ['functions__exec', ['input']]);
  t.match(codecs.responses.parseRequest({ model: 'm', input: 'hi', tool_choice: { type: 'function', name: 'lookup' } }), { toolChoice: { name: 'lookup' }, messages: [{ role: 'user', parts: [{ type: 'text', text: 'hi' }] }] });
  t.match(codecs.responses.parseRequest({ model: 'm', input: [], previous_response_id: 'resp_1' }).dropped, ['previous_response_id']);
});

/** The events a backend's answer with a freeform call and a namespaced call becomes. */
function answer(): ChatEvent[] {
  return [
    { type: 'start', id: 'x', model: 'qwen3', inputTokens: 30 },
    { type: 'text', text: 'Writing ' },
    { type: 'text', text: 'it.' },
    { type: 'tool_start', index: 0, id: 'call_9', name: 'functions__exec' },
    { type: 'tool_args', index: 0, json: '{"input": "await tools.exec_command({cmd: \\"printf \\\\\\"é✓\\\\\\" > f\\"})' },
    { type: 'tool_args', index: 0, json: '"}' },
    { type: 'tool_start', index: 1, id: 'call_10', name: 'functions__wait' },
    { type: 'tool_args', index: 1, json: '{"cell_id":"7"}' },
    { type: 'finish', reason: 'tool_calls' },
    { type: 'usage', outputTokens: 9 },
    { type: 'end' },
  ];
}

async function serve(handler: http.RequestListener): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(() => r())) };
}

t.test('the openai SDK reads the Responses encoder: SSE stream, whole answer, WebSocket events', async (t) => {
  const req = codecs.responses.parseRequest(CODEX_LIKE);
  const server = await serve((incoming, res) => {
    let body = '';
    incoming.on('data', (c: Buffer) => (body += c.toString()));
    incoming.on('end', () => {
      const stream = (JSON.parse(body) as { stream?: boolean }).stream === true;
      if (stream) {
        const enc = codecs.responses.createEncoder('gpt-5', false, req);
        res.writeHead(200, { 'content-type': enc.contentType });
        for (const ev of answer()) res.write(enc.encode(ev));
        res.end();
      } else {
        const whole = codecs.responses.renderResponse({ parts: [{ type: 'text', text: 'Writing it.' }, { type: 'tool_call', id: 'call_9', name: 'functions__exec', arguments: '{"input":"x"}' }], stopReason: 'tool_calls', usage: { inputTokens: 30, outputTokens: 9 } }, 'gpt-5', req);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(whole));
      }
    });
  });
  t.teardown(() => server.close());
  const client = new OpenAI({ apiKey: 'k', baseURL: `${server.url}/v1`, maxRetries: 0 });
  const final = await client.responses.stream({ model: 'gpt-5', input: 'x' }).finalResponse();
  t.equal(final.output_text, 'Writing it.');
  t.match(final.output[1], { type: 'custom_tool_call', namespace: 'functions', name: 'exec', call_id: 'call_9', input: 'await tools.exec_command({cmd: "printf \\"é✓\\" > f"})' });
  t.match(final.output[2], { type: 'function_call', namespace: 'functions', name: 'wait', arguments: '{"cell_id":"7"}' });
  t.match(final.usage, { input_tokens: 30, output_tokens: 9, total_tokens: 39 });
  t.equal(final.status, 'completed');

  const whole = await client.responses.create({ model: 'gpt-5', input: 'x' });
  t.equal(whole.output_text, 'Writing it.');
  t.match(whole.output[1], { type: 'custom_tool_call', name: 'exec', namespace: 'functions', input: 'x' });

  // The same events as WebSocket messages, read by the SDK's ResponsesWS.
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  t.teardown(() => new Promise<void>((r) => wss.close(() => r())));
  wss.on('connection', (ws) => ws.on('message', () => {
    const events = translate.createResponsesEventEncoder('gpt-5', req);
    for (const ev of answer()) for (const e of events.encode(ev)) ws.send(JSON.stringify(e));
  }));
  await once(wss, 'listening');
  const port = (wss.address() as AddressInfo).port;
  const wsClient = new ResponsesWS(new OpenAI({ apiKey: 'k', baseURL: `http://127.0.0.1:${port}/v1` }));
  const done = new Promise<OpenAI.Responses.ResponseCompletedEvent>((resolve, reject) => {
    wsClient.on('response.completed', resolve);
    wsClient.on('error', reject);
  });
  wsClient.send({ type: 'response.create', model: 'gpt-5', input: 'x' });
  const completed = await done;
  wsClient.close();
  t.match(completed.response.output.map((o) => o.type), ['message', 'custom_tool_call', 'function_call']);
});

t.test('Responses decoder: custom tool input deltas become JSON arguments whatever they hold', async (t) => {
  const input = 'line 1\n"quoted" \\ back\u2028slash é✓ 😀';
  const frames = [
    { type: 'response.created', response: { id: 'resp_1', model: 'm' } },
    { type: 'response.output_item.added', output_index: 0, item: { id: 'ctc_1', type: 'custom_tool_call', call_id: 'call_1', name: 'exec', namespace: 'functions', input: '' } },
    ...[...input].map((ch) => ({ type: 'response.custom_tool_call_input.delta', item_id: 'ctc_1', output_index: 0, delta: ch })),
    { type: 'response.output_item.done', output_index: 0, item: { id: 'ctc_1', type: 'custom_tool_call', call_id: 'call_1', name: 'exec', namespace: 'functions', input } },
    { type: 'response.completed', response: { status: 'completed', usage: { input_tokens: 1, output_tokens: 2 } } },
  ];
  const wire = Buffer.from(frames.map((f, i) => `event: ${f.type}\ndata: ${JSON.stringify({ ...f, sequence_number: i })}\n\n`).join(''));
  for (const split of [wire.length, 7, 1]) {
    const dec = codecs.responses.createDecoder();
    const events: ChatEvent[] = [];
    for (let i = 0; i < wire.length; i += split) dec.push(wire.subarray(i, i + split), events);
    dec.end(events);
    const args = events.filter((e) => e.type === 'tool_args').map((e) => (e as { json: string }).json).join('');
    t.same(JSON.parse(args), { input }, `split ${split}`);
    t.match(events.find((e) => e.type === 'tool_start'), { name: 'functions__exec', id: 'call_1' });
    t.match(events.find((e) => e.type === 'finish'), { reason: 'tool_calls' });
  }
  const failed: ChatEvent[] = [];
  translate.createResponsesEventDecoder().push({ type: 'response.failed', response: { error: { code: 'rate_limit_exceeded', message: 'slow down' } } }, failed);
  t.same(failed, [{ type: 'error', error: { status: 429, kind: 'rate_limit', message: 'slow down' } }]);
  const enc = codecs.responses.createEncoder('m', false);
  const out = enc.encode({ type: 'text', text: 'a' }) + enc.encode({ type: 'error', error: { status: 504, kind: 'timeout', message: 'idle' } });
  t.match(out, /event: response\.failed\ndata: \{"type":"response\.failed","response":\{.*"status":"failed".*"error":\{"code":"timeout","message":"idle"\}/);
  t.same(translate.responsesWebSocketError({ status: 404, kind: 'not_found', message: 'no model' }), { type: 'error', status: 404, error: { message: 'no model', type: 'invalid_request_error', param: null, code: 'model_not_found' } });
});

t.test('Gemini requests: OpenAPI schemas, pairing by name, thoughts, tool config, JSON output; built-ins named', async (t) => {
  const req = codecs.gemini.parseRequest({
    contents: [
      { role: 'user', parts: [{ text: 'Weather?' }, { inlineData: { mimeType: 'application/pdf', data: 'JVBERi0=' } }] },
      { role: 'model', parts: [{ text: 'thinking…', thought: true }, { functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: 'sig' }, { functionCall: { name: 'get_weather', args: { city: 'Oslo' } } }] },
      { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { output: '21 C' } } }, { functionResponse: { name: 'get_weather', response: { temp: 3 } } }] },
    ],
    systemInstruction: { parts: [{ text: 'Be brief.' }, { text: 'Use tools.' }] },
    tools: [{ functionDeclarations: [{ name: 'get_weather', description: 'Weather', parameters: { type: 'OBJECT', properties: { city: { type: 'STRING', description: 'City' } }, required: ['city'], propertyOrdering: ['city'] } }] }, { googleSearch: {} }],
    toolConfig: { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_weather'] } },
    generationConfig: { temperature: 0.2, maxOutputTokens: 100, stopSequences: ['END'], responseMimeType: 'application/json', responseSchema: { type: 'OBJECT', properties: { a: { type: 'STRING' } } } },
  });
  t.equal(req.system, 'Be brief.\nUse tools.');
  t.same(req.tools, [{ name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string', description: 'City' } }, required: ['city'] } }]);
  const [call1, call2] = req.messages[1]!.parts as Extract<translate.Part, { type: 'tool_call' }>[];
  t.same(req.messages[1]!.parts.length, 2, 'the thought is not sent on');
  t.match(req.messages[2]!.parts, [{ type: 'tool_result', id: call1!.id, content: '21 C' }, { type: 'tool_result', id: call2!.id, content: '{"temp":3}' }], 'results pair with calls in order');
  t.same(req.toolChoice, { name: 'get_weather' });
  t.same(req.format, { type: 'object', properties: { a: { type: 'string' } } });
  t.match(req, { temperature: 0.2, maxTokens: 100, stop: ['END'] });
  t.same(req.dropped?.sort(), ['built-in tool googleSearch', 'inlineData application/pdf']);
  const back = codecs.gemini.renderRequest(req, 'x');
  t.match(back, { toolConfig: { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_weather'] } }, generationConfig: { responseMimeType: 'application/json', responseJsonSchema: { type: 'object' } } });
  t.match((back.contents as { parts: unknown[] }[])[2]!.parts[0], { functionResponse: { name: 'get_weather', response: { output: '21 C' } } });
  t.same(translate.renderError('gemini', { status: 429, kind: 'rate_limit', message: 'quota' }), { status: 429, body: JSON.stringify({ error: { code: 429, message: 'quota', status: 'RESOURCE_EXHAUSTED' } }) });
  t.same(translate.parseBackendError(403, '{"error":{"code":403,"message":"denied","status":"PERMISSION_DENIED"}}'), { status: 403, kind: 'permission', message: 'denied' });
});

t.test('Gemini encoder: calls whole with the finish reason; a text-only answer ends with an empty model turn', async (t) => {
  const enc = codecs.gemini.createEncoder('gemini-x', false);
  const out = [{ type: 'start' }, { type: 'text', text: 'Hi' }, { type: 'finish', reason: 'stop' }, { type: 'usage', inputTokens: 3, outputTokens: 1 }, { type: 'end' }].map((e) => enc.encode(e as ChatEvent)).join('');
  const chunks = out.split('\r\n\r\n').filter(Boolean).map((c) => JSON.parse(c.slice(6)) as { candidates: { content: { role: string; parts: unknown[] }; finishReason?: string }[] });
  t.same(chunks.map((c) => c.candidates[0]!.content.parts), [[{ text: 'Hi' }], []]);
  t.equal(chunks[1]!.candidates[0]!.content.role, 'model');
  t.equal(chunks[1]!.candidates[0]!.finishReason, 'STOP');
  const err = codecs.gemini.createEncoder('g', false).encode({ type: 'error', error: { status: 503, kind: 'overloaded', message: 'busy' } });
  t.equal(err, 'data: {"error":{"code":503,"message":"busy","status":"UNAVAILABLE"}}\r\n\r\n');
});
