import type { ApiError, ChatEvent, ChatMessage, ChatRequest, ChatResponse, ErrorKind, Part, StopReason, StreamDecoder, StreamEncoder, ToolChoice } from './chat.js';
import { isRecord, kindForStatus, newId } from './chat.js';
import { createSseParser, sseFrame } from './framing.js';

/** OpenAI Chat Completions (POST /v1/chat/completions): also NIM, vLLM, llama.cpp, Ollama's /v1. */

type Json = Record<string, unknown>;

const FINISH_TO_NEUTRAL: Record<string, StopReason> = { stop: 'stop', length: 'length', tool_calls: 'tool_calls', function_call: 'tool_calls', content_filter: 'content_filter' };
const FINISH_FROM_NEUTRAL: Record<StopReason, string> = { stop: 'stop', length: 'length', tool_calls: 'tool_calls', stop_sequence: 'stop', content_filter: 'content_filter' };

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((p) => (isRecord(p) && p.type === 'text' && typeof p.text === 'string' ? p.text : '')).join('');
}

function imagePart(url: string): Part {
  const m = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  return m ? { type: 'image', mediaType: m[1], data: m[2] } : { type: 'image', url };
}

function userParts(content: unknown): Part[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  if (!Array.isArray(content)) return [];
  const parts: Part[] = [];
  for (const p of content) {
    if (!isRecord(p)) continue;
    if (p.type === 'text' && typeof p.text === 'string') parts.push({ type: 'text', text: p.text });
    else if (p.type === 'image_url' && isRecord(p.image_url) && typeof p.image_url.url === 'string') parts.push(imagePart(p.image_url.url));
  }
  return parts;
}

function push(messages: ChatMessage[], role: ChatMessage['role'], parts: Part[]): void {
  if (parts.length === 0) return;
  const last = messages[messages.length - 1];
  // Tool results and the user turn after them form one turn for shapes that alternate strictly.
  if (last && last.role === role) last.parts.push(...parts);
  else messages.push({ role, parts });
}

export function parseOpenAIRequest(body: Json): ChatRequest {
  const messages: ChatMessage[] = [];
  const system: string[] = [];
  const toolNames = new Map<string, string>();
  for (const m of Array.isArray(body.messages) ? body.messages : []) {
    if (!isRecord(m)) continue;
    if (m.role === 'system' || m.role === 'developer') {
      system.push(contentText(m.content));
    } else if (m.role === 'assistant') {
      const parts: Part[] = [];
      const text = contentText(m.content);
      if (text) parts.push({ type: 'text', text });
      for (const tc of Array.isArray(m.tool_calls) ? m.tool_calls : []) {
        if (!isRecord(tc) || !isRecord(tc.function)) continue;
        const id = String(tc.id ?? newId('call_'));
        const name = String(tc.function.name ?? '');
        toolNames.set(id, name);
        parts.push({ type: 'tool_call', id, name, arguments: typeof tc.function.arguments === 'string' ? tc.function.arguments : JSON.stringify(tc.function.arguments ?? {}) });
      }
      push(messages, 'assistant', parts);
    } else if (m.role === 'tool') {
      const id = String(m.tool_call_id ?? '');
      const name = toolNames.get(id);
      push(messages, 'user', [{ type: 'tool_result', id, ...(name ? { name } : {}), content: contentText(m.content) }]);
    } else {
      push(messages, 'user', userParts(m.content));
    }
  }
  const req: ChatRequest = { model: String(body.model ?? ''), messages, stream: body.stream === true };
  if (system.length) req.system = system.join('\n\n');
  if (Array.isArray(body.tools)) {
    req.tools = body.tools.filter((t): t is Json => isRecord(t) && isRecord(t.function)).map((t) => {
      const f = t.function as Json;
      return { name: String(f.name), ...(typeof f.description === 'string' ? { description: f.description } : {}), parameters: isRecord(f.parameters) ? f.parameters : { type: 'object', properties: {} } };
    });
  }
  const tc = body.tool_choice;
  let choice: ToolChoice | undefined;
  if (tc === 'auto' || tc === 'none' || tc === 'required') choice = tc;
  else if (isRecord(tc) && isRecord(tc.function)) choice = { name: String(tc.function.name) };
  if (choice) req.toolChoice = choice;
  const max = typeof body.max_completion_tokens === 'number' ? body.max_completion_tokens : body.max_tokens;
  if (typeof max === 'number') req.maxTokens = max;
  if (typeof body.temperature === 'number') req.temperature = body.temperature;
  if (typeof body.top_p === 'number') req.topP = body.top_p;
  if (typeof body.stop === 'string') req.stop = [body.stop];
  else if (Array.isArray(body.stop)) req.stop = body.stop.map(String);
  if (isRecord(body.stream_options) && body.stream_options.include_usage === true) req.includeUsage = true;
  if (typeof body.seed === 'number') req.seed = body.seed;
  const rf = isRecord(body.response_format) ? body.response_format : undefined;
  if (rf?.type === 'json_object') req.format = 'json';
  else if (rf?.type === 'json_schema' && isRecord(rf.json_schema) && isRecord(rf.json_schema.schema)) req.format = rf.json_schema.schema;
  return req;
}

