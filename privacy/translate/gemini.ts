import type { ApiError, ChatEvent, ChatMessage, ChatRequest, ChatResponse, ErrorKind, Part, StopReason, StreamDecoder, StreamEncoder, ToolChoice, ToolDef } from './chat.js';
import { isRecord, kindForStatus, newId, parseArgs } from './chat.js';
import { createSseParser } from './framing.js';

/**
 * Google's Gemini API (generativelanguage.googleapis.com): `POST /v1beta/models/{model}:generateContent`
 * and `:streamGenerateContent?alt=sse` (each SSE `data:` a GenerateContentResponse; function calls
 * arrive whole; the last chunk has finishReason and usageMetadata). The model is in the path, not
 * the body: parseRequest leaves `model` empty and `stream` false, and the caller sets both from the
 * URL. Written from the API reference: contents/parts (text, inlineData, functionCall,
 * functionResponse), systemInstruction, tools.functionDeclarations, toolConfig, generationConfig.
 */
type Json = Record<string, unknown>;

const FINISH_TO_NEUTRAL: Record<string, StopReason> = { STOP: 'stop', MAX_TOKENS: 'length', SAFETY: 'content_filter', RECITATION: 'content_filter', BLOCKLIST: 'content_filter', PROHIBITED_CONTENT: 'content_filter', SPII: 'content_filter', IMAGE_SAFETY: 'content_filter' };
const FINISH_FROM_NEUTRAL: Record<StopReason, string> = { stop: 'STOP', length: 'MAX_TOKENS', tool_calls: 'STOP', stop_sequence: 'STOP', content_filter: 'SAFETY' };

/** Gemini's `parameters` is an OpenAPI 3 subset with upper-case type names; JSON Schema wants them lower-case. */
export function jsonSchemaOf(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(jsonSchemaOf);
  if (!isRecord(schema)) return schema;
  const out: Json = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'propertyOrdering') continue;
    if (key === 'type' && typeof value === 'string') out.type = value.toLowerCase();
    else if (key === 'properties' && isRecord(value)) out.properties = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonSchemaOf(v)]));
    else out[key] = typeof value === 'object' ? jsonSchemaOf(value) : value;
  }
  return out;
}

/** A tool result's text: an `{output: text}` response (what Gemini CLI sends) is that text; any other object, its JSON. */
function resultText(response: unknown): string {
  if (isRecord(response) && typeof response.output === 'string' && Object.keys(response).length === 1) return response.output;
  return typeof response === 'string' ? response : JSON.stringify(response ?? {});
}

function resultObject(content: string): Json {
  try {
    const value: unknown = JSON.parse(content);
    if (isRecord(value)) return value;
  } catch {
    // Plain text: wrapped below.
  }
  return { output: content };
}

