import type { ApiError, ChatMessage, ChatRequest, ChatResponse, ErrorKind, ImagePart, Part, StopReason, ToolChoice, ToolDef } from './chat.js';
import { FREEFORM_PARAMETERS, isRecord, kindForStatus, newId } from './chat.js';

/**
 * OpenAI Responses API (POST /v1/responses), request and response objects; the stream codec is
 * in responses-stream.ts. Written from the API reference (and the openai SDK's types generated
 * from it): input items (`message` with input/output content parts, `function_call`,
 * `function_call_output`, `custom_tool_call`(_output), `reasoning`), `instructions`, tools
 * (`function`, `custom`, `namespace` flattened to `namespace__name`), `text.format`.
 */
type Json = Record<string, unknown>;

/** Built-in tools run on OpenAI's side; no other backend can run them, so translation drops them (and says so). */
const BUILT_IN_TOOLS = new Set(['web_search', 'web_search_preview', 'file_search', 'code_interpreter', 'image_generation', 'computer', 'computer_use_preview', 'mcp', 'local_shell', 'shell', 'apply_patch', 'tool_search', 'programmatic_tool_calling']);

export function flatName(namespace: string, name: string): string {
  return `${namespace}__${name}`;
}

function textOfParts(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((p) => (isRecord(p) && typeof p.text === 'string' ? p.text : isRecord(p) && typeof p.refusal === 'string' ? p.refusal : '')).join('');
}

function imageOf(p: Json): Part | undefined {
  const url = typeof p.image_url === 'string' ? p.image_url : undefined;
  if (!url) return undefined;
  const m = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  return m ? { type: 'image', mediaType: m[1], data: m[2] } : { type: 'image', url };
}

function inputParts(content: unknown, dropped: Set<string>): Part[] {
  if (typeof content === 'string') return content ? [{ type: 'text', text: content }] : [];
  const parts: Part[] = [];
  for (const p of Array.isArray(content) ? content : []) {
    if (!isRecord(p)) continue;
    if ((p.type === 'input_text' || p.type === 'output_text' || p.type === 'text') && typeof p.text === 'string') parts.push({ type: 'text', text: p.text });
    else if (p.type === 'refusal' && typeof p.refusal === 'string') parts.push({ type: 'text', text: p.refusal });
    else if (p.type === 'input_image') {
      const image = imageOf(p);
      if (image) parts.push(image);
      else dropped.add('input_image by file_id');
    } else dropped.add(`content part ${String(p.type)}`);
  }
  return parts;
}

function toolOutput(id: string, output: unknown, dropped: Set<string>): Part {
  if (typeof output === 'string') return { type: 'tool_result', id, content: output };
  const parts = inputParts(output, dropped);
  const images = parts.filter((p): p is ImagePart => p.type === 'image');
  return { type: 'tool_result', id, content: parts.map((p) => (p.type === 'text' ? p.text : '')).join(''), ...(images.length ? { images } : {}) };
}

function append(messages: ChatMessage[], role: ChatMessage['role'], parts: Part[]): void {
  if (parts.length === 0) return;
  const last = messages[messages.length - 1];
  if (last && last.role === role) last.parts.push(...parts);
  else messages.push({ role, parts });
}

function parseTools(raw: unknown, tools: ToolDef[], dropped: Set<string>, namespace?: string): void {
  for (const t of Array.isArray(raw) ? raw : []) {
    if (!isRecord(t)) continue;
    const name = String(t.name ?? '');
    const described = typeof t.description === 'string' && t.description ? { description: t.description } : {};
    const origin = namespace ? { origin: { namespace, name } } : {};
    const neutral = namespace ? flatName(namespace, name) : name;
    if (t.type === 'function') tools.push({ name: neutral, ...described, parameters: isRecord(t.parameters) ? t.parameters : { type: 'object', properties: {} }, ...origin });
    else if (t.type === 'custom') tools.push({ name: neutral, ...described, parameters: FREEFORM_PARAMETERS, freeform: true, ...origin });
    else if (t.type === 'namespace' && !namespace) parseTools(t.tools, tools, dropped, name);
    else dropped.add(BUILT_IN_TOOLS.has(String(t.type)) ? `built-in tool ${String(t.type)}` : `tool type ${String(t.type)}`);
  }
}

