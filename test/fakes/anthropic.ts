import type http from 'node:http';
import type { FakeBackend, FakeContext, FakeHandler, FakeOptions, RecordedRequest } from './server.js';
import { argPieces, sendJson, startFake, stopOf, tokensOf } from './server.js';
import { writeFrames } from './openai.js';

/**
 * Anthropic Messages as the public API reference gives it: `message` objects; SSE with
 * `event:` lines — message_start, content_block_start/delta/stop (text_delta, input_json_delta),
 * ping, message_delta (stop_reason + usage), message_stop — and `error` events; errors as
 * `{type:'error', error:{type,message}}`.
 */
const STOP = { stop: 'end_turn', length: 'max_tokens', tool_calls: 'tool_use', stop_sequence: 'stop_sequence' } as const;
const ERROR_TYPES: Record<number, string> = { 400: 'invalid_request_error', 401: 'authentication_error', 403: 'permission_error', 404: 'not_found_error', 413: 'request_too_large', 429: 'rate_limit_error', 500: 'api_error', 529: 'overloaded_error' };

export function anthropicError(res: http.ServerResponse, status: number, message: string): void {
  sendJson(res, status, { type: 'error', error: { type: ERROR_TYPES[status] ?? 'api_error', message }, request_id: 'req_fake' }, { 'request-id': 'req_fake' });
}

const frame = (event: string, data: unknown): string => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

async function messages(req: RecordedRequest, res: http.ServerResponse, fake: FakeContext): Promise<void> {
  const body = req.body ?? {};
  const script = fake.reply(req);
  if (script.error) return anthropicError(res, script.error.status, script.error.message ?? 'scripted error');
  const model = String(body.model);
  const usage = script.usage ?? { input: 10, output: 5 };
  const calls = (script.toolCalls ?? []).map((c, i) => ({ id: c.id ?? `toolu_fake${i}`, name: c.name, input: c.arguments }));
  const content = [...(script.text ? [{ type: 'text', text: script.text }] : []), ...calls.map((c) => ({ type: 'tool_use', ...c }))];
  if (body.stream !== true) {
    sendJson(res, 200, { id: 'msg_fake123', type: 'message', role: 'assistant', model, content, stop_reason: STOP[stopOf(script)], stop_sequence: null, usage: { input_tokens: usage.input, output_tokens: usage.output } });
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'request-id': 'req_fake' });
  const frames = [frame('message_start', { type: 'message_start', message: { id: 'msg_fake123', type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: usage.input, output_tokens: 1 } } })];
  let index = 0;
  const tokens = tokensOf(script);
  if (tokens.length) {
    frames.push(frame('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } }));
    frames.push(frame('ping', { type: 'ping' }));
    for (const t of tokens) frames.push(frame('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: t } }));
    frames.push(frame('content_block_stop', { type: 'content_block_stop', index }));
    index++;
  }
  for (const c of calls) {
    frames.push(frame('content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: c.id, name: c.name, input: {} } }));
    for (const piece of argPieces(JSON.stringify(c.input))) frames.push(frame('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: piece } }));
    frames.push(frame('content_block_stop', { type: 'content_block_stop', index }));
    index++;
  }
  frames.push(frame('message_delta', { type: 'message_delta', delta: { stop_reason: STOP[stopOf(script)], stop_sequence: null }, usage: { output_tokens: usage.output } }));
  frames.push(frame('message_stop', { type: 'message_stop' }));
  await writeFrames(res, fake, frames, script, () => frame('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }));
}

export function anthropicHandler(): FakeHandler {
  return async (req, res, fake) => {
    if (!(req.path === '/v1/messages' || req.path === '/v1/messages/count_tokens' || (req.path === '/v1/models' && req.headers['anthropic-version'] !== undefined))) return false;
    if (!fake.keyOk(req)) {
      anthropicError(res, 401, 'invalid x-api-key');
      return true;
    }
    if (req.method === 'GET') {
      const models = fake.options.models?.length ? fake.options.models : ['claude-fake'];
      sendJson(res, 200, { data: models.map((id) => ({ type: 'model', id, display_name: id, created_at: '2025-01-01T00:00:00Z' })), has_more: false, first_id: models[0], last_id: models[models.length - 1] });
      return true;
    }
    if (!req.body || typeof req.body.model !== 'string') {
      anthropicError(res, 400, 'model: Field required');
      return true;
    }
    if (!fake.modelKnown(req.body.model)) {
      anthropicError(res, 404, `model: ${req.body.model}`);
      return true;
    }
    if (req.path === '/v1/messages/count_tokens') {
      sendJson(res, 200, { input_tokens: 42 });
      return true;
    }
    if (typeof req.body.max_tokens !== 'number') {
      anthropicError(res, 400, 'max_tokens: Field required');
      return true;
    }
    await messages(req, res, fake);
    return true;
  };
}

export function createFakeAnthropic(options: FakeOptions = {}): Promise<FakeBackend> {
  return startFake(options, [anthropicHandler()]);
}
