import type { ChatRequest, ChatResponse, Part, StopReason, StreamEncoder } from './chat.js';
import { isRecord, newId } from './chat.js';

/**
 * Legacy single-prompt APIs as clients of any chat backend: OpenAI `POST /v1/completions` and
 * Ollama `POST /api/generate`. The prompt becomes one user turn; the answer's text comes back in
 * the completion shape. (A backend with the same native endpoint gets the call passed through.)
 */
type Json = Record<string, unknown>;

export interface ClientCodec {
  parseRequest(body: Json): ChatRequest;
  renderResponse(res: ChatResponse, model: string): Json;
  createEncoder(model: string, includeUsage: boolean): StreamEncoder;
  streamType: string;
}

const textOf = (res: ChatResponse): string => res.parts.filter((p): p is Extract<Part, { type: 'text' }> => p.type === 'text').map((p) => p.text).join('');
const FINISH: Record<StopReason, string> = { stop: 'stop', length: 'length', tool_calls: 'stop', stop_sequence: 'stop', content_filter: 'content_filter' };

function promptOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.join('\n');
  return '';
}

export const openAICompletions: ClientCodec = {
  parseRequest(body) {
    const req: ChatRequest = { model: String(body.model ?? ''), messages: [{ role: 'user', parts: [{ type: 'text', text: promptOf(body.prompt) }] }], stream: body.stream === true };
    if (typeof body.max_tokens === 'number') req.maxTokens = body.max_tokens;
    if (typeof body.temperature === 'number') req.temperature = body.temperature;
    if (typeof body.top_p === 'number') req.topP = body.top_p;
    if (typeof body.seed === 'number') req.seed = body.seed;
    if (typeof body.stop === 'string') req.stop = [body.stop];
    else if (Array.isArray(body.stop)) req.stop = body.stop.map(String);
    if (isRecord(body.stream_options) && body.stream_options.include_usage === true) req.includeUsage = true;
    return req;
  },
  renderResponse(res, model) {
    const input = res.usage.inputTokens ?? 0;
    const output = res.usage.outputTokens ?? 0;
    return {
      id: newId('cmpl-'),
      object: 'text_completion',
      created: Math.floor(Date.now() / 1000),
      model,
      choices: [{ text: textOf(res), index: 0, logprobs: null, finish_reason: FINISH[res.stopReason] }],
      usage: { prompt_tokens: input, completion_tokens: output, total_tokens: input + output },
    };
  },
  createEncoder(model, includeUsage) {
    const head = `{"id":${JSON.stringify(newId('cmpl-'))},"object":"text_completion","created":${Math.floor(Date.now() / 1000)},"model":${JSON.stringify(model)},"choices":`;
    let input = 0;
    let output = 0;
    let finished = false;
    let done = false;
    const chunk = (text: string, finish: string | null) => `data: ${head}[{"text":${JSON.stringify(text)},"index":0,"logprobs":null,"finish_reason":${finish === null ? 'null' : JSON.stringify(finish)}}]}\n\n`;
    return {
      contentType: 'text/event-stream; charset=utf-8',
      encode(ev) {
        if (done) return '';
        switch (ev.type) {
          case 'start':
            if (ev.inputTokens !== undefined) input = ev.inputTokens;
            return '';
          case 'text':
            return ev.text ? chunk(ev.text, null) : '';
          case 'finish':
            finished = true;
            return chunk('', FINISH[ev.reason]);
          case 'usage':
            input = ev.inputTokens ?? input;
            output = ev.outputTokens ?? output;
            return '';
          case 'end': {
            done = true;
            let out = finished ? '' : chunk('', 'stop');
            if (includeUsage) out += `data: ${head}[],"usage":{"prompt_tokens":${input},"completion_tokens":${output},"total_tokens":${input + output}}}\n\n`;
            return `${out}data: [DONE]\n\n`;
          }
          case 'error':
            done = true;
            return `data: ${JSON.stringify({ error: { message: ev.error.message, type: ev.error.kind === 'server' ? 'server_error' : 'invalid_request_error', param: null, code: null } })}\n\n`;
          default:
            return '';
        }
      },
    };
  },
  streamType: 'text/event-stream; charset=utf-8',
};

export const ollamaGenerate: ClientCodec = {
  parseRequest(body) {
    const parts: Part[] = [{ type: 'text', text: typeof body.prompt === 'string' ? body.prompt : '' }];
    for (const img of Array.isArray(body.images) ? body.images : []) if (typeof img === 'string') parts.push({ type: 'image', mediaType: 'image/png', data: img });
    const req: ChatRequest = { model: String(body.model ?? ''), messages: [{ role: 'user', parts }], stream: body.stream !== false };
    if (typeof body.system === 'string' && body.system) req.system = body.system;
    const o = isRecord(body.options) ? body.options : {};
    if (typeof o.num_predict === 'number' && o.num_predict > 0) req.maxTokens = o.num_predict;
    if (typeof o.temperature === 'number') req.temperature = o.temperature;
    if (typeof o.top_p === 'number') req.topP = o.top_p;
    if (typeof o.top_k === 'number') req.topK = o.top_k;
    if (typeof o.seed === 'number') req.seed = o.seed;
    if (Array.isArray(o.stop)) req.stop = o.stop.map(String);
    if (body.format === 'json') req.format = 'json';
    else if (isRecord(body.format)) req.format = body.format;
    return req;
  },
  renderResponse(res, model) {
    return {
      model,
      created_at: new Date().toISOString(),
      response: textOf(res),
      done: true,
      done_reason: res.stopReason === 'length' ? 'length' : 'stop',
      context: [],
      total_duration: 0,
      load_duration: 0,
      prompt_eval_count: res.usage.inputTokens ?? 0,
      prompt_eval_duration: 0,
      eval_count: res.usage.outputTokens ?? 0,
      eval_duration: 0,
    };
  },
  createEncoder(model) {
    let reason: StopReason = 'stop';
    let input = 0;
    let output = 0;
    let done = false;
    const line = (text: string, extra = '') => `{"model":${JSON.stringify(model)},"created_at":"${new Date().toISOString()}","response":${JSON.stringify(text)},"done":${extra ? `true${extra}` : 'false'}}\n`;
    return {
      contentType: 'application/x-ndjson',
      encode(ev) {
        if (done) return '';
        switch (ev.type) {
          case 'start':
            if (ev.inputTokens !== undefined) input = ev.inputTokens;
            return '';
          case 'text':
            return ev.text ? line(ev.text) : '';
          case 'finish':
            reason = ev.reason;
            return '';
          case 'usage':
            input = ev.inputTokens ?? input;
            output = ev.outputTokens ?? output;
            return '';
          case 'end':
            done = true;
            return line('', `,"done_reason":"${reason === 'length' ? 'length' : 'stop'}","context":[],"total_duration":0,"load_duration":0,"prompt_eval_count":${input},"prompt_eval_duration":0,"eval_count":${output},"eval_duration":0`);
          case 'error':
            done = true;
            return `${JSON.stringify({ error: ev.error.message })}\n`;
          default:
            return '';
        }
      },
    };
  },
  streamType: 'application/x-ndjson',
};