export function parseResponsesRequest(body: Json): ChatRequest {
  const messages: ChatMessage[] = [];
  const system: string[] = [];
  const tools: ToolDef[] = [];
  const dropped = new Set<string>();
  if (typeof body.instructions === 'string' && body.instructions) system.push(body.instructions);
  const items = typeof body.input === 'string' ? [{ role: 'user', content: body.input }] : Array.isArray(body.input) ? body.input : [];
  for (const item of items) {
    if (!isRecord(item)) continue;
    const type = item.type ?? 'message';
    const callName = (): string => (typeof item.namespace === 'string' && item.namespace ? flatName(item.namespace, String(item.name ?? '')) : String(item.name ?? ''));
    if (type === 'message') {
      if (item.role === 'system' || item.role === 'developer') system.push(textOfParts(item.content));
      else append(messages, item.role === 'assistant' ? 'assistant' : 'user', inputParts(item.content, dropped));
    } else if (type === 'function_call') {
      append(messages, 'assistant', [{ type: 'tool_call', id: String(item.call_id ?? ''), name: callName(), arguments: typeof item.arguments === 'string' ? item.arguments : JSON.stringify(item.arguments ?? {}) }]);
    } else if (type === 'custom_tool_call') {
      append(messages, 'assistant', [{ type: 'tool_call', id: String(item.call_id ?? ''), name: callName(), arguments: JSON.stringify({ input: typeof item.input === 'string' ? item.input : '' }) }]);
    } else if (type === 'function_call_output' || type === 'custom_tool_call_output') {
      append(messages, 'user', [toolOutput(String(item.call_id ?? ''), item.output, dropped)]);
    } else if (type === 'additional_tools') {
      // Codex declares its tools in an input item rather than in `tools`.
      parseTools(item.tools, tools, dropped);
    } else if (type === 'reasoning') {
      dropped.add('reasoning items');
    } else {
      dropped.add(`input item ${String(type)}`);
    }
  }
  // A tool result names its tool for backends that want a name (Ollama): from the call it answers.
  const names = new Map<string, string>();
  for (const m of messages) for (const p of m.parts) if (p.type === 'tool_call') names.set(p.id, p.name);
  for (const m of messages) for (const p of m.parts) if (p.type === 'tool_result' && names.has(p.id)) p.name = names.get(p.id);
  parseTools(body.tools, tools, dropped);

  const req: ChatRequest = { model: String(body.model ?? ''), messages, stream: body.stream === true };
  if (system.length) req.system = system.join('\n\n');
  if (tools.length) req.tools = tools;
  const choice = toolChoiceOf(body.tool_choice);
  if (choice) req.toolChoice = choice;
  if (typeof body.parallel_tool_calls === 'boolean') req.parallelToolCalls = body.parallel_tool_calls;
  if (typeof body.max_output_tokens === 'number') req.maxTokens = body.max_output_tokens;
  if (typeof body.temperature === 'number') req.temperature = body.temperature;
  if (typeof body.top_p === 'number') req.topP = body.top_p;
  const format = isRecord(body.text) && isRecord(body.text.format) ? body.text.format : undefined;
  if (format?.type === 'json_object') req.format = 'json';
  else if (format?.type === 'json_schema' && isRecord(format.schema)) req.format = format.schema;
  // Stored state lives at OpenAI: another backend cannot resolve a reference to it.
  if (typeof body.previous_response_id === 'string' && body.previous_response_id) dropped.add('previous_response_id');
  if (Array.isArray(body.include) && body.include.length) dropped.add(`include ${body.include.map(String).join(', ')}`);
  if (dropped.size) req.dropped = [...dropped];
  return req;
}

function toolChoiceOf(tc: unknown): ToolChoice | undefined {
  if (tc === 'auto' || tc === 'none' || tc === 'required') return tc;
  if (!isRecord(tc)) return undefined;
  if ((tc.type === 'function' || tc.type === 'custom') && typeof tc.name === 'string') return { name: typeof tc.namespace === 'string' ? flatName(tc.namespace, tc.name) : tc.name };
  if (tc.type === 'allowed_tools') return tc.mode === 'required' ? 'required' : 'auto';
  return undefined;
}

/** What a client's tool is called on its side, for calls the backend made by neutral name. */
export function clientToolOf(req: ChatRequest | undefined, name: string): { name: string; namespace?: string; freeform: boolean } {
  const tool = req?.tools?.find((t) => t.name === name);
  if (!tool) return { name, freeform: false };
  return { name: tool.origin?.name ?? tool.name, ...(tool.origin ? { namespace: tool.origin.namespace } : {}), freeform: tool.freeform === true };
}

/** The freeform text a backend sent as the `input` argument of a custom tool. */
export function freeformInput(args: string): string {
  try {
    const value: unknown = JSON.parse(args);
    if (isRecord(value) && typeof value.input === 'string') return value.input;
  } catch {
    // A model that did not produce JSON for a text tool still meant its text.
  }
  return args;
}

function toolDefOut(t: ToolDef): Json {
  return t.freeform
    ? { type: 'custom', name: t.name, ...(t.description ? { description: t.description } : {}) }
    : { type: 'function', name: t.name, ...(t.description ? { description: t.description } : {}), parameters: t.parameters, strict: false };
}

