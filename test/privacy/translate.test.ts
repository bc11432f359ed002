import t from 'tap';
import { translate } from '../../privacy/index.js';

const { codecs, parseBackendError, renderError, createSseParser, createLineParser } = translate;
type Shape = translate.Shape;
type ChatEvent = translate.ChatEvent;
const SHAPES: Shape[] = ['openai', 'anthropic', 'ollama', 'responses', 'gemini'];

/** Wire fixtures written from each API's docs, independent of the encoders under test. */
const WIRE: Record<Shape, string> = {
  openai: [
    '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}',
    '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Héllo "},"finish_reason":null}]}',
    '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"wörld ✓"},"finish_reason":null}]}',
    '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}',
    '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\\"city\\": "}}]},"finish_reason":null}]}',
    '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\\"Paris\\"}"}}]},"finish_reason":null}]}',
    '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}',
    '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18}}',
    '[DONE]',
  ].map((d) => `data: ${d}\r\n\r\n`).join(''),
  anthropic: [
    ['message_start', '{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":11,"output_tokens":1}}}'],
    ['content_block_start', '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}'],
    ['ping', '{"type": "ping"}'],
    ['content_block_delta', '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Héllo "}}'],
    ['content_block_delta', '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"wörld ✓"}}'],
    ['content_block_stop', '{"type":"content_block_stop","index":0}'],
    ['content_block_start', '{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_a","name":"get_weather","input":{}}}'],
    ['content_block_delta', '{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\\"city\\": "}}'],
    ['content_block_delta', '{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"\\"Paris\\"}"}}'],
    ['content_block_stop', '{"type":"content_block_stop","index":1}'],
    ['message_delta', '{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":7}}'],
    ['message_stop', '{"type":"message_stop"}'],
  ].map(([e, d]) => `event: ${e}\ndata: ${d}\n\n`).join(''),
  ollama: [
    '{"model":"m","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":"Héllo "},"done":false}',
    '{"model":"m","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":"wörld ✓"},"done":false}',
    '{"model":"m","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_weather","arguments":{"city":"Paris"}}}]},"done":false}',
    '{"model":"m","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","total_duration":5,"prompt_eval_count":11,"eval_count":7}',
  ].map((l) => `${l}\n`).join(''),
  responses: [
    ['response.created', '{"type":"response.created","sequence_number":0,"response":{"id":"resp_1","object":"response","created_at":1,"status":"in_progress","model":"m","output":[],"usage":null}}'],
    ['response.in_progress', '{"type":"response.in_progress","sequence_number":1,"response":{"id":"resp_1","object":"response","created_at":1,"status":"in_progress","model":"m","output":[],"usage":null}}'],
    ['response.output_item.added', '{"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"msg_1","type":"message","status":"in_progress","role":"assistant","content":[]}}'],
    ['response.content_part.added', '{"type":"response.content_part.added","sequence_number":3,"item_id":"msg_1","output_index":0,"content_index":0,"part":{"type":"output_text","text":"","annotations":[]}}'],
    ['response.output_text.delta', '{"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Héllo ","logprobs":[]}'],
    ['response.output_text.delta', '{"type":"response.output_text.delta","sequence_number":5,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"wörld ✓","logprobs":[]}'],
    ['response.output_text.done', '{"type":"response.output_text.done","sequence_number":6,"item_id":"msg_1","output_index":0,"content_index":0,"text":"Héllo wörld ✓","logprobs":[]}'],
    ['response.content_part.done', '{"type":"response.content_part.done","sequence_number":7,"item_id":"msg_1","output_index":0,"content_index":0,"part":{"type":"output_text","text":"Héllo wörld ✓","annotations":[]}}'],
    ['response.output_item.done', '{"type":"response.output_item.done","sequence_number":8,"output_index":0,"item":{"id":"msg_1","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Héllo wörld ✓","annotations":[]}]}}'],
    ['response.output_item.added', '{"type":"response.output_item.added","sequence_number":9,"output_index":1,"item":{"id":"fc_1","type":"function_call","status":"in_progress","arguments":"","call_id":"call_a","name":"get_weather"}}'],
    ['response.function_call_arguments.delta', '{"type":"response.function_call_arguments.delta","sequence_number":10,"item_id":"fc_1","output_index":1,"delta":"{\\"city\\": "}'],
    ['response.function_call_arguments.delta', '{"type":"response.function_call_arguments.delta","sequence_number":11,"item_id":"fc_1","output_index":1,"delta":"\\"Paris\\"}"}'],
    ['response.function_call_arguments.done', '{"type":"response.function_call_arguments.done","sequence_number":12,"item_id":"fc_1","output_index":1,"name":"get_weather","arguments":"{\\"city\\": \\"Paris\\"}"}'],
    ['response.output_item.done', '{"type":"response.output_item.done","sequence_number":13,"output_index":1,"item":{"id":"fc_1","type":"function_call","status":"completed","arguments":"{\\"city\\": \\"Paris\\"}","call_id":"call_a","name":"get_weather"}}'],
    ['response.completed', '{"type":"response.completed","sequence_number":14,"response":{"id":"resp_1","object":"response","created_at":1,"status":"completed","model":"m","output":[],"usage":{"input_tokens":11,"input_tokens_details":{"cached_tokens":0},"output_tokens":7,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":18}}}'],
  ].map(([e, d]) => `event: ${e}\ndata: ${d}\n\n`).join(''),
  gemini: [
    '{"candidates":[{"content":{"parts":[{"text":"Héllo "}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":11,"totalTokenCount":11},"modelVersion":"gemini-2.5-flash","responseId":"r1"}',
    '{"candidates":[{"content":{"parts":[{"text":"wörld ✓"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":11,"totalTokenCount":11},"modelVersion":"gemini-2.5-flash","responseId":"r1"}',
    '{"candidates":[{"content":{"parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":11,"candidatesTokenCount":7,"totalTokenCount":18},"modelVersion":"gemini-2.5-flash","responseId":"r1"}',
  ].map((d) => `data: ${d}\r\n\r\n`).join(''),
};

