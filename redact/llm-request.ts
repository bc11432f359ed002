import type { LlmApi } from '../core/index.js';

/**
 * Where the content strings are in each LLM API request shape. Only these strings are rewritten: never keys,
 * roles, model names, ids, image URLs or base64 image data. Anthropic `thinking` blocks are left alone too:
 * they are signed, and a changed byte makes the API reject the request.
 */
/** Rewrites one content string; `key` is the JSON key it sat under inside tool arguments, when there is one. */
export type Rewrite = (text: string, key?: string) => string;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

function field(o: Obj, key: string, rewrite: Rewrite): void {
  const v = o[key];
  if (typeof v === 'string') o[key] = rewrite(v);
}

/** A string or an array of strings (token arrays are left alone). */
function stringOrList(o: Obj, key: string, rewrite: Rewrite): void {
  const v = o[key];
  if (typeof v === 'string') o[key] = rewrite(v);
  else if (Array.isArray(v)) for (let i = 0; i < v.length; i++) if (typeof v[i] === 'string') v[i] = rewrite(v[i] as string);
}

/** Every string value of a tool-argument object, iteratively (arguments can nest arbitrarily deep). */
export function rewriteDeep(root: unknown, rewrite: Rewrite): unknown {
  if (typeof root === 'string') return rewrite(root);
  if (root === null || typeof root !== 'object') return root;
  const stack: Array<{ node: object; hint: string | undefined }> = [{ node: root, hint: undefined }];
  while (stack.length > 0) {
    const { node, hint } = stack.pop()!;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const v: unknown = node[i];
        if (typeof v === 'string') node[i] = rewrite(v, hint);
        else if (v !== null && typeof v === 'object') stack.push({ node: v, hint });
      }
    } else {
      const o = node as Obj;
      for (const k of Object.keys(o)) {
        const v = o[k];
        if (typeof v === 'string') o[k] = rewrite(v, k);
        else if (v !== null && typeof v === 'object') stack.push({ node: v, hint: k });
      }
    }
  }
  return root;
}

/**
 * OpenAI `function.arguments` is JSON text: rewrite the string values inside it and serialise it again when one
 * changed (an identity rewrite, which only reads, leaves the text as the client wrote it).
 */
function jsonArguments(holder: Obj, rewrite: Rewrite): void {
  const raw = holder.arguments;
  if (typeof raw !== 'string') {
    if (raw !== null && typeof raw === 'object') rewriteDeep(raw, rewrite); // Ollama sends an object
    return;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    holder.arguments = rewrite(raw); // partial or invalid JSON: treat as text (placeholders are JSON-safe)
    return;
  }
  let changed = false;
  const tracked: Rewrite = (text, key) => {
    const out = rewrite(text, key);
    if (out !== text) changed = true;
    return out;
  };
  try {
    rewriteDeep(parsed, tracked);
    if (changed) holder.arguments = JSON.stringify(parsed);
  } catch {
    holder.arguments = rewrite(raw); // too deep to serialise again
  }
}

function openaiContent(m: Obj, rewrite: Rewrite): void {
  const c = m.content;
  if (typeof c === 'string') m.content = rewrite(c);
  else if (Array.isArray(c)) for (const part of c) if (isObj(part) && part.type === 'text') field(part, 'text', rewrite);
}

function openaiChat(body: Obj, rewrite: Rewrite): void {
  if (!Array.isArray(body.messages)) return;
  for (const m of body.messages) {
    if (!isObj(m)) continue;
    openaiContent(m, rewrite);
    if (Array.isArray(m.tool_calls)) for (const tc of m.tool_calls) if (isObj(tc) && isObj(tc.function)) jsonArguments(tc.function, rewrite);
    if (isObj(m.function_call)) jsonArguments(m.function_call, rewrite);
  }
}

function anthropicBlocks(blocks: unknown[], rewrite: Rewrite): void {
  for (const b of blocks) {
    if (!isObj(b)) continue;
    switch (b.type) {
      case 'text':
        field(b, 'text', rewrite);
        break;
      case 'tool_use':
      case 'server_tool_use':
        if (isObj(b.input)) rewriteDeep(b.input, rewrite);
        break;
      case 'tool_result':
        if (typeof b.content === 'string') b.content = rewrite(b.content);
        else if (Array.isArray(b.content)) anthropicBlocks(b.content, rewrite);
        break;
      case 'document':
        if (isObj(b.source) && b.source.type === 'text') field(b.source, 'data', rewrite);
        break;
    }
  }
}