function imageUrl(part: Extract<Part, { type: 'image' }>): string {
  return part.url ?? `data:${part.mediaType ?? 'image/png'};base64,${part.data ?? ''}`;
}

export function renderOpenAIRequest(req: ChatRequest, model: string): Json {
  const messages: Json[] = [];
  if (req.system) messages.push({ role: 'system', content: req.system });
  for (const m of req.messages) {
    if (m.role === 'assistant') {
      const text = m.parts.filter((p) => p.type === 'text').map((p) => p.text).join('');
      const calls = m.parts.filter((p) => p.type === 'tool_call');
      const msg: Json = { role: 'assistant', content: text || (calls.length ? null : '') };
      if (calls.length) msg.tool_calls = calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } }));
      messages.push(msg);
      continue;
    }
    // OpenAI wants each tool result as its own message, before the user's words. Tool messages
    // carry text only: a tool's images follow in the user message.
    for (const p of m.parts) if (p.type === 'tool_result') messages.push({ role: 'tool', tool_call_id: p.id, content: p.content });
    const rest = m.parts.flatMap((p): Part[] => (p.type === 'text' || p.type === 'image' ? [p] : p.type === 'tool_result' ? (p.images ?? []) : []));
    if (rest.length === 0) continue;
    const content = rest.every((p) => p.type === 'text')
      ? rest.map((p) => (p.type === 'text' ? p.text : '')).join('')
      : rest.map((p) => (p.type === 'text' ? { type: 'text', text: p.text } : { type: 'image_url', image_url: { url: imageUrl(p as Extract<Part, { type: 'image' }>) } }));
    messages.push({ role: 'user', content });
  }
  const out: Json = { model, messages };
  if (req.tools?.length) out.tools = req.tools.map((t) => ({ type: 'function', function: { name: t.name, ...(t.description ? { description: t.description } : {}), parameters: t.parameters } }));
  if (req.toolChoice) out.tool_choice = typeof req.toolChoice === 'string' ? req.toolChoice : { type: 'function', function: { name: req.toolChoice.name } };
  if (req.maxTokens !== undefined) out.max_tokens = req.maxTokens;
  if (req.temperature !== undefined) out.temperature = req.temperature;
  if (req.topP !== undefined) out.top_p = req.topP;
  if (req.stop?.length) out.stop = req.stop;
  if (req.seed !== undefined) out.seed = req.seed;
  if (req.format) out.response_format = req.format === 'json' ? { type: 'json_object' } : { type: 'json_schema', json_schema: { name: 'response', schema: req.format } };
  if (req.stream) {
    out.stream = true;
    // Always ask: the audit event needs token counts even when the client did not.
    out.stream_options = { include_usage: true };
  }
  return out;
}

export function parseOpenAIResponse(body: Json): ChatResponse {
  const choice = Array.isArray(body.choices) && isRecord(body.choices[0]) ? body.choices[0] : {};
  const message = isRecord(choice.message) ? choice.message : {};
  const parts: Part[] = [];
  const text = contentText(message.content);
  if (text) parts.push({ type: 'text', text });
  for (const tc of Array.isArray(message.tool_calls) ? message.tool_calls : []) {
    if (!isRecord(tc) || !isRecord(tc.function)) continue;
    const args = tc.function.arguments;
    parts.push({ type: 'tool_call', id: String(tc.id ?? newId('call_')), name: String(tc.function.name ?? ''), arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}) });
  }
  const usage = isRecord(body.usage) ? body.usage : {};
  const res: ChatResponse = {
    parts,
    stopReason: FINISH_TO_NEUTRAL[String(choice.finish_reason)] ?? 'stop',
    usage: { inputTokens: num(usage.prompt_tokens), outputTokens: num(usage.completion_tokens) },
  };
  if (typeof body.id === 'string') res.id = body.id;
  if (typeof body.model === 'string') res.model = body.model;
  return res;
}