export function parseGeminiRequest(body: Json): ChatRequest {
  const messages: ChatMessage[] = [];
  const dropped = new Set<string>();
  // Gemini pairs a response with its call by name (and id when the model sent one).
  const pending = new Map<string, string[]>();
  let counter = 0;
  for (const c of Array.isArray(body.contents) ? body.contents : []) {
    if (!isRecord(c)) continue;
    const role: ChatMessage['role'] = c.role === 'model' ? 'assistant' : 'user';
    const parts: Part[] = [];
    for (const p of Array.isArray(c.parts) ? c.parts : []) {
      if (!isRecord(p)) continue;
      if (typeof p.text === 'string') {
        if (p.thought === true) continue;
        if (p.text) parts.push({ type: 'text', text: p.text });
      } else if (isRecord(p.inlineData)) {
        const mime = String(p.inlineData.mimeType ?? '');
        if (mime.startsWith('image/')) parts.push({ type: 'image', mediaType: mime, data: String(p.inlineData.data ?? '') });
        else dropped.add(`inlineData ${mime || 'without a type'}`);
      } else if (isRecord(p.functionCall)) {
        const name = String(p.functionCall.name ?? '');
        const id = typeof p.functionCall.id === 'string' && p.functionCall.id ? p.functionCall.id : `call_${++counter}`;
        pending.set(name, [...(pending.get(name) ?? []), id]);
        parts.push({ type: 'tool_call', id, name, arguments: JSON.stringify(p.functionCall.args ?? {}) });
      } else if (isRecord(p.functionResponse)) {
        const name = String(p.functionResponse.name ?? '');
        const given = typeof p.functionResponse.id === 'string' && p.functionResponse.id ? p.functionResponse.id : undefined;
        const queue = pending.get(name) ?? [];
        const id = given ?? queue.shift() ?? `call_${++counter}`;
        if (given) queue.splice(queue.indexOf(given), queue.includes(given) ? 1 : 0);
        parts.push({ type: 'tool_result', id, name, content: resultText(p.functionResponse.response) });
      } else if (isRecord(p.fileData)) {
        dropped.add('fileData');
      }
    }
    if (parts.length === 0) continue;
    const last = messages[messages.length - 1];
    if (last && last.role === role) last.parts.push(...parts);
    else messages.push({ role, parts });
  }
  const req: ChatRequest = { model: typeof body.model === 'string' ? body.model.replace(/^models\//, '') : '', messages, stream: false };
  const sys = isRecord(body.systemInstruction) ? body.systemInstruction : typeof body.systemInstruction === 'string' ? { parts: [{ text: body.systemInstruction }] } : undefined;
  const systemText = (Array.isArray(sys?.parts) ? sys.parts : []).map((p) => (isRecord(p) && typeof p.text === 'string' ? p.text : '')).filter(Boolean).join('\n');
  if (systemText) req.system = systemText;
  const tools: ToolDef[] = [];
  for (const t of Array.isArray(body.tools) ? body.tools : []) {
    if (!isRecord(t)) continue;
    for (const key of Object.keys(t)) if (key !== 'functionDeclarations') dropped.add(`built-in tool ${key}`);
    for (const f of Array.isArray(t.functionDeclarations) ? t.functionDeclarations : []) {
      if (!isRecord(f)) continue;
      const parameters = isRecord(f.parametersJsonSchema) ? f.parametersJsonSchema : isRecord(f.parameters) ? (jsonSchemaOf(f.parameters) as Json) : { type: 'object', properties: {} };
      tools.push({ name: String(f.name ?? ''), ...(typeof f.description === 'string' && f.description ? { description: f.description } : {}), parameters });
    }
  }
  if (tools.length) req.tools = tools;
  const fc = isRecord(body.toolConfig) && isRecord(body.toolConfig.functionCallingConfig) ? body.toolConfig.functionCallingConfig : undefined;
  const choice = fc ? toolChoiceOf(fc) : undefined;
  if (choice) req.toolChoice = choice;
  const g = isRecord(body.generationConfig) ? body.generationConfig : {};
  if (typeof g.maxOutputTokens === 'number') req.maxTokens = g.maxOutputTokens;
  if (typeof g.temperature === 'number') req.temperature = g.temperature;
  if (typeof g.topP === 'number') req.topP = g.topP;
  if (typeof g.topK === 'number') req.topK = g.topK;
  if (typeof g.seed === 'number') req.seed = g.seed;
  if (Array.isArray(g.stopSequences)) req.stop = g.stopSequences.map(String);
  if (g.responseMimeType === 'application/json') {
    const schema = isRecord(g.responseJsonSchema) ? g.responseJsonSchema : isRecord(g.responseSchema) ? (jsonSchemaOf(g.responseSchema) as Json) : undefined;
    req.format = schema ? (jsonSchemaOf(schema) as Json) : 'json';
  }
  if (typeof g.candidateCount === 'number' && g.candidateCount > 1) dropped.add('candidateCount > 1');
  if (typeof body.cachedContent === 'string') dropped.add('cachedContent');
  if (dropped.size) req.dropped = [...dropped];
  return req;
}

function toolChoiceOf(fc: Json): ToolChoice | undefined {
  const allowed = Array.isArray(fc.allowedFunctionNames) ? fc.allowedFunctionNames.map(String) : [];
  if (fc.mode === 'NONE') return 'none';
  if (fc.mode === 'ANY') return allowed.length === 1 ? { name: allowed[0]! } : 'required';
  if (fc.mode === 'AUTO' || fc.mode === 'VALIDATED') return 'auto';
  return undefined;
}

function partOut(p: Part, names: Map<string, string>): Json | undefined {
  switch (p.type) {
    case 'text':
      return { text: p.text };
    case 'image':
      // Gemini takes inline bytes; a URL would have to be fetched, which a router must not do on its own.
      return p.data ? { inlineData: { mimeType: p.mediaType ?? 'image/png', data: p.data } } : undefined;
    case 'tool_call':
      return { functionCall: { id: p.id, name: p.name, args: parseArgs(p.arguments) } };
    case 'tool_result':
      return { functionResponse: { id: p.id, name: p.name ?? names.get(p.id) ?? '', response: resultObject(p.content) } };
  }
}

/** A tool's images ride in the same turn as its response, as inline data. */
function partsOut(p: Part, names: Map<string, string>): Json[] {
  const main = partOut(p, names);
  const images = p.type === 'tool_result' ? (p.images ?? []).map((i) => partOut(i, names)).filter((x): x is Json => x !== undefined) : [];
  return [...(main ? [main] : []), ...images];
}

/** Neutral → a Gemini request body (the model goes in the URL path). */
export function renderGeminiRequest(req: ChatRequest, _model: string): Json {
  const names = new Map<string, string>();
  for (const m of req.messages) for (const p of m.parts) if (p.type === 'tool_call') names.set(p.id, p.name);
  const contents = req.messages.map((m) => ({ role: m.role === 'assistant' ? 'model' : 'user', parts: m.parts.flatMap((p) => partsOut(p, names)) })).filter((c) => c.parts.length > 0);
  const out: Json = { contents };
  if (req.system) out.systemInstruction = { parts: [{ text: req.system }] };
  if (req.tools?.length) out.tools = [{ functionDeclarations: req.tools.map((t) => ({ name: t.name, ...(t.description ? { description: t.description } : {}), parametersJsonSchema: t.parameters })) }];
  if (req.toolChoice) {
    const c = req.toolChoice;
    out.toolConfig = { functionCallingConfig: typeof c === 'string' ? { mode: c === 'required' ? 'ANY' : c.toUpperCase() } : { mode: 'ANY', allowedFunctionNames: [c.name] } };
  }
  const g: Json = {};
  if (req.maxTokens !== undefined) g.maxOutputTokens = req.maxTokens;
  if (req.temperature !== undefined) g.temperature = req.temperature;
  if (req.topP !== undefined) g.topP = req.topP;
  if (req.topK !== undefined) g.topK = req.topK;
  if (req.seed !== undefined) g.seed = req.seed;
  if (req.stop?.length) g.stopSequences = req.stop;
  if (req.format) {
    g.responseMimeType = 'application/json';
    if (req.format !== 'json') g.responseJsonSchema = req.format;
  }
  if (Object.keys(g).length) out.generationConfig = g;
  return out;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function usageOf(meta: unknown): { inputTokens?: number; outputTokens?: number } {
  const u = isRecord(meta) ? meta : {};
  const candidates = num(u.candidatesTokenCount);
  const thoughts = num(u.thoughtsTokenCount);
  return { inputTokens: num(u.promptTokenCount), outputTokens: candidates === undefined && thoughts === undefined ? undefined : (candidates ?? 0) + (thoughts ?? 0) };
}

function candidateOf(body: Json): Json {
  return Array.isArray(body.candidates) && isRecord(body.candidates[0]) ? body.candidates[0] : {};
}

function partsOfCandidate(candidate: Json, ids: () => string): Part[] {
  const content = isRecord(candidate.content) ? candidate.content : {};
  const parts: Part[] = [];
  for (const p of Array.isArray(content.parts) ? content.parts : []) {
    if (!isRecord(p)) continue;
    if (typeof p.text === 'string' && p.text && p.thought !== true) parts.push({ type: 'text', text: p.text });
    else if (isRecord(p.functionCall)) {
      const id = typeof p.functionCall.id === 'string' && p.functionCall.id ? p.functionCall.id : ids();
      parts.push({ type: 'tool_call', id, name: String(p.functionCall.name ?? ''), arguments: JSON.stringify(p.functionCall.args ?? {}) });
    }
  }
  return parts;
}

function stopOf(candidate: Json, body: Json, sawTool: boolean): StopReason {
  if (isRecord(body.promptFeedback) && body.promptFeedback.blockReason) return 'content_filter';
  const reason = FINISH_TO_NEUTRAL[String(candidate.finishReason)] ?? 'stop';
  return reason === 'stop' && sawTool ? 'tool_calls' : reason;
}

export function parseGeminiResponse(body: Json): ChatResponse {
  const candidate = candidateOf(body);
  const parts = partsOfCandidate(candidate, () => newId('call_'));
  const res: ChatResponse = { parts, stopReason: stopOf(candidate, body, parts.some((p) => p.type === 'tool_call')), usage: usageOf(body.usageMetadata) };
  if (typeof body.responseId === 'string') res.id = body.responseId;
  if (typeof body.modelVersion === 'string') res.model = body.modelVersion;
  return res;
}

function usageOut(input: number, output: number): Json {
  return { promptTokenCount: input, candidatesTokenCount: output, totalTokenCount: input + output };
}

export function renderGeminiResponse(res: ChatResponse, model: string): Json {
  const parts = res.parts.flatMap((p): Json[] => (p.type === 'text' ? [{ text: p.text }] : p.type === 'tool_call' ? [{ functionCall: { id: p.id, name: p.name, args: parseArgs(p.arguments) } }] : []));
  return {
    candidates: [{ content: { role: 'model', parts }, finishReason: FINISH_FROM_NEUTRAL[res.stopReason], index: 0 }],
    usageMetadata: usageOut(res.usage.inputTokens ?? 0, res.usage.outputTokens ?? 0),
    modelVersion: model,
    responseId: res.id && !res.id.includes('_') ? res.id : newId(''),
  };
}

/** Backend SSE → neutral events. The finish reason arrives with the last chunk; the end is the end of the stream. */
export function createGeminiDecoder(): StreamDecoder {
  const sse = createSseParser();
  let started = false;
  let failed = false;
  let tools = 0;
  let finish: StopReason | undefined;
  let usage: { inputTokens?: number; outputTokens?: number } = {};
  let out: ChatEvent[] = [];
  const onFrame = (frame: { data: string }): void => {
    let chunk: unknown;
    try {
      chunk = JSON.parse(frame.data);
    } catch {
      return;
    }
    if (!isRecord(chunk) || failed) return;
    if (isRecord(chunk.error)) {
      failed = true;
      out.push({ type: 'error', error: parseGeminiError(typeof chunk.error.code === 'number' ? chunk.error.code : 500, chunk) ?? { status: 500, kind: 'server', message: 'backend error' } });
      return;
    }
    if (!started) {
      started = true;
      out.push({ type: 'start', id: typeof chunk.responseId === 'string' ? chunk.responseId : undefined, model: typeof chunk.modelVersion === 'string' ? chunk.modelVersion : undefined });
    }
    const candidate = candidateOf(chunk);
    for (const p of partsOfCandidate(candidate, () => newId('call_'))) {
      if (p.type === 'text') out.push({ type: 'text', text: p.text });
      else if (p.type === 'tool_call') {
        const index = tools++;
        out.push({ type: 'tool_start', index, id: p.id, name: p.name }, { type: 'tool_args', index, json: p.arguments });
      }
    }
    if (chunk.usageMetadata !== undefined) usage = usageOf(chunk.usageMetadata);
    if (candidate.finishReason !== undefined || (isRecord(chunk.promptFeedback) && chunk.promptFeedback.blockReason)) finish = stopOf(candidate, chunk, tools > 0);
  };
  return {
    push(chunk, sink) {
      out = sink;
      sse.push(chunk, onFrame);
    },
    end(sink) {
      out = sink;
      sse.end(onFrame);
      if (failed) return;
      if (finish === undefined) {
        sink.push({ type: 'error', error: { status: 502, kind: 'server', message: 'backend stream ended early' } });
        return;
      }
      sink.push({ type: 'usage', ...usage }, { type: 'finish', reason: finish }, { type: 'end' });
    },
  };
}

/**
 * Neutral events → Gemini SSE. Text goes out as it comes; function calls are sent whole (as Gemini
 * does) with the finish reason and usage in the last chunk, whose content may have no parts.
 */
export function createGeminiEncoder(model: string): StreamEncoder {
  const responseId = newId('');
  const calls: { id: string; name: string; args: string }[] = [];
  let reason: StopReason = 'stop';
  let input = 0;
  let output = 0;
  let done = false;
  const chunk = (parts: Json[], extra: Json = {}): string => `data: ${JSON.stringify({ candidates: [{ content: { role: 'model', parts }, ...extra, index: 0 }], ...('finishReason' in extra ? { usageMetadata: usageOut(input, output) } : {}), modelVersion: model, responseId })}\r\n\r\n`;
  return {
    contentType: 'text/event-stream',
    encode(ev) {
      if (done) return '';
      switch (ev.type) {
        case 'start':
          if (ev.inputTokens !== undefined) input = ev.inputTokens;
          return '';
        case 'text':
          return ev.text ? chunk([{ text: ev.text }]) : '';
        case 'tool_start':
          calls[ev.index] = { id: ev.id, name: ev.name, args: '' };
          return '';
        case 'tool_args': {
          const call = calls[ev.index];
          if (call) call.args += ev.json;
          return '';
        }
        case 'finish':
          reason = ev.reason;
          return '';
        case 'usage':
          if (ev.inputTokens !== undefined) input = ev.inputTokens;
          if (ev.outputTokens !== undefined) output = ev.outputTokens;
          return '';
        case 'end': {
          done = true;
          const parts = calls.filter(Boolean).map((c) => ({ functionCall: { id: c.id, name: c.name, args: parseArgs(c.args) } }));
          return chunk(parts, { finishReason: FINISH_FROM_NEUTRAL[reason] });
        }
        case 'error':
          done = true;
          return `data: ${JSON.stringify(geminiErrorBody(ev.error))}\r\n\r\n`;
      }
    },
  };
}

const STATUS_FROM_KIND: Record<ErrorKind, string> = {
  invalid_request: 'INVALID_ARGUMENT',
  authentication: 'UNAUTHENTICATED',
  permission: 'PERMISSION_DENIED',
  not_found: 'NOT_FOUND',
  too_large: 'INVALID_ARGUMENT',
  rate_limit: 'RESOURCE_EXHAUSTED',
  overloaded: 'UNAVAILABLE',
  timeout: 'DEADLINE_EXCEEDED',
  server: 'INTERNAL',
};
const KIND_FROM_STATUS: Record<string, ErrorKind> = { INVALID_ARGUMENT: 'invalid_request', FAILED_PRECONDITION: 'invalid_request', UNAUTHENTICATED: 'authentication', PERMISSION_DENIED: 'permission', NOT_FOUND: 'not_found', RESOURCE_EXHAUSTED: 'rate_limit', UNAVAILABLE: 'overloaded', DEADLINE_EXCEEDED: 'timeout', INTERNAL: 'server' };

/** Google's error body: `{error:{code, message, status}}`, the HTTP status repeated as `code`. */
export function geminiErrorBody(err: ApiError): Json {
  return { error: { code: err.status, message: err.message, status: STATUS_FROM_KIND[err.kind] } };
}

export function parseGeminiError(status: number, body: unknown): ApiError | undefined {
  if (!isRecord(body) || !isRecord(body.error) || typeof body.error.status !== 'string') return undefined;
  const e = body.error;
  const st = typeof e.code === 'number' && e.code >= 400 && e.code < 600 ? e.code : status;
  return { status: st, kind: KIND_FROM_STATUS[String(e.status)] ?? kindForStatus(st), message: String(e.message ?? '') };
}
