import type http from 'node:http';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import type { FakeBackend, FakeContext, FakeHandler, FakeOptions, FakeUpgradeHandler, RecordedRequest, ReplyScript } from './server.js';
import { argPieces, sendJson, sleep, startFake, tokensOf } from './server.js';
import { openAIError } from './openai.js';

/**
 * The OpenAI Responses API as its reference gives it: `POST /v1/responses` answers a `response`
 * object, or with `stream: true` SSE events (`event: <type>`, every one with a sequence_number):
 * response.created, response.in_progress, output_item.added, content_part.added,
 * output_text.delta… / done, content_part.done, output_item.done, function_call_arguments.delta… /
 * done (custom tools: custom_tool_call_input.delta / done), response.completed (or .incomplete),
 * usage in the final response. `GET /v1/responses` with `Upgrade: websocket` is WebSocket mode:
 * each `response.create` message is answered with the same events as text messages; a turn may
 * continue an earlier one of the same connection with `previous_response_id`; `generate: false`
 * only warms the connection up. `POST /v1/responses/input_tokens` counts.
 */
type Json = Record<string, unknown>;

let counter = 0;
const nextId = (prefix: string): string => `${prefix}fake${(++counter).toString(36)}`;

function usageOf(script: ReplyScript): Json {
  const u = script.usage ?? { input: 10, output: 5 };
  return { input_tokens: u.input, input_tokens_details: { cached_tokens: 0 }, output_tokens: u.output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: u.input + u.output };
}

function responseShell(id: string, body: Json, status: string, output: Json[], usage: Json | null): Json {
  return {
    id, object: 'response', created_at: 1_700_000_000, status, background: false, error: null,
    incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    instructions: body.instructions ?? null, max_output_tokens: body.max_output_tokens ?? null, model: String(body.model),
    output, parallel_tool_calls: body.parallel_tool_calls ?? true, previous_response_id: body.previous_response_id ?? null,
    reasoning: { effort: null, summary: null }, store: body.store ?? true, temperature: 1, text: { format: { type: 'text' } },
    tool_choice: body.tool_choice ?? 'auto', tools: body.tools ?? [], top_p: 1, truncation: 'disabled', usage, user: null, metadata: {},
  };
}

/** The whole answer as Responses events (JSON objects), for SSE and WebSocket alike. */
export function responseEvents(body: Json, script: ReplyScript, id = nextId('resp_')): Json[] {
  let seq = 0;
  const ev = (type: string, fields: Json): Json => ({ type, sequence_number: seq++, ...fields });
  const events: Json[] = [ev('response.created', { response: responseShell(id, body, 'in_progress', [], null) }), ev('response.in_progress', { response: responseShell(id, body, 'in_progress', [], null) })];
  const output: Json[] = [];
  const tokens = tokensOf(script);
  if (tokens.length) {
    const itemId = nextId('msg_');
    const index = output.length;
    events.push(ev('response.output_item.added', { output_index: index, item: { id: itemId, type: 'message', status: 'in_progress', content: [], role: 'assistant' } }));
    events.push(ev('response.content_part.added', { item_id: itemId, output_index: index, content_index: 0, part: { type: 'output_text', annotations: [], logprobs: [], text: '' } }));
    for (const t of tokens) events.push(ev('response.output_text.delta', { item_id: itemId, output_index: index, content_index: 0, delta: t, logprobs: [] }));
    const text = tokens.join('');
    const part = { type: 'output_text', annotations: [], logprobs: [], text };
    events.push(ev('response.output_text.done', { item_id: itemId, output_index: index, content_index: 0, text, logprobs: [] }));
    events.push(ev('response.content_part.done', { item_id: itemId, output_index: index, content_index: 0, part }));
    const item = { id: itemId, type: 'message', status: 'completed', content: [part], role: 'assistant' };
    events.push(ev('response.output_item.done', { output_index: index, item }));
    output.push(item);
  }
  for (const [i, c] of (script.toolCalls ?? []).entries()) {
    const index = output.length;
    const callId = c.id ?? `call_fake${i}`;
    const ns = c.namespace ? { namespace: c.namespace } : {};
    if (c.input !== undefined) {
      const itemId = nextId('ctc_');
      events.push(ev('response.output_item.added', { output_index: index, item: { id: itemId, type: 'custom_tool_call', status: 'in_progress', call_id: callId, input: '', name: c.name, ...ns } }));
      for (const piece of argPieces(c.input)) events.push(ev('response.custom_tool_call_input.delta', { item_id: itemId, output_index: index, delta: piece }));
      events.push(ev('response.custom_tool_call_input.done', { item_id: itemId, output_index: index, input: c.input }));
      const item = { id: itemId, type: 'custom_tool_call', status: 'completed', call_id: callId, input: c.input, name: c.name, ...ns };
      events.push(ev('response.output_item.done', { output_index: index, item }));
      output.push(item);
      continue;
    }
    const itemId = nextId('fc_');
    const args = JSON.stringify(c.arguments);
    events.push(ev('response.output_item.added', { output_index: index, item: { id: itemId, type: 'function_call', status: 'in_progress', arguments: '', call_id: callId, name: c.name, ...ns } }));
    for (const piece of argPieces(args)) events.push(ev('response.function_call_arguments.delta', { item_id: itemId, output_index: index, delta: piece }));
    events.push(ev('response.function_call_arguments.done', { item_id: itemId, output_index: index, name: c.name, arguments: args }));
    const item = { id: itemId, type: 'function_call', status: 'completed', arguments: args, call_id: callId, name: c.name, ...ns };
    events.push(ev('response.output_item.done', { output_index: index, item }));
    output.push(item);
  }
  const status = script.stop === 'length' ? 'incomplete' : 'completed';
  events.push(ev(status === 'completed' ? 'response.completed' : 'response.incomplete', { response: responseShell(id, body, status, output, usageOf(script)) }));
  return events;
}