export function renderOpenAIResponse(res: ChatResponse, model: string): Json {
  const text = res.parts.filter((p) => p.type === 'text').map((p) => p.text).join('');
  const calls = res.parts.filter((p) => p.type === 'tool_call');
  const message: Json = { role: 'assistant', content: text || (calls.length ? null : ''), refusal: null };
  if (calls.length) message.tool_calls = calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } }));
  const input = res.usage.inputTokens ?? 0;
  const output = res.usage.outputTokens ?? 0;
  const reason = res.stopReason === 'stop' && calls.length ? 'tool_calls' : res.stopReason;
  return {
    id: res.id?.startsWith('chatcmpl-') ? res.id : newId('chatcmpl-'),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: FINISH_FROM_NEUTRAL[reason] }],
    usage: { prompt_tokens: input, completion_tokens: output, total_tokens: input + output },
  };
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export function createOpenAIDecoder(): StreamDecoder {
  const sse = createSseParser();
  const seenTools = new Set<number>();
  let started = false;
  let ended = false;
  let out: ChatEvent[] = [];
  const onFrame = (frame: { data: string }): void => {
    if (frame.data === '[DONE]') {
      ended = true;
      out.push({ type: 'end' });
      return;
    }
    let chunk: Json;
    try {
      const parsed: unknown = JSON.parse(frame.data);
      if (!isRecord(parsed)) return;
      chunk = parsed;
    } catch {
      return;
    }
    if (chunk.error !== undefined) {
      ended = true;
      out.push({ type: 'error', error: parseOpenAIError(500, chunk) ?? { status: 500, kind: 'server', message: 'backend error' } });
      return;
    }
    if (!started) {
      started = true;
      out.push({ type: 'start', id: typeof chunk.id === 'string' ? chunk.id : undefined, model: typeof chunk.model === 'string' ? chunk.model : undefined });
    }
    const choice = Array.isArray(chunk.choices) && isRecord(chunk.choices[0]) ? chunk.choices[0] : undefined;
    if (choice) {
      const delta = isRecord(choice.delta) ? choice.delta : {};
      if (typeof delta.content === 'string' && delta.content.length > 0) out.push({ type: 'text', text: delta.content });
      if (Array.isArray(delta.tool_calls)) {
        for (const tc of delta.tool_calls) {
          if (!isRecord(tc)) continue;
          const index = typeof tc.index === 'number' ? tc.index : 0;
          const fn = isRecord(tc.function) ? tc.function : {};
          if (!seenTools.has(index)) {
            seenTools.add(index);
            out.push({ type: 'tool_start', index, id: typeof tc.id === 'string' ? tc.id : newId('call_'), name: String(fn.name ?? '') });
          }
          if (typeof fn.arguments === 'string' && fn.arguments.length > 0) out.push({ type: 'tool_args', index, json: fn.arguments });
        }
      }
      if (typeof choice.finish_reason === 'string') out.push({ type: 'finish', reason: FINISH_TO_NEUTRAL[choice.finish_reason] ?? 'stop' });
    }
    if (isRecord(chunk.usage)) out.push({ type: 'usage', inputTokens: num(chunk.usage.prompt_tokens), outputTokens: num(chunk.usage.completion_tokens) });
  };
  return {
    push(chunk, sink) {
      out = sink;
      sse.push(chunk, onFrame);
    },
    end(sink) {
      out = sink;
      sse.end(onFrame);
      if (!ended) sink.push({ type: 'error', error: { status: 502, kind: 'server', message: 'backend stream ended early' } });
    },
  };
}

const TYPE_FROM_KIND: Record<ErrorKind, { type: string; code: string | null }> = {
  invalid_request: { type: 'invalid_request_error', code: null },
  authentication: { type: 'invalid_request_error', code: 'invalid_api_key' },
  permission: { type: 'invalid_request_error', code: 'permission_denied' },
  not_found: { type: 'invalid_request_error', code: 'model_not_found' },
  too_large: { type: 'invalid_request_error', code: 'request_too_large' },
  rate_limit: { type: 'requests', code: 'rate_limit_exceeded' },
  overloaded: { type: 'server_error', code: 'overloaded' },
  timeout: { type: 'server_error', code: 'timeout' },
  server: { type: 'server_error', code: null },
};

