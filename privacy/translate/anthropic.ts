import type { ApiError, ChatEvent, ChatMessage, ChatRequest, ChatResponse, ErrorKind, ImagePart, Part, StopReason, StreamDecoder, StreamEncoder, ToolChoice } from './chat.js';
import { isRecord, kindForStatus, newId, parseArgs } from './chat.js';
import { createSseParser, sseFrame } from './framing.js';

/** Anthropic Messages API (POST /v1/messages), request and response, streaming and not. */

type Json = Record<string, unknown>;

const STOP_TO_NEUTRAL: Record<string, StopReason> = {
  end_turn: 'stop',
  max_tokens: 'length',
  tool_use: 'tool_calls',
  stop_sequence: 'stop_sequence',
  refusal: 'content_filter',
  pause_turn: 'stop',
};
const STOP_FROM_NEUTRAL: Record<StopReason, string> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  stop_sequence: 'stop_sequence',
  content_filter: 'refusal',
};

/** Text blocks joined (system blocks are separate paragraphs: `\n` between them); a `tool_reference` says which tool it loaded. */
function textOf(content: unknown, separator = ''): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  const texts: string[] = [];
  for (const b of content) {
    if (!isRecord(b)) continue;
    if (b.type === 'text' && typeof b.text === 'string') texts.push(b.text);
    else if (b.type === 'tool_reference' && typeof b.tool_name === 'string') texts.push(`[tool loaded: ${b.tool_name}]`);
  }
  return texts.join(separator);
}

function imageOf(block: Record<string, unknown>): ImagePart | undefined {
  if (block.type !== 'image' || !isRecord(block.source)) return undefined;
  const src = block.source;
  if (src.type === 'base64') return { type: 'image', mediaType: String(src.media_type ?? 'image/png'), data: String(src.data ?? '') };
  if (src.type === 'url') return { type: 'image', url: String(src.url ?? '') };
  return undefined;
}

function partsOf(content: unknown, toolNames?: Map<string, string>): Part[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  if (!Array.isArray(content)) return [];
  const parts: Part[] = [];
  for (const block of content) {
    if (!isRecord(block)) continue;
    if (block.type === 'text' && typeof block.text === 'string') parts.push({ type: 'text', text: block.text });
    else if (block.type === 'image') {
      const image = imageOf(block);
      if (image) parts.push(image);
    } else if (block.type === 'tool_use') {
      const id = String(block.id ?? '');
      const name = String(block.name ?? '');
      toolNames?.set(id, name);
      parts.push({ type: 'tool_call', id, name, arguments: JSON.stringify(block.input ?? {}) });
    } else if (block.type === 'tool_result') {
      const id = String(block.tool_use_id ?? '');
      // Ollama names the tool a result belongs to; Anthropic only gives the call id.
      const name = toolNames?.get(id);
      const images = Array.isArray(block.content) ? block.content.filter(isRecord).map(imageOf).filter((x): x is ImagePart => x !== undefined) : [];
      parts.push({ type: 'tool_result', id, ...(name ? { name } : {}), content: textOf(block.content), ...(block.is_error === true ? { isError: true } : {}), ...(images.length ? { images } : {}) });
    }
  }
  return parts;
}