async function writeEvents(res: http.ServerResponse, fake: FakeContext, events: Json[], script: ReplyScript): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-request-id': 'req_fake' });
  let content = 0;
  for (const e of events) {
    const isContent = String(e.type).endsWith('.delta');
    if (isContent && script.stallAfter !== undefined && content >= script.stallAfter) return; // keep the socket open, send nothing more
    if (isContent && script.failAfter !== undefined && content >= script.failAfter) {
      await fake.write(res, `event: error\ndata: ${JSON.stringify({ type: 'error', code: 'server_error', message: 'scripted failure', param: null, sequence_number: e.sequence_number })}\n\n`);
      res.end();
      return;
    }
    if (isContent) content++;
    await fake.write(res, `event: ${String(e.type)}\ndata: ${JSON.stringify(e)}\n\n`);
    if (script.delayMs) await sleep(script.delayMs);
  }
  res.end();
}

function inputTokens(body: Json): number {
  return Math.max(1, Math.ceil(JSON.stringify(body.input ?? '').length / 4));
}

export function responsesHandler(): FakeHandler {
  return async (req, res, fake) => {
    if (req.method !== 'POST' || !(req.path === '/v1/responses' || req.path === '/v1/responses/input_tokens')) return false;
    if (!fake.keyOk(req)) {
      openAIError(res, 'openai', 401, 'Incorrect API key provided.');
      return true;
    }
    const body = req.body;
    if (!body || typeof body.model !== 'string') {
      openAIError(res, 'openai', 400, "Missing required parameter: 'model'.");
      return true;
    }
    if (req.path === '/v1/responses/input_tokens') {
      sendJson(res, 200, { object: 'response.input_tokens', input_tokens: inputTokens(body) });
      return true;
    }
    if (!fake.modelKnown(body.model)) {
      openAIError(res, 'openai', 404, `The model \`${body.model}\` does not exist or you do not have access to it.`);
      return true;
    }
    const script = fake.reply(req);
    if (script.error) {
      openAIError(res, 'openai', script.error.status, script.error.message ?? 'scripted error');
      return true;
    }
    const events = responseEvents(body, script);
    if (body.stream === true) await writeEvents(res, fake, events, script);
    else sendJson(res, 200, (events.at(-1) as { response: Json }).response, { 'x-request-id': 'req_fake' });
    return true;
  };
}

/** WebSocket mode: one connection, many turns; what a turn answered is remembered for the next. */
export function responsesUpgrade(): FakeUpgradeHandler {
  const wss = new WebSocketServer({ noServer: true });
  return (req, socket, head, fake) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    if (url.pathname !== '/v1/responses') return false;
    const handshake: RecordedRequest = { method: 'GET', path: url.pathname, query: url.search.slice(1), headers: req.headers, body: undefined, raw: '', aborted: false };
    if (!fake.keyOk(handshake)) {
      const body = JSON.stringify({ error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });
      socket.end(`HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
      return true;
    }
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const known = new Set<string>();
      const send = (e: Json): void => ws.send(JSON.stringify(e));
      ws.on('message', (data: Buffer) => {
        const raw = data.toString('utf8');
        let msg: Json;
        try {
          msg = JSON.parse(raw) as Json;
        } catch {
          send({ type: 'error', status: 400, error: { type: 'invalid_request_error', code: 'invalid_json', message: 'message is not JSON', param: null } });
          return;
        }
        const rec: RecordedRequest = { method: 'WS', path: url.pathname, query: '', headers: req.headers, body: msg, raw, aborted: false };
        fake.record(rec);
        if (msg.type !== 'response.create') {
          send({ type: 'error', status: 400, error: { type: 'invalid_request_error', code: 'unknown_event', message: `unknown client event type: ${String(msg.type)}`, param: 'type' } });
          return;
        }
        const previous = msg.previous_response_id;
        if (typeof previous === 'string' && !known.has(previous)) {
          send({ type: 'error', status: 400, error: { type: 'invalid_request_error', code: 'previous_response_not_found', message: `Previous response with id '${previous}' not found.`, param: 'previous_response_id' } });
          return;
        }
        if (typeof msg.model !== 'string' || !fake.modelKnown(msg.model)) {
          send({ type: 'error', status: 404, error: { type: 'invalid_request_error', code: 'model_not_found', message: `The model \`${String(msg.model)}\` does not exist or you do not have access to it.`, param: 'model' } });
          return;
        }
        const id = nextId('resp_');
        known.add(id);
        const script = msg.generate === false ? { usage: { input: 0, output: 0 } } : fake.reply(rec);
        if (script.error) {
          send({ type: 'error', status: script.error.status, error: { type: 'invalid_request_error', code: null, message: script.error.message ?? 'scripted error', param: null } });
          return;
        }
        for (const e of responseEvents(msg, script, id)) send(e);
      });
    });
    return true;
  };
}

export function createFakeResponses(options: FakeOptions = {}): Promise<FakeBackend> {
  return startFake(options, [responsesHandler()], [responsesUpgrade()]);
}