export function openAIErrorBody(err: ApiError): Json {
  const { type, code } = TYPE_FROM_KIND[err.kind];
  return { error: { message: err.message, type, param: null, code } };
}

/** OpenAI `{error:{message,type,code}}`, vLLM/NIM `{object:'error',message,type,code}`, FastAPI `{detail}`. */
export function parseOpenAIError(status: number, body: unknown): ApiError | undefined {
  if (!isRecord(body)) return undefined;
  const kindFrom = (code: unknown, type: unknown): ErrorKind | undefined => {
    if (code === 'model_not_found' || type === 'NotFoundError') return 'not_found';
    if (code === 'invalid_api_key' || type === 'authentication_error') return 'authentication';
    if (code === 'rate_limit_exceeded') return 'rate_limit';
    return undefined;
  };
  if (isRecord(body.error)) {
    const e = body.error;
    const st = typeof e.code === 'number' && e.code >= 400 && e.code < 600 ? e.code : status;
    return { status: st, kind: kindFrom(e.code, e.type) ?? kindForStatus(st), message: String(e.message ?? '') };
  }
  if (body.object === 'error' && typeof body.message === 'string') {
    const st = typeof body.code === 'number' && body.code >= 400 && body.code < 600 ? body.code : status;
    return { status: st, kind: kindFrom(body.code, body.type) ?? kindForStatus(st), message: body.message };
  }
  if (body.detail !== undefined) {
    return { status, kind: kindForStatus(status), message: typeof body.detail === 'string' ? body.detail : JSON.stringify(body.detail) };
  }
  return undefined;
}

/** Writes OpenAI chunks from neutral events; usage goes in a final empty-choices chunk when asked for. */
export function createOpenAIEncoder(model: string, includeUsage: boolean): StreamEncoder {
  const id = newId('chatcmpl-');
  const created = Math.floor(Date.now() / 1000);
  const head = `{"id":${JSON.stringify(id)},"object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)},"system_fingerprint":null,"choices":`;
  const tail = includeUsage ? ',"usage":null}' : '}';
  let started = false;
  let sawTool = false;
  let finished = false;
  let done = false;
  let input = 0;
  let output = 0;
  const chunk = (delta: string, finish: string | null = null): string =>
    `data: ${head}[{"index":0,"delta":${delta},"logprobs":null,"finish_reason":${finish === null ? 'null' : JSON.stringify(finish)}}]${tail}\n\n`;
  const first = (): string => {
    started = true;
    return chunk('{"role":"assistant","content":"","refusal":null}');
  };
  return {
    contentType: 'text/event-stream; charset=utf-8',
    encode(ev) {
      if (done) return '';
      let out = !started && ev.type !== 'error' ? first() : '';
      switch (ev.type) {
        case 'start':
          if (ev.inputTokens !== undefined) input = ev.inputTokens;
          return out;
        case 'text':
          return ev.text.length ? out + chunk(`{"content":${JSON.stringify(ev.text)}}`) : out;
        case 'tool_start':
          sawTool = true;
          return out + chunk(`{"tool_calls":[{"index":${ev.index},"id":${JSON.stringify(ev.id || newId('call_'))},"type":"function","function":{"name":${JSON.stringify(ev.name)},"arguments":""}}]}`);
        case 'tool_args':
          return out + chunk(`{"tool_calls":[{"index":${ev.index},"function":{"arguments":${JSON.stringify(ev.json)}}}]}`);
        case 'finish': {
          if (finished) return out;
          finished = true;
          const reason = ev.reason === 'stop' && sawTool ? 'tool_calls' : ev.reason;
          return out + chunk('{}', FINISH_FROM_NEUTRAL[reason]);
        }
        case 'usage':
          if (ev.inputTokens !== undefined) input = ev.inputTokens;
          if (ev.outputTokens !== undefined) output = ev.outputTokens;
          return out;
        case 'end':
          done = true;
          if (!finished) out += chunk('{}', sawTool ? 'tool_calls' : 'stop');
          if (includeUsage) out += `data: ${head}[],"usage":{"prompt_tokens":${input},"completion_tokens":${output},"total_tokens":${input + output}}}\n\n`;
          return `${out}data: [DONE]\n\n`;
        case 'error':
          done = true;
          return out + sseFrame(undefined, openAIErrorBody(ev.error));
      }
    },
  };
}
