import type { ApiError, ChatEvent, ChatMessage, ChatRequest, ChatResponse, Part, StopReason, StreamDecoder, StreamEncoder } from './chat.js';
import { isRecord, kindForStatus, newId, parseArgs } from './chat.js';
import { createLineParser } from './framing.js';

/** Ollama native chat (POST /api/chat): NDJSON when streaming, which is its default. */

type Json = Record<string, unknown>;

function toolCallParts(calls: unknown): Part[] {
  const parts: Part[] = [];
  for (const tc of Array.isArray(calls) ? calls : []) {
    if (!isRecord(tc) || !isRecord(tc.function)) continue;
    const args = tc.function.arguments;
    parts.push({ type: 'tool_call', id: typeof tc.id === 'string' ? tc.id : newId('call_'), name: String(tc.function.name ?? ''), arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}) });
  }
  return parts;
}

export function parseOllamaRequest(body: Json): ChatRequest {
  const messages: ChatMessage[] = [];
  const system: string[] = [];
  const pending = new Map<string, string[]>();
  const append = (role: ChatMessage['role'], parts: Part[]): void => {
    if (parts.length === 0) return;
    const last = messages[messages.length - 1];
    if (last && last.role === role) last.parts.push(...parts);
    else messages.push({ role, parts });
  };
  for (const m of Array.isArray(body.messages) ? body.messages : []) {
    if (!isRecord(m)) continue;
    const content = typeof m.content === 'string' ? m.content : '';
    if (m.role === 'system') {
      system.push(content);
    } else if (m.role === 'assistant') {
      const parts: Part[] = content ? [{ type: 'text', text: content }] : [];
      for (const call of toolCallParts(m.tool_calls)) {
        if (call.type !== 'tool_call') continue;
        // Ollama results name their tool, not a call id: pair them with the calls in order.
        const ids = pending.get(call.name) ?? [];
        ids.push(call.id);
        pending.set(call.name, ids);
        parts.push(call);
      }
      append('assistant', parts);
    } else if (m.role === 'tool') {
      const name = typeof m.tool_name === 'string' ? m.tool_name : typeof m.name === 'string' ? m.name : '';
      const id = pending.get(name)?.shift() ?? [...pending.values()].find((ids) => ids.length)?.shift() ?? newId('call_');
      const images = (Array.isArray(m.images) ? m.images : []).filter((i): i is string => typeof i === 'string').map((data) => ({ type: 'image' as const, mediaType: sniffImage(data), data }));
      append('user', [{ type: 'tool_result', id, ...(name ? { name } : {}), content, ...(images.length ? { images } : {}) }]);
    } else {
      const parts: Part[] = [];
      if (content) parts.push({ type: 'text', text: content });
      for (const img of Array.isArray(m.images) ? m.images : []) if (typeof img === 'string') parts.push({ type: 'image', mediaType: sniffImage(img), data: img });
      append('user', parts);
    }
  }
  const req: ChatRequest = { model: String(body.model ?? ''), messages, stream: body.stream !== false };
  if (system.length) req.system = system.join('\n\n');
  if (Array.isArray(body.tools)) {
    req.tools = body.tools.filter((t): t is Json => isRecord(t) && isRecord(t.function)).map((t) => {
      const f = t.function as Json;
      return { name: String(f.name), ...(typeof f.description === 'string' ? { description: f.description } : {}), parameters: isRecord(f.parameters) ? f.parameters : { type: 'object', properties: {} } };
    });
  }
  const o = isRecord(body.options) ? body.options : {};
  if (typeof o.num_predict === 'number' && o.num_predict > 0) req.maxTokens = o.num_predict;
  if (typeof o.temperature === 'number') req.temperature = o.temperature;
  if (typeof o.top_p === 'number') req.topP = o.top_p;
  if (typeof o.top_k === 'number') req.topK = o.top_k;
  if (Array.isArray(o.stop)) req.stop = o.stop.map(String);
  if (typeof o.seed === 'number') req.seed = o.seed;
  if (body.format === 'json') req.format = 'json';
  else if (isRecord(body.format)) req.format = body.format;
  return req;
}