function decodeAll(shape: Shape, bytes: Buffer, split: number): ChatEvent[] {
  const dec = codecs[shape].createDecoder();
  const events: ChatEvent[] = [];
  for (let i = 0; i < bytes.length; i += split) dec.push(bytes.subarray(i, i + split), events);
  dec.end(events);
  return events;
}

/** What a client would assemble from events: text, tool calls with parsed args, stop, usage. */
function assemble(events: ChatEvent[]) {
  let text = '';
  const tools: { name: string; args: string }[] = [];
  let stop: string | undefined;
  let input: number | undefined;
  let output: number | undefined;
  let errors = 0;
  for (const ev of events) {
    if (ev.type === 'text') text += ev.text;
    else if (ev.type === 'tool_start') tools[ev.index] = { name: ev.name, args: '' };
    else if (ev.type === 'tool_args') tools[ev.index]!.args += ev.json;
    else if (ev.type === 'finish') stop = ev.reason;
    else if (ev.type === 'start' && ev.inputTokens !== undefined) input = ev.inputTokens;
    else if (ev.type === 'usage') {
      input = ev.inputTokens ?? input;
      output = ev.outputTokens ?? output;
    } else if (ev.type === 'error') errors++;
  }
  return { text, tools: tools.map((x) => ({ name: x.name, args: JSON.parse(x.args) as unknown })), stop, input, output, errors, ended: events.at(-1)?.type === 'end' };
}

const EXPECTED = { text: 'Héllo wörld ✓', tools: [{ name: 'get_weather', args: { city: 'Paris' } }], stop: 'tool_calls', input: 11, output: 7, errors: 0, ended: true };

t.test('decoders: every backend wire, whole and split at every size down to 1 byte', async (t) => {
  for (const shape of SHAPES) {
    const bytes = Buffer.from(WIRE[shape]);
    for (const split of [bytes.length, 97, 13, 2, 1]) t.same(assemble(decodeAll(shape, bytes, split)), EXPECTED, `${shape} split ${split}`);
  }
});