function anthropicMessages(body: Obj, rewrite: Rewrite): void {
  if (typeof body.system === 'string') body.system = rewrite(body.system);
  else if (Array.isArray(body.system)) anthropicBlocks(body.system, rewrite);
  if (!Array.isArray(body.messages)) return;
  for (const m of body.messages) {
    if (!isObj(m)) continue;
    if (typeof m.content === 'string') m.content = rewrite(m.content);
    else if (Array.isArray(m.content)) anthropicBlocks(m.content, rewrite);
  }
}

function ollamaChat(body: Obj, rewrite: Rewrite): void {
  if (!Array.isArray(body.messages)) return;
  for (const m of body.messages) {
    if (!isObj(m)) continue;
    field(m, 'content', rewrite);
    if (Array.isArray(m.tool_calls)) for (const tc of m.tool_calls) if (isObj(tc) && isObj(tc.function)) jsonArguments(tc.function, rewrite);
  }
}

function completions(body: Obj, rewrite: Rewrite): void {
  stringOrList(body, 'prompt', rewrite);
  field(body, 'suffix', rewrite);
}

function embeddings(body: Obj, rewrite: Rewrite): void {
  stringOrList(body, 'input', rewrite);
  field(body, 'prompt', rewrite); // legacy /api/embeddings
}

function ollamaGenerate(body: Obj, rewrite: Rewrite): void {
  field(body, 'prompt', rewrite);
  field(body, 'system', rewrite);
  field(body, 'suffix', rewrite);
}

/** A Responses message's content: a string, or parts (input_text, output_text, refusal). */
function responsesContent(m: Obj, rewrite: Rewrite): void {
  const c = m.content;
  if (typeof c === 'string') m.content = rewrite(c);
  else if (Array.isArray(c)) {
    for (const part of c) {
      if (!isObj(part)) continue;
      field(part, 'text', rewrite);
      field(part, 'refusal', rewrite);
    }
  }
}

/**
 * OpenAI Responses (`POST /v1/responses`, and each `response.create` of its WebSocket mode):
 * `instructions` and the input items. Reasoning items are left alone: their encrypted content
 * is the provider's, and their summaries are the model's own words about it.
 */
function responses(body: Obj, rewrite: Rewrite): void {
  field(body, 'instructions', rewrite);
  if (typeof body.input === 'string') {
    body.input = rewrite(body.input);
    return;
  }
  if (!Array.isArray(body.input)) return;
  for (const item of body.input) {
    if (!isObj(item)) continue;
    switch (item.type ?? 'message') {
      case 'message':
        responsesContent(item, rewrite);
        break;
      case 'function_call':
        jsonArguments(item, rewrite);
        break;
      case 'custom_tool_call':
        field(item, 'input', rewrite);
        break;
      case 'function_call_output':
      case 'custom_tool_call_output':
        if (typeof item.output === 'string') item.output = rewrite(item.output);
        else if (Array.isArray(item.output)) for (const part of item.output) if (isObj(part)) field(part, 'text', rewrite);
        break;
    }
  }
}

/** Gemini parts: text, and the string values of function calls' args and function responses. */
function geminiParts(holder: unknown, rewrite: Rewrite): void {
  if (!isObj(holder) || !Array.isArray(holder.parts)) return;
  for (const part of holder.parts) {
    if (!isObj(part)) continue;
    field(part, 'text', rewrite);
    if (isObj(part.functionCall) && isObj(part.functionCall.args)) rewriteDeep(part.functionCall.args, rewrite);
    if (isObj(part.functionResponse) && isObj(part.functionResponse.response)) rewriteDeep(part.functionResponse.response, rewrite);
  }
}

/** Gemini generateContent / streamGenerateContent / countTokens (whose body may wrap a whole request). */
function gemini(body: Obj, rewrite: Rewrite): void {
  geminiParts(body.systemInstruction, rewrite);
  geminiParts(body.system_instruction, rewrite);
  if (Array.isArray(body.contents)) for (const c of body.contents) geminiParts(c, rewrite);
  if (isObj(body.generateContentRequest)) gemini(body.generateContentRequest, rewrite);
}

/** Model lists and Copilot's session calls (GETs) carry no body. */
const nothing = (): void => undefined;

