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

/** OpenAI `function.arguments` is JSON text: rewrite the string values inside it and serialise it again. */
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
  try {
    holder.arguments = JSON.stringify(rewriteDeep(parsed, rewrite));
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

/** Model lists carry no body. */
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
const SEEDS: Record<LlmApi, 'chat' | 'anthropic' | 'input'> = {
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
  } else {
    rewriteLlmRequest(api, body, collect);
  }
  return parts.join('\u0000');
}