/** Ollama images carry no media type; Anthropic needs one, so read the magic bytes. */
function sniffImage(b64: string): string {
  if (b64.startsWith('/9j/')) return 'image/jpeg';
  if (b64.startsWith('R0lGOD')) return 'image/gif';
  if (b64.startsWith('UklGR')) return 'image/webp';
  return 'image/png';
}

export function renderOllamaRequest(req: ChatRequest, model: string): Json {
  const messages: Json[] = [];
  if (req.system) messages.push({ role: 'system', content: req.system });
  for (const m of req.messages) {
    if (m.role === 'assistant') {
      const msg: Json = { role: 'assistant', content: m.parts.filter((p) => p.type === 'text').map((p) => p.text).join('') };
      const calls = m.parts.filter((p) => p.type === 'tool_call');
      if (calls.length) msg.tool_calls = calls.map((c) => ({ function: { name: c.name, arguments: parseArgs(c.arguments) } }));
      messages.push(msg);
      continue;
    }
    for (const p of m.parts) {
      if (p.type !== 'tool_result') continue;
      const images = (p.images ?? []).flatMap((i) => (i.data ? [i.data] : []));
      messages.push({ role: 'tool', content: p.content, ...(p.name ? { tool_name: p.name } : {}), ...(images.length ? { images } : {}) });
    }
    const text = m.parts.filter((p) => p.type === 'text').map((p) => p.text).join('');
    // Ollama takes base64 only; image URLs cannot be fetched here without leaving the sandbox's policy.
    const images = m.parts.flatMap((p) => (p.type === 'image' && p.data ? [p.data] : []));
    if (text || images.length) messages.push({ role: 'user', content: text, ...(images.length ? { images } : {}) });
  }
  const out: Json = { model, messages, stream: req.stream };
  if (req.tools?.length) out.tools = req.tools.map((t) => ({ type: 'function', function: { name: t.name, ...(t.description ? { description: t.description } : {}), parameters: t.parameters } }));
  const options: Json = {};
  if (req.maxTokens !== undefined) options.num_predict = req.maxTokens;
  if (req.temperature !== undefined) options.temperature = req.temperature;
  if (req.topP !== undefined) options.top_p = req.topP;
  if (req.topK !== undefined) options.top_k = req.topK;
  if (req.stop?.length) options.stop = req.stop;
  if (req.seed !== undefined) options.seed = req.seed;
  if (Object.keys(options).length) out.options = options;
  if (req.format) out.format = req.format;
  return out;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function stopOf(doneReason: unknown, sawTool: boolean): StopReason {
  if (sawTool) return 'tool_calls';
  return doneReason === 'length' ? 'length' : 'stop';
}

export function parseOllamaResponse(body: Json): ChatResponse {
  const message = isRecord(body.message) ? body.message : {};
  const parts: Part[] = [];
  if (typeof message.content === 'string' && message.content) parts.push({ type: 'text', text: message.content });
  parts.push(...toolCallParts(message.tool_calls));
  const res: ChatResponse = {
    parts,
    stopReason: stopOf(body.done_reason, parts.some((p) => p.type === 'tool_call')),
    usage: { inputTokens: num(body.prompt_eval_count), outputTokens: num(body.eval_count) },
  };
  if (typeof body.model === 'string') res.model = body.model;
  return res;
}

export function renderOllamaResponse(res: ChatResponse, model: string): Json {
  const message: Json = { role: 'assistant', content: res.parts.filter((p) => p.type === 'text').map((p) => p.text).join('') };
  const calls = res.parts.filter((p) => p.type === 'tool_call');
  if (calls.length) message.tool_calls = calls.map((c) => ({ function: { name: c.name, arguments: parseArgs(c.arguments) } }));
  return {
    model,
    created_at: new Date().toISOString(),
    message,
    done: true,
    done_reason: res.stopReason === 'length' ? 'length' : 'stop',
    total_duration: 0,
    load_duration: 0,
    prompt_eval_count: res.usage.inputTokens ?? 0,
    prompt_eval_duration: 0,
    eval_count: res.usage.outputTokens ?? 0,
    eval_duration: 0,
  };
}

export function createOllamaDecoder(): StreamDecoder {
  const lines = createLineParser();
  let started = false;
  let ended = false;
  let tools = 0;
  let out: ChatEvent[] = [];
  const onLine = (line: string): void => {
    let msg: Json;
    try {
      const parsed: unknown = JSON.parse(line);
      if (!isRecord(parsed)) return;
      msg = parsed;
    } catch {
      return;
    }
    if (typeof msg.error === 'string') {
      ended = true;
      out.push({ type: 'error', error: { status: 500, kind: 'server', message: msg.error } });
      return;
    }
    if (!started) {
      started = true;
      out.push({ type: 'start', model: typeof msg.model === 'string' ? msg.model : undefined });
    }
    const message = isRecord(msg.message) ? msg.message : {};
    if (typeof message.content === 'string' && message.content.length) out.push({ type: 'text', text: message.content });
    for (const call of toolCallParts(message.tool_calls)) {
      if (call.type !== 'tool_call') continue;
      const index = tools++;
      out.push({ type: 'tool_start', index, id: call.id, name: call.name });
      out.push({ type: 'tool_args', index, json: call.arguments });
    }
    if (msg.done === true) {
      ended = true;
      out.push({ type: 'finish', reason: stopOf(msg.done_reason, tools > 0) });
      out.push({ type: 'usage', inputTokens: num(msg.prompt_eval_count), outputTokens: num(msg.eval_count) });
      out.push({ type: 'end' });
    }
  };
  return {
    push(chunk, sink) {
      out = sink;
      lines.push(chunk, onLine);
    },
    end(sink) {
      out = sink;
      lines.end(onLine);
      if (!ended) sink.push({ type: 'error', error: { status: 502, kind: 'server', message: 'backend stream ended early' } });
    },
  };
}

export function ollamaErrorBody(err: ApiError): Json {
  return { error: err.message };
}

export function parseOllamaError(status: number, body: unknown): ApiError | undefined {
  if (!isRecord(body) || typeof body.error !== 'string') return undefined;
  return { status, kind: kindForStatus(status), message: body.error };
}

/**
 * Writes Ollama NDJSON. Ollama sends each tool call whole (arguments as an object), so argument
 * deltas are collected and the calls go out in one line when the turn finishes.
 */
export function createOllamaEncoder(model: string): StreamEncoder {
  const calls: { name: string; args: string }[] = [];
  let reason: StopReason = 'stop';
  let input = 0;
  let output = 0;
  let done = false;
  const line = (message: Json, extra = ''): string =>
    `{"model":${JSON.stringify(model)},"created_at":"${new Date().toISOString()}","message":${JSON.stringify(message)},"done":${extra ? `true${extra}` : 'false'}}\n`;
  const flushCalls = (): string => {
    if (calls.length === 0) return '';
    const toolCalls = calls.splice(0).filter(Boolean).map((c) => ({ function: { name: c.name, arguments: parseArgs(c.args) } }));
    return line({ role: 'assistant', content: '', tool_calls: toolCalls });
  };
  return {
    contentType: 'application/x-ndjson',
    encode(ev) {
      if (done) return '';
      switch (ev.type) {
        case 'start':
          if (ev.inputTokens !== undefined) input = ev.inputTokens;
          return '';
        case 'text':
          return ev.text.length ? line({ role: 'assistant', content: ev.text }) : '';
        case 'tool_start':
          calls[ev.index] = { name: ev.name, args: '' };
          return '';
        case 'tool_args': {
          const call = calls[ev.index];
          if (call) call.args += ev.json;
          return '';
        }
        case 'finish':
          reason = ev.reason;
          return flushCalls();
        case 'usage':
          if (ev.inputTokens !== undefined) input = ev.inputTokens;
          if (ev.outputTokens !== undefined) output = ev.outputTokens;
          return '';
        case 'end':
          done = true;
          return flushCalls() + line({ role: 'assistant', content: '' },
            `,"done_reason":"${reason === 'length' ? 'length' : 'stop'}","total_duration":0,"load_duration":0,"prompt_eval_count":${input},"prompt_eval_duration":0,"eval_count":${output},"eval_duration":0`);
        case 'error':
          done = true;
          return `${JSON.stringify(ollamaErrorBody(ev.error))}\n`;
      }
    },
  };
}