function contentOut(role: ChatMessage['role'], parts: Part[]): Json[] {
  return parts.flatMap((p): Json[] => {
    if (p.type === 'text') return [{ type: role === 'assistant' ? 'output_text' : 'input_text', text: p.text, ...(role === 'assistant' ? { annotations: [] } : {}) }];
    if (p.type === 'image') return [{ type: 'input_image', detail: 'auto', image_url: p.url ?? `data:${p.mediaType ?? 'image/png'};base64,${p.data ?? ''}` }];
    return [];
  });
}

/** Neutral → a Responses request (a Responses-speaking backend); tools go out under their neutral names. */
export function renderResponsesRequest(req: ChatRequest, model: string): Json {
  const input: Json[] = [];
  for (const m of req.messages) {
    const content = contentOut(m.role, m.parts);
    // A user turn answers the calls before it says more; an assistant turn speaks, then calls.
    if (content.length && m.role === 'assistant') input.push({ type: 'message', role: m.role, content });
    for (const p of m.parts) {
      const tool = req.tools?.find((t) => p.type === 'tool_call' && t.name === p.name);
      if (p.type === 'tool_call') input.push(tool?.freeform ? { type: 'custom_tool_call', call_id: p.id, name: p.name, input: freeformInput(p.arguments) } : { type: 'function_call', call_id: p.id, name: p.name, arguments: p.arguments });
      else if (p.type === 'tool_result') input.push({ type: resultType(req, p.id), call_id: p.id, output: p.images?.length ? [{ type: 'input_text', text: p.content }, ...contentOut('user', p.images)] : p.content });
    }
    if (content.length && m.role === 'user') input.push({ type: 'message', role: m.role, content });
  }
  const out: Json = { model, input, store: false };
  if (req.system) out.instructions = req.system;
  if (req.tools?.length) out.tools = req.tools.map(toolDefOut);
  if (req.toolChoice) out.tool_choice = typeof req.toolChoice === 'string' ? req.toolChoice : { type: 'function', name: req.toolChoice.name };
  if (req.parallelToolCalls !== undefined) out.parallel_tool_calls = req.parallelToolCalls;
  if (req.maxTokens !== undefined) out.max_output_tokens = req.maxTokens;
  if (req.temperature !== undefined) out.temperature = req.temperature;
  if (req.topP !== undefined) out.top_p = req.topP;
  if (req.format) out.text = { format: req.format === 'json' ? { type: 'json_object' } : { type: 'json_schema', name: 'response', schema: req.format } };
  if (req.stream) out.stream = true;
  return out;
}

/** A custom tool's call is answered by a custom_tool_call_output. */
function resultType(req: ChatRequest, callId: string): string {
  for (const m of req.messages) {
    for (const p of m.parts) {
      if (p.type === 'tool_call' && p.id === callId) return req.tools?.some((t) => t.name === p.name && t.freeform) ? 'custom_tool_call_output' : 'function_call_output';
    }
  }
  return 'function_call_output';
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export function stopOf(status: unknown, incomplete: unknown, sawTool: boolean): StopReason {
  if (status === 'incomplete') return isRecord(incomplete) && incomplete.reason === 'content_filter' ? 'content_filter' : 'length';
  return sawTool ? 'tool_calls' : 'stop';
}

/** A Response's output items → neutral parts (reasoning items are the model's own, kept on its side). */
export function partsOfOutput(output: unknown): Part[] {
  const parts: Part[] = [];
  for (const item of Array.isArray(output) ? output : []) {
    if (!isRecord(item)) continue;
    const name = typeof item.namespace === 'string' && item.namespace ? flatName(item.namespace, String(item.name ?? '')) : String(item.name ?? '');
    if (item.type === 'message') {
      const text = textOfParts(item.content);
      if (text) parts.push({ type: 'text', text });
    } else if (item.type === 'function_call') {
      parts.push({ type: 'tool_call', id: String(item.call_id ?? newId('call_')), name, arguments: typeof item.arguments === 'string' ? item.arguments : '{}' });
    } else if (item.type === 'custom_tool_call') {
      parts.push({ type: 'tool_call', id: String(item.call_id ?? newId('call_')), name, arguments: JSON.stringify({ input: String(item.input ?? '') }) });
    }
  }
  return parts;
}

export function usageOf(usage: unknown): { inputTokens?: number; outputTokens?: number } {
  const u = isRecord(usage) ? usage : {};
  return { inputTokens: num(u.input_tokens), outputTokens: num(u.output_tokens) };
}

export function parseResponsesResponse(body: Json): ChatResponse {
  const parts = partsOfOutput(body.output);
  const res: ChatResponse = { parts, stopReason: stopOf(body.status, body.incomplete_details, parts.some((p) => p.type === 'tool_call')), usage: usageOf(body.usage) };
  if (typeof body.id === 'string') res.id = body.id;
  if (typeof body.model === 'string') res.model = body.model;
  return res;
}

/** One output item for a neutral part, in the client's own tool names. */
export function outputItem(part: Part, req: ChatRequest | undefined): Json | undefined {
  if (part.type === 'text') return { id: newId('msg_'), type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: part.text, annotations: [], logprobs: [] }] };
  if (part.type !== 'tool_call') return undefined;
  const tool = clientToolOf(req, part.name);
  const ns = tool.namespace ? { namespace: tool.namespace } : {};
  const callId = part.id || newId('call_');
  return tool.freeform
    ? { id: newId('ctc_'), type: 'custom_tool_call', status: 'completed', call_id: callId, name: tool.name, ...ns, input: freeformInput(part.arguments) }
    : { id: newId('fc_'), type: 'function_call', status: 'completed', call_id: callId, name: tool.name, ...ns, arguments: part.arguments };
}