export function parseAnthropicRequest(body: Json): ChatRequest {
  const messages: ChatMessage[] = [];
  const toolNames = new Map<string, string>();
  // Claude Code also sends `system` messages between turns; other shapes have one system prompt, so they join it.
  const system = [textOf(body.system, '\n')];
  for (const m of Array.isArray(body.messages) ? body.messages : []) {
    if (!isRecord(m)) continue;
    if (m.role === 'system') {
      system.push(textOf(m.content, '\n'));
      continue;
    }
    const role = m.role === 'assistant' ? 'assistant' : 'user';
    const parts = partsOf(m.content, toolNames);
    const last = messages[messages.length - 1];
    if (last && last.role === role) last.parts.push(...parts);
    else messages.push({ role, parts });
  }
  const req: ChatRequest = { model: String(body.model ?? ''), messages, stream: body.stream === true };
  const systemText = system.filter(Boolean).join('\n');
  if (systemText) req.system = systemText;
  if (Array.isArray(body.tools)) {
    req.tools = body.tools.filter(isRecord).filter((t) => typeof t.name === 'string' && t.input_schema !== undefined).map((t) => ({
      name: String(t.name),
      ...(typeof t.description === 'string' ? { description: t.description } : {}),
      parameters: isRecord(t.input_schema) ? t.input_schema : { type: 'object' },
    }));
  }
  if (isRecord(body.tool_choice)) {
    const tc = body.tool_choice;
    const choice: ToolChoice | undefined = tc.type === 'any' ? 'required' : tc.type === 'none' ? 'none' : tc.type === 'tool' ? { name: String(tc.name) } : tc.type === 'auto' ? 'auto' : undefined;
    if (choice) req.toolChoice = choice;
  }
  if (typeof body.max_tokens === 'number') req.maxTokens = body.max_tokens;
  if (typeof body.temperature === 'number') req.temperature = body.temperature;
  if (typeof body.top_p === 'number') req.topP = body.top_p;
  if (typeof body.top_k === 'number') req.topK = body.top_k;
  if (Array.isArray(body.stop_sequences)) req.stop = body.stop_sequences.map(String);
  // Structured outputs: output_config.format (and the older top-level output_format).
  const format = isRecord(body.output_config) && isRecord(body.output_config.format) ? body.output_config.format : isRecord(body.output_format) ? body.output_format : undefined;
  if (format?.type === 'json_schema' && isRecord(format.schema)) req.format = format.schema;
  return req;
}

function blockOf(part: Part): Json {
  switch (part.type) {
    case 'text':
      return { type: 'text', text: part.text };
    case 'image':
      return part.url
        ? { type: 'image', source: { type: 'url', url: part.url } }
        : { type: 'image', source: { type: 'base64', media_type: part.mediaType ?? 'image/png', data: part.data ?? '' } };
    case 'tool_call':
      return { type: 'tool_use', id: part.id, name: part.name, input: parseArgs(part.arguments) };
    case 'tool_result':
      return {
        type: 'tool_result',
        tool_use_id: part.id,
        content: part.images?.length ? [...(part.content ? [{ type: 'text', text: part.content }] : []), ...part.images.map(blockOf)] : part.content,
        ...(part.isError ? { is_error: true } : {}),
      };
  }
}

/** Anthropic requires max_tokens; other shapes may omit it. */
const DEFAULT_MAX_TOKENS = 4096;

export function renderAnthropicRequest(req: ChatRequest, model: string): Json {
  const out: Json = {
    model,
    max_tokens: req.maxTokens ?? DEFAULT_MAX_TOKENS,
    messages: req.messages.map((m) => ({ role: m.role, content: m.parts.map(blockOf) })),
  };
  if (req.system) out.system = req.system;
  if (req.tools?.length) out.tools = req.tools.map((t) => ({ name: t.name, ...(t.description ? { description: t.description } : {}), input_schema: t.parameters }));
  if (req.toolChoice) {
    const c = req.toolChoice;
    out.tool_choice = c === 'required' ? { type: 'any' } : c === 'auto' || c === 'none' ? { type: c } : { type: 'tool', name: c.name };
  }
  if (req.temperature !== undefined) out.temperature = req.temperature;
  if (req.topP !== undefined) out.top_p = req.topP;
  if (req.topK !== undefined) out.top_k = req.topK;
  if (req.stop?.length) out.stop_sequences = req.stop;
  // Anthropic has no plain-JSON mode: any JSON object is the closest schema.
  if (req.format) out.output_config = { format: { type: 'json_schema', schema: req.format === 'json' ? { type: 'object' } : req.format } };
  if (req.stream) out.stream = true;
  return out;
}

export function parseAnthropicResponse(body: Json): ChatResponse {
  const usage = isRecord(body.usage) ? body.usage : {};
  const res: ChatResponse = {
    parts: partsOf(body.content),
    stopReason: STOP_TO_NEUTRAL[String(body.stop_reason)] ?? 'stop',
    usage: { inputTokens: num(usage.input_tokens), outputTokens: num(usage.output_tokens) },
  };
  if (typeof body.id === 'string') res.id = body.id;
  if (typeof body.model === 'string') res.model = body.model;
  if (typeof body.stop_sequence === 'string') res.stopSequence = body.stop_sequence;
  return res;
}