/** Keyed on core's LlmApi: an API without its entry here does not compile, so none goes out unredacted. */
const WALKERS: Record<LlmApi, (body: Obj, rewrite: Rewrite) => void> = {
  'openai-chat': openaiChat,
  'openai-completions': completions,
  'openai-embeddings': embeddings,
  'openai-models': nothing,
  'anthropic-messages': anthropicMessages,
  'anthropic-count-tokens': anthropicMessages,
  'anthropic-models': nothing,
  'ollama-chat': ollamaChat,
  'ollama-generate': ollamaGenerate,
  'ollama-embed': embeddings,
  'ollama-tags': nothing,
  'openai-responses': responses,
  'openai-responses-socket': responses,
  'openai-responses-input-tokens': responses,
  'gemini-generate': gemini,
  'gemini-stream': gemini,
  'gemini-count-tokens': gemini,
  'gemini-models': nothing,
  'copilot-models': nothing,
  'copilot-user': nothing,
  'copilot-token': nothing,
};

/**
 * Rewrites the content strings of a recognised call; with `api` undefined (a request on an LLM
 * host the router does not recognise, let out by an `allow` route) every string value of the body.
 */
export function rewriteLlmRequest(api: LlmApi | undefined, body: unknown, rewrite: Rewrite): void {
  if (api === undefined) {
    rewriteDeep(body, rewrite);
    return;
  }
  if (isObj(body)) WALKERS[api](body, rewrite);
}

/**
 * What identifies a conversation of each API: for chats, the system prompt(s) plus the first user message
 * (both stay the same as the conversation grows, so every turn maps to the same vault); for one-shot APIs,
 * their input. A Record on LlmApi, like WALKERS.
 */
const SEEDS: Record<LlmApi, 'chat' | 'anthropic' | 'responses' | 'gemini' | 'input'> = {
  'openai-chat': 'chat',
  'openai-completions': 'input',
  'openai-embeddings': 'input',
  'openai-models': 'input',
  'anthropic-messages': 'anthropic',
  'anthropic-count-tokens': 'anthropic',
  'anthropic-models': 'input',
  'ollama-chat': 'chat',
  'ollama-generate': 'input',
  'ollama-embed': 'input',
  'ollama-tags': 'input',
  'openai-responses': 'responses',
  'openai-responses-socket': 'responses',
  'openai-responses-input-tokens': 'responses',
  'gemini-generate': 'gemini',
  'gemini-stream': 'gemini',
  'gemini-count-tokens': 'gemini',
  'gemini-models': 'input',
  'copilot-models': 'input',
  'copilot-user': 'input',
  'copilot-token': 'input',
};

export function conversationSeed(api: LlmApi | undefined, body: unknown): string {
  const parts: string[] = [api ?? 'unrecognised'];
  // An identity rewrite: the walkers only read here (they assign back the same strings).
  const collect: Rewrite = (t) => {
    parts.push(t);
    return t;
  };
  if (!isObj(body)) return parts[0]!;
  const systemAndFirstUser = (visit: (m: Obj) => void): void => {
    if (!Array.isArray(body.messages)) return;
    for (const m of body.messages) {
      if (!isObj(m)) continue;
      if (m.role === 'system' || m.role === 'developer') visit(m);
      else if (m.role === 'user') return visit(m);
    }
  };
  const seed = api === undefined ? 'input' : SEEDS[api];
  if (seed === 'chat') {
    systemAndFirstUser((m) => openaiContent(m, collect));
  } else if (seed === 'anthropic') {
    if (typeof body.system === 'string') parts.push(body.system);
    else if (Array.isArray(body.system)) anthropicBlocks(body.system, collect);
    systemAndFirstUser((m) => {
      if (typeof m.content === 'string') parts.push(m.content);
      else if (Array.isArray(m.content)) anthropicBlocks(m.content, collect);
    });
  } else if (seed === 'responses') {
    if (typeof body.instructions === 'string') parts.push(body.instructions);
    const input = typeof body.input === 'string' ? [{ role: 'user', content: body.input }] : Array.isArray(body.input) ? body.input : [];
    for (const m of input) {
      if (!isObj(m) || (m.type ?? 'message') !== 'message') continue;
      if (m.role === 'system' || m.role === 'developer') responsesContent(m, collect);
      else if (m.role === 'user') {
        responsesContent(m, collect);
        break;
      }
    }
  } else if (seed === 'gemini') {
    const req = isObj(body.generateContentRequest) ? body.generateContentRequest : body;
    geminiParts(req.systemInstruction ?? req.system_instruction, collect);
    const first = Array.isArray(req.contents) ? req.contents.find((c) => isObj(c) && (c.role ?? 'user') === 'user') : undefined;
    geminiParts(first, collect);
  } else {
    rewriteLlmRequest(api, body, collect);
  }
  return parts.join('\u0000');
}