t.test('streaming translation for every pair: backend wire → client wire → same content', async (t) => {
  for (const backend of SHAPES) {
    for (const client of SHAPES) {
      const enc = codecs[client].createEncoder('client-model', true);
      let out = '';
      for (const ev of decodeAll(backend, Buffer.from(WIRE[backend]), 5)) out += enc.encode(ev);
      const label = `${backend} → ${client}`;
      t.same(assemble(decodeAll(client, Buffer.from(out), 3)), EXPECTED, label);
      if (client === 'anthropic') {
        t.match(out, /^event: message_start\n/, `${label}: starts with message_start`);
        t.match(out, /event: message_delta\ndata: \{"type":"message_delta","delta":\{"stop_reason":"tool_use"/, `${label}: stop_reason`);
        t.match(out, /event: message_stop\ndata: \{"type":"message_stop"\}\n\n$/, `${label}: ends with message_stop`);
        t.equal(out.match(/event: content_block_start/g)?.length, 2, `${label}: one text block, one tool_use block`);
        t.equal(out.match(/event: content_block_stop/g)?.length, 2);
      } else if (client === 'openai') {
        t.match(out, /data: \[DONE\]\n\n$/, `${label}: ends with [DONE]`);
        t.match(out, /"choices":\[\],"usage":\{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18\}/, `${label}: usage chunk`);
      } else if (client === 'responses') {
        const types = [...out.matchAll(/^event: (\S+)$/gm)].map((m) => m[1]);
        t.same(types.slice(0, 2), ['response.created', 'response.in_progress'], `${label}: created, in_progress`);
        t.equal(types.at(-1), 'response.completed', `${label}: ends with response.completed`);
        t.equal(types.filter((x) => x === 'response.output_item.added').length, 2, `${label}: a message item and a function_call item`);
        const seqs = [...out.matchAll(/"sequence_number":(\d+)/g)].map((m) => Number(m[1]));
        t.same(seqs, seqs.map((_, i) => i), `${label}: sequence numbers count up from 0`);
        t.match(out, /"usage":\{"input_tokens":11,"input_tokens_details":\{"cached_tokens":0\},"output_tokens":7/, `${label}: usage`);
      } else if (client === 'gemini') {
        const chunks = out.split('\r\n\r\n').filter(Boolean).map((c) => JSON.parse(c.replace(/^data: /, '')) as { candidates: { finishReason?: string; content: { role: string } }[]; usageMetadata?: unknown });
        t.ok(chunks.every((c) => c.candidates[0]!.content.role === 'model'), `${label}: model turns`);
        t.equal(chunks.at(-1)!.candidates[0]!.finishReason, 'STOP', `${label}: finishReason on the last chunk`);
        t.same(chunks.at(-1)!.usageMetadata, { promptTokenCount: 11, candidatesTokenCount: 7, totalTokenCount: 18 });
      } else {
        const lines = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
        t.match(lines.at(-1), { done: true, done_reason: 'stop', prompt_eval_count: 11, eval_count: 7 }, `${label}: final done line`);
        t.ok(lines.slice(0, -1).every((l) => l.done === false));
      }
    }
  }
});

t.test('streams that end early or fail become error events in the client shape', async (t) => {
  const truncated = Buffer.from(WIRE.openai.slice(0, WIRE.openai.indexOf('[DONE]') - 200));
  t.equal(assemble(decodeAll('openai', truncated, 7)).errors, 1, 'truncated stream reported');
  const enc = codecs.anthropic.createEncoder('m', false);
  const out = enc.encode({ type: 'text', text: 'hi' }) + enc.encode({ type: 'error', error: { status: 504, kind: 'timeout', message: 'idle' } });
  t.match(out, /event: error\ndata: \{"type":"error","error":\{"type":"timeout_error","message":"idle"\}\}\n\n$/);
  t.equal(enc.encode({ type: 'end' }), '', 'nothing after the error');
  const oa = codecs.openai.createEncoder('m', false).encode({ type: 'error', error: { status: 500, kind: 'server', message: 'boom' } });
  t.equal(oa, 'data: {"error":{"message":"boom","type":"server_error","param":null,"code":null}}\n\n');
  t.equal(codecs.ollama.createEncoder('m', false).encode({ type: 'error', error: { status: 500, kind: 'server', message: 'boom' } }), '{"error":"boom"}\n');
});

const REQUEST: translate.ChatRequest = {
  model: 'x',
  system: 'Be brief.',
  messages: [
    { role: 'user', parts: [{ type: 'text', text: 'Weather?' }, { type: 'image', mediaType: 'image/png', data: 'iVBORw0KGgo=' }] },
    { role: 'assistant', parts: [{ type: 'text', text: 'Checking.' }, { type: 'tool_call', id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }] },
    { role: 'user', parts: [{ type: 'tool_result', id: 'call_1', name: 'get_weather', content: '21 C' }, { type: 'text', text: 'Thanks; and tomorrow?' }] },
  ],
  tools: [{ name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }],
  maxTokens: 99,
  temperature: 0.3,
  topP: 0.9,
  stop: ['END'],
  stream: true,
};
/** Only OpenAI and Ollama carry these; Anthropic has no equivalent. */
const STRUCTURED = { seed: 7, format: { type: 'object', properties: { a: { type: 'string' } } } };

/** Ids do not survive Ollama, and tool arguments may be re-serialised: compare what matters. */
function normal(req: translate.ChatRequest, shapes: Shape[] = []) {
  // The Responses API has no stop sequences.
  const stop = shapes.includes('responses') ? undefined : req.stop;
  return {
    system: req.system,
    messages: req.messages.map((m) => ({ role: m.role, parts: m.parts.map((p) => (p.type === 'tool_call' ? { type: p.type, name: p.name, args: JSON.parse(p.arguments) as unknown } : p.type === 'tool_result' ? { type: p.type, content: p.content } : p)) })),
    tools: req.tools,
    maxTokens: req.maxTokens,
    temperature: req.temperature,
    topP: req.topP,
    stop,
    stream: req.stream,
  };
}

/** Gemini's model and streaming are in the URL: what a router reads from the path. */
function parsed(shape: Shape, body: Record<string, unknown>, stream: boolean): translate.ChatRequest {
  const req = codecs[shape].parseRequest(body);
  return shape === 'gemini' ? { ...req, stream } : req;
}

t.test('request translation for every pair keeps system, turns, images, tools, tool results and sampling', async (t) => {
  for (const client of SHAPES) {
    for (const backend of SHAPES) {
      const clientBody = codecs[client].renderRequest(REQUEST, 'client-model');
      const backendBody = codecs[backend].renderRequest(parsed(client, clientBody, REQUEST.stream), 'backend-model');
      if (backend !== 'gemini') t.equal(backendBody.model, 'backend-model');
      t.same(normal(parsed(backend, backendBody, REQUEST.stream), [client, backend]), normal(REQUEST, [client, backend]), `${client} → ${backend}`);
    }
  }
  const ollamaReq = codecs.ollama.renderRequest(codecs.anthropic.parseRequest(codecs.anthropic.renderRequest(REQUEST, 'm')), 'm');
  t.same((ollamaReq.messages as unknown[])[3], { role: 'tool', content: '21 C', tool_name: 'get_weather' }, 'Ollama tool results name their tool');
  const anthropicReq = codecs.anthropic.renderRequest(codecs.openai.parseRequest(codecs.openai.renderRequest(REQUEST, 'm')), 'm');
  t.same((anthropicReq.messages as { content: unknown[] }[])[2]!.content[0], { type: 'tool_result', tool_use_id: 'call_1', content: '21 C' }, 'OpenAI tool message → Anthropic tool_result in the user turn');
  t.equal(codecs.ollama.parseRequest({ model: 'm', messages: [] }).stream, true, 'Ollama streams unless told not to');
  for (const [from, to] of [['openai', 'ollama'], ['ollama', 'openai']] as const) {
    const back = codecs[to].parseRequest(codecs[to].renderRequest(codecs[from].parseRequest(codecs[from].renderRequest({ ...REQUEST, ...STRUCTURED }, 'm')), 'm'));
    t.match(back, STRUCTURED, `${from} → ${to}: seed and structured output`);
  }
  t.same(codecs.ollama.renderRequest(codecs.openai.parseRequest({ model: 'm', messages: [], response_format: { type: 'json_object' } }), 'm').format, 'json');
  t.same(codecs.anthropic.renderRequest({ model: 'm', messages: [], stream: false, toolChoice: 'required' }, 'm').tool_choice, { type: 'any' });
  t.same(codecs.openai.parseRequest({ model: 'm', messages: [], tool_choice: { type: 'function', function: { name: 'f' } } }).toolChoice, { name: 'f' });
});

t.test('non-streaming responses for every pair: content, stop reasons, usage', async (t) => {
  const cases: translate.ChatResponse[] = [
    { parts: [{ type: 'text', text: 'Hi.' }, { type: 'tool_call', id: 'call_9', name: 'f', arguments: '{"a":1}' }], stopReason: 'tool_calls', usage: { inputTokens: 5, outputTokens: 3 } },
    { parts: [{ type: 'text', text: 'cut' }], stopReason: 'length', usage: { inputTokens: 1, outputTokens: 2 } },
    { parts: [{ type: 'text', text: 'done' }], stopReason: 'stop', usage: { inputTokens: 1, outputTokens: 1 } },
  ];
  for (const res of cases) {
    for (const backend of SHAPES) {
      for (const client of SHAPES) {
        const wire = codecs[backend].renderResponse(res, 'b');
        const out = codecs[client].renderResponse(codecs[backend].parseResponse(wire), 'client-model');
        t.equal(out.model ?? out.modelVersion, 'client-model');
        const back = codecs[client].parseResponse(out);
        t.equal(back.stopReason, res.stopReason, `${backend} → ${client}: ${res.stopReason}`);
        t.same(back.usage, res.usage);
        t.same(back.parts.map((p) => (p.type === 'tool_call' ? [p.name, JSON.parse(p.arguments)] : p)), res.parts.map((p) => (p.type === 'tool_call' ? [p.name, JSON.parse(p.arguments)] : p)));
      }
    }
  }
  const a = codecs.anthropic.renderResponse(cases[0]!, 'm');
  t.equal(a.stop_reason, 'tool_use');
  t.equal(codecs.openai.renderResponse(cases[1]!, 'm').choices instanceof Array, true);
  t.equal((codecs.openai.renderResponse(cases[0]!, 'm').choices as { finish_reason: string }[])[0]!.finish_reason, 'tool_calls');
  t.equal(codecs.anthropic.parseResponse({ content: [], stop_reason: 'stop_sequence', stop_sequence: 'END', usage: {} }).stopSequence, 'END');
});

t.test('errors: any backend shape → the client shape, status kept', async (t) => {
  const bodies: [number, string, string, string][] = [
    [404, '{"error":"model \'qwen3:8b\' not found"}', 'not_found', "model 'qwen3:8b' not found"],
    [404, '{"error":{"message":"The model `x` does not exist","type":"invalid_request_error","param":null,"code":"model_not_found"}}', 'not_found', 'The model `x` does not exist'],
    [404, '{"object":"error","message":"The model `x` does not exist.","type":"NotFoundError","param":null,"code":404}', 'not_found', 'The model `x` does not exist.'],
    [429, '{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}', 'rate_limit', 'slow down'],
    [401, '{"error":{"message":"Incorrect API key","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}', 'authentication', 'Incorrect API key'],
    [422, '{"detail":[{"loc":["body","messages"],"msg":"field required"}]}', 'invalid_request', '[{"loc":["body","messages"],"msg":"field required"}]'],
    [502, '<html>Bad Gateway</html>', 'server', '<html>Bad Gateway</html>'],
  ];
  for (const [status, text, kind, message] of bodies) {
    const err = parseBackendError(status, text);
    t.same(err, { status, kind, message }, text.slice(0, 40));
  }
  const nf = parseBackendError(404, '{"error":"model \'qwen3:8b\' not found"}');
  t.same(renderError('anthropic', nf), { status: 404, body: JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: "model 'qwen3:8b' not found" } }) });
  t.same(renderError('openai', nf), { status: 404, body: JSON.stringify({ error: { message: "model 'qwen3:8b' not found", type: 'invalid_request_error', param: null, code: 'model_not_found' } }) });
  t.same(renderError('ollama', nf), { status: 404, body: JSON.stringify({ error: "model 'qwen3:8b' not found" }) });
});