export function renderAnthropicResponse(res: ChatResponse, model: string): Json {
  return {
    id: res.id?.startsWith('msg_') ? res.id : newId('msg_'),
    type: 'message',
    role: 'assistant',
    model,
    content: res.parts.filter((p) => p.type === 'text' || p.type === 'tool_call').map(blockOf),
    stop_reason: STOP_FROM_NEUTRAL[res.stopReason],
    stop_sequence: res.stopSequence ?? null,
    usage: { input_tokens: res.usage.inputTokens ?? 0, output_tokens: res.usage.outputTokens ?? 0 },
  };
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export function createAnthropicDecoder(): StreamDecoder {
  const sse = createSseParser();
  /** Anthropic numbers content blocks; neutral tool indexes count tool calls only. */
  const toolIndexByBlock = new Map<number, number>();
  let ended = false;
  let out: ChatEvent[] = [];
  const onFrame = (frame: { event: string | undefined; data: string }): void => {
    let msg: Json;
    try {
      const parsed: unknown = JSON.parse(frame.data);
      if (!isRecord(parsed)) return;
      msg = parsed;
    } catch {
      return;
    }
    switch (msg.type ?? frame.event) {
      case 'message_start': {
        const m = isRecord(msg.message) ? msg.message : {};
        const usage = isRecord(m.usage) ? m.usage : {};
        out.push({ type: 'start', id: typeof m.id === 'string' ? m.id : undefined, model: typeof m.model === 'string' ? m.model : undefined, inputTokens: num(usage.input_tokens) });
        break;
      }
      case 'content_block_start': {
        const block = isRecord(msg.content_block) ? msg.content_block : {};
        if (block.type === 'tool_use') {
          const index = toolIndexByBlock.size;
          toolIndexByBlock.set(Number(msg.index), index);
          out.push({ type: 'tool_start', index, id: String(block.id ?? ''), name: String(block.name ?? '') });
        } else if (block.type === 'text' && typeof block.text === 'string' && block.text) {
          out.push({ type: 'text', text: block.text });
        }
        break;
      }
      case 'content_block_delta': {
        const delta = isRecord(msg.delta) ? msg.delta : {};
        if (delta.type === 'text_delta' && typeof delta.text === 'string') out.push({ type: 'text', text: delta.text });
        else if (delta.type === 'input_json_delta' && typeof delta.partial_json === 'string') {
          const index = toolIndexByBlock.get(Number(msg.index));
          if (index !== undefined) out.push({ type: 'tool_args', index, json: delta.partial_json });
        }
        break;
      }
      case 'message_delta': {
        const delta = isRecord(msg.delta) ? msg.delta : {};
        const usage = isRecord(msg.usage) ? msg.usage : {};
        if (delta.stop_reason != null) {
          out.push({ type: 'finish', reason: STOP_TO_NEUTRAL[String(delta.stop_reason)] ?? 'stop', ...(typeof delta.stop_sequence === 'string' ? { stopSequence: delta.stop_sequence } : {}) });
        }
        out.push({ type: 'usage', inputTokens: num(usage.input_tokens), outputTokens: num(usage.output_tokens) });
        break;
      }
      case 'message_stop':
        ended = true;
        out.push({ type: 'end' });
        break;
      case 'error': {
        const err = isRecord(msg.error) ? msg.error : {};
        ended = true;
        out.push({ type: 'error', error: { status: statusForAnthropicType(String(err.type)), kind: KIND_FROM_TYPE[String(err.type)] ?? 'server', message: String(err.message ?? 'error') } });
        break;
      }
    }
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

const TYPE_FROM_KIND: Record<ErrorKind, string> = {
  invalid_request: 'invalid_request_error',
  authentication: 'authentication_error',
  permission: 'permission_error',
  not_found: 'not_found_error',
  too_large: 'request_too_large',
  rate_limit: 'rate_limit_error',
  overloaded: 'overloaded_error',
  timeout: 'timeout_error',
  server: 'api_error',
};
const KIND_FROM_TYPE: Record<string, ErrorKind> = Object.fromEntries(Object.entries(TYPE_FROM_KIND).map(([k, v]) => [v, k as ErrorKind]));

function statusForAnthropicType(type: string): number {
  const statuses: Record<string, number> = { invalid_request_error: 400, authentication_error: 401, permission_error: 403, not_found_error: 404, request_too_large: 413, rate_limit_error: 429, overloaded_error: 529, timeout_error: 504 };
  return statuses[type] ?? 500;
}

export function anthropicErrorBody(err: ApiError): Json {
  return { type: 'error', error: { type: TYPE_FROM_KIND[err.kind], message: err.message } };
}

export function parseAnthropicError(status: number, body: unknown): ApiError | undefined {
  if (!isRecord(body) || body.type !== 'error' || !isRecord(body.error)) return undefined;
  return { status, kind: KIND_FROM_TYPE[String(body.error.type)] ?? kindForStatus(status), message: String(body.error.message ?? '') };
}

/** Writes Anthropic SSE from neutral events: message_start … content blocks … message_delta, message_stop. */
export function createAnthropicEncoder(model: string): StreamEncoder {
  let started = false;
  let block = -1;
  let open: 'text' | 'tool' | undefined;
  let inputTokens = 0;
  let outputTokens = 0;
  let stopReason: StopReason | undefined;
  let stopSequence: string | null = null;
  let sawTool = false;
  let done = false;
  /** Neutral tool index → content block index, so late argument deltas still reach their block. */
  const toolBlocks = new Map<number, number>();

  const start = (id?: string): string => {
    started = true;
    return sseFrame('message_start', {
      type: 'message_start',
      message: { id: id?.startsWith('msg_') ? id : newId('msg_'), type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: inputTokens, output_tokens: 0 } },
    });
  };
  const close = (): string => {
    if (!open) return '';
    open = undefined;
    return sseFrame('content_block_stop', { type: 'content_block_stop', index: block });
  };

  return {
    contentType: 'text/event-stream; charset=utf-8',
    encode(ev) {
      if (done) return '';
      let out = '';
      if (!started && ev.type !== 'error') {
        if (ev.type === 'start') {
          inputTokens = ev.inputTokens ?? 0;
          return start(ev.id);
        }
        out += start();
      }
      switch (ev.type) {
        case 'start':
          return out;
        case 'text':
          if (ev.text.length === 0) return out;
          if (open !== 'text') {
            out += close();
            block += 1;
            open = 'text';
            out += sseFrame('content_block_start', { type: 'content_block_start', index: block, content_block: { type: 'text', text: '' } });
          }
          return out + sseFrame('content_block_delta', { type: 'content_block_delta', index: block, delta: { type: 'text_delta', text: ev.text } });
        case 'tool_start':
          out += close();
          block += 1;
          open = 'tool';
          sawTool = true;
          toolBlocks.set(ev.index, block);
          return out + sseFrame('content_block_start', { type: 'content_block_start', index: block, content_block: { type: 'tool_use', id: ev.id || newId('toolu_'), name: ev.name, input: {} } });
        case 'tool_args': {
          const index = toolBlocks.get(ev.index);
          if (index === undefined || ev.json.length === 0) return out;
          return out + sseFrame('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: ev.json } });
        }
        case 'finish':
          stopReason = ev.reason;
          stopSequence = ev.stopSequence ?? null;
          return out;
        case 'usage':
          if (ev.inputTokens !== undefined) inputTokens = ev.inputTokens;
          if (ev.outputTokens !== undefined) outputTokens = ev.outputTokens;
          return out;
        case 'end': {
          done = true;
          const reason = stopReason === 'stop' && sawTool ? 'tool_calls' : (stopReason ?? (sawTool ? 'tool_calls' : 'stop'));
          return out + close()
            + sseFrame('message_delta', { type: 'message_delta', delta: { stop_reason: STOP_FROM_NEUTRAL[reason], stop_sequence: stopSequence }, usage: { input_tokens: inputTokens, output_tokens: outputTokens } })
            + sseFrame('message_stop', { type: 'message_stop' });
        }
        case 'error':
          done = true;
          return out + sseFrame('error', anthropicErrorBody(ev.error));
      }
    },
  };
}