export function usageOut(input: number, output: number): Json {
  return { input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + output };
}

/** The `response` object: in the stream's created/completed events and as the whole non-streaming answer. */
export function responseObject(fields: { id: string; model: string; status: string; output: Json[]; stop?: StopReason; usage?: Json | null; req?: ChatRequest; createdAt: number; error?: Json | null }): Json {
  const incomplete = fields.status === 'incomplete' ? { reason: fields.stop === 'content_filter' ? 'content_filter' : 'max_output_tokens' } : null;
  return {
    id: fields.id,
    object: 'response',
    created_at: fields.createdAt,
    status: fields.status,
    background: false,
    error: fields.error ?? null,
    incomplete_details: incomplete,
    instructions: null,
    max_output_tokens: fields.req?.maxTokens ?? null,
    model: fields.model,
    output: fields.output,
    parallel_tool_calls: fields.req?.parallelToolCalls ?? true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    store: false,
    temperature: fields.req?.temperature ?? 1,
    text: { format: { type: 'text' } },
    tool_choice: 'auto',
    tools: [],
    top_p: fields.req?.topP ?? 1,
    truncation: 'disabled',
    usage: fields.usage ?? null,
    user: null,
    metadata: {},
  };
}

export function statusOf(stop: StopReason): 'completed' | 'incomplete' {
  return stop === 'length' || stop === 'content_filter' ? 'incomplete' : 'completed';
}

export function renderResponsesResponse(res: ChatResponse, model: string, req?: ChatRequest): Json {
  const output = res.parts.map((p) => outputItem(p, req)).filter((x): x is Json => x !== undefined);
  const stop = res.stopReason;
  return responseObject({
    id: res.id?.startsWith('resp_') ? res.id : newId('resp_'),
    model,
    status: statusOf(stop),
    output,
    stop,
    usage: usageOut(res.usage.inputTokens ?? 0, res.usage.outputTokens ?? 0),
    createdAt: Math.floor(Date.now() / 1000),
    ...(req ? { req } : {}),
  });
}

const CODE_FROM_KIND: Record<ErrorKind, { type: string; code: string | null }> = {
  invalid_request: { type: 'invalid_request_error', code: null },
  authentication: { type: 'invalid_request_error', code: 'invalid_api_key' },
  permission: { type: 'invalid_request_error', code: 'permission_denied' },
  not_found: { type: 'invalid_request_error', code: 'model_not_found' },
  too_large: { type: 'invalid_request_error', code: 'request_too_large' },
  rate_limit: { type: 'requests', code: 'rate_limit_exceeded' },
  overloaded: { type: 'server_error', code: 'server_is_overloaded' },
  timeout: { type: 'server_error', code: 'timeout' },
  server: { type: 'server_error', code: 'server_error' },
};

/** HTTP errors have the same body as Chat Completions'. */
export function responsesErrorBody(err: ApiError): Json {
  const { type, code } = CODE_FROM_KIND[err.kind];
  return { error: { message: err.message, type, param: null, code } };
}

/** The `error` member of a failed Response (response.failed), as Codex and the SDKs read it. */
export function responseError(err: ApiError): Json {
  return { code: CODE_FROM_KIND[err.kind].code ?? 'server_error', message: err.message };
}

/** Over WebSocket a refused `response.create` is one message: `{type:'error', status, error}`. */
export function websocketError(err: ApiError): Json {
  return { type: 'error', status: err.status, ...responsesErrorBody(err) };
}

export function kindOfCode(code: unknown, status: number): ErrorKind {
  if (code === 'rate_limit_exceeded') return 'rate_limit';
  if (code === 'server_is_overloaded' || code === 'slow_down') return 'overloaded';
  if (code === 'invalid_api_key') return 'authentication';
  if (code === 'model_not_found') return 'not_found';
  if (code === 'invalid_prompt' || code === 'context_length_exceeded') return 'invalid_request';
  return kindForStatus(status);
}