t.test('framing: SSE comments, CRLF, multi-line data, split UTF-8; NDJSON without trailing newline', async (t) => {
  const sse = createSseParser();
  const frames: { event: string | undefined; data: string }[] = [];
  const input = Buffer.from(': comment\r\nevent: a\r\ndata: x\r\ndata: ✓\r\n\r\ndata: {"k":1}\n\nevent: tail\ndata: last');
  for (let i = 0; i < input.length; i++) sse.push(input.subarray(i, i + 1), (f) => frames.push(f));
  sse.end((f) => frames.push(f));
  t.same(frames, [{ event: 'a', data: 'x\n✓' }, { event: undefined, data: '{"k":1}' }, { event: 'tail', data: 'last' }]);
  const lines: string[] = [];
  const nd = createLineParser();
  const text = Buffer.from('{"a":"é"}\n\n{"b":2}');
  for (let i = 0; i < text.length; i++) nd.push(text.subarray(i, i + 1), (l) => lines.push(l));
  nd.end((l) => lines.push(l));
  t.same(lines, ['{"a":"é"}', '{"b":2}']);
});

t.test('embeddings and model lists', async (t) => {
  const req = translate.parseEmbedRequest('openai', { model: 'e', input: 'hello', encoding_format: 'base64' });
  t.same(req, { model: 'e', input: ['hello'], base64: true });
  t.same(translate.renderEmbedRequest('ollama', req, 'nomic'), { model: 'nomic', input: ['hello'] });
  const out = translate.renderEmbedResponse('openai', translate.parseEmbedResponse('ollama', { embeddings: [[0.5, -1]], prompt_eval_count: 2 }), 'e', true);
  const b64 = ((out.data as { embedding: string }[])[0]!).embedding;
  t.same(Array.from(new Float32Array(new Uint8Array(Buffer.from(b64, 'base64')).buffer)), [0.5, -1]);
  t.same(translate.parseEmbedResponse('openai', out).vectors, [[0.5, -1]], 'base64 read back');
  for (const shape of SHAPES) t.same(translate.parseModelList(shape === 'anthropic' ? 'openai' : shape, translate.renderModelList(shape, ['a', 'b'])), ['a', 'b'], shape);
});

t.test('parallel tool calls with interleaved argument deltas keep their own arguments', async (t) => {
  const chunk = (delta: unknown, finish: string | null = null) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  const wire = [
    chunk({ role: 'assistant', content: null }),
    chunk({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'a', arguments: '{"x":' } }] }),
    chunk({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'b', arguments: '{"y":' } }] }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: '1}' } }] }),
    chunk({ tool_calls: [{ index: 1, function: { arguments: '2}' } }] }),
    chunk({}, 'tool_calls'),
    'data: [DONE]\n\n',
  ].join('');
  for (const client of SHAPES) {
    const enc = codecs[client].createEncoder('m', false);
    const out = decodeAll('openai', Buffer.from(wire), 11).map((e) => enc.encode(e)).join('');
    const got = assemble(decodeAll(client, Buffer.from(out), 64));
    t.same(got.tools, [{ name: 'a', args: { x: 1 } }, { name: 'b', args: { y: 2 } }], client);
    t.equal(got.stop, 'tool_calls');
  }
});
