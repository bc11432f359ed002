import { StringDecoder } from 'node:string_decoder';
import type { BodyFilter, LlmApi } from '../core/index.js';
import type { Shape } from './translate/index.js';
import { createLineParser, createSseParser } from './translate/index.js';
import { createGeminiRestorer, createResponsesRestorer, restoreResponsesBody } from './restore-events.js';

/**
 * What the router needs from the redaction engine (redact/'s Redactor satisfies it), typed here
 * so privacy/ depends on no internals. The vault is opaque to the router.
 */
export interface TextRestorer {
  push(text: string): string;
  flush(): string;
}

/** What findInLlmRequest found: the counts; the rest is the redactor's, for redactLlmRequestWith. */
export interface LlmFindings {
  counts: Record<string, number>;
  /** Types found whose operator is `block`. */
  blocked: string[];
}

export interface RouterRedactor {
  readonly enabled: boolean;
  conversationKey(api: LlmApi | undefined, body: unknown): string;
  vault(key: string): unknown;
  /** Rewrites the content strings of `body` in place; every string value when `api` is undefined. */
  redactLlmRequest(api: LlmApi | undefined, body: unknown, vault: unknown): { counts: Record<string, number>; blocked: string[] };
  /**
   * What the content strings of `body` hold, found and counted, nothing rewritten and nothing kept in a vault
   * (large requests detected off the event loop or a slice at a time): the route is chosen on it, and a copy is
   * rewritten with it (redactLlmRequestWith) only when the call leaves the machine.
   */
  findInLlmRequest(api: LlmApi | undefined, body: unknown): Promise<LlmFindings>;
  /** Rewrites `body` (the one findInLlmRequest was given, or an unchanged copy) in place with what it found. */
  redactLlmRequestWith(api: LlmApi | undefined, body: unknown, vault: unknown, found: LlmFindings): { counts: Record<string, number>; blocked: string[] };
  restoreJson(value: unknown, vault: unknown): unknown;
  createRestorer(vault: unknown, options?: { json?: boolean }): TextRestorer;
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

const MAX_JSON_BODY = 64 * 1024 * 1024;

/**
 * A response filter that puts the originals back into what the agent sees, in the agent's own API
 * shape. Streams are restored per text channel (a content block, a choice's content, one tool
 * call's arguments), so a placeholder split across deltas is still found; only the shortest tail
 * that could still become a placeholder is held back, and it is released when its channel ends.
 * A JSON body (a non-streaming answer, or an error instead of a stream) is restored whole.
 */
export function createResponseRestorer(shape: Shape, stream: boolean, redactor: RouterRedactor, vault: unknown): BodyFilter {
  const channels = new Map<string, TextRestorer>();
  const push = (key: string, text: string, json = false): string => {
    let r = channels.get(key);
    if (!r) {
      r = redactor.createRestorer(vault, { json });
      channels.set(key, r);
    }
    return r.push(text);
  };
  const flush = (key: string): string => {
    const r = channels.get(key);
    if (!r) return '';
    channels.delete(key);
    return r.flush();
  };

  const open = (prefix: string): string[] => [...channels.keys()].filter((k) => k.startsWith(prefix));

  let mode: 'unknown' | 'json' | 'stream' = stream ? 'unknown' : 'json';
  const held: Buffer[] = [];
  let heldBytes = 0;
  const sse = createSseParser();
  const lines = createLineParser();
  let out = '';

  const events = shape === 'responses' ? createResponsesRestorer(redactor, vault) : shape === 'gemini' ? createGeminiRestorer(redactor, vault) : undefined;
  const onSse = (frame: { event: string | undefined; data: string }): void => {
    const prefix = frame.event === undefined ? '' : `event: ${frame.event}\n`;
    let msg: unknown;
    try {
      msg = frame.data === '[DONE]' ? undefined : JSON.parse(frame.data);
    } catch {
      msg = undefined;
    }
    if (!isObj(msg)) {
      out += `${prefix}data: ${frame.data}\n\n`;
      return;
    }
    if (events) {
      for (const e of events.restore(msg)) out += `${shape === 'responses' ? `event: ${String(e.type)}\n` : ''}data: ${JSON.stringify(e)}\n\n`;
      return;
    }
    const extra = shape === 'anthropic' ? restoreAnthropicEvent(msg, push, flush) : (restoreOpenAIChunk(msg, push, flush, open), '');
    out += extra + `${prefix}data: ${JSON.stringify(msg)}\n\n`;
  };
  const onLine = (line: string): void => {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      out += `${line}\n`;
      return;
    }
    if (isObj(msg)) restoreOllamaLine(msg, push, flush, redactor, vault);
    out += `${JSON.stringify(msg)}\n`;
  };

  const restoreWhole = (): Buffer => {
    const raw = Buffer.concat(held);
    try {
      const value: unknown = JSON.parse(raw.toString('utf8'));
      // Tool arguments are restored once, JSON-escaped; restoreJson must not see them again
      // (a user's literal "<EMAIL_1>" restored to itself would otherwise become the real value).
      if (shape === 'responses') {
        restoreResponsesBody(value, redactor, vault);
        return Buffer.from(JSON.stringify(value));
      }
      const putBack = shape === 'openai' ? restoreOpenAIArguments(value, redactor, vault) : () => undefined;
      const restored = redactor.restoreJson(value, vault);
      putBack();
      return Buffer.from(JSON.stringify(restored));
    } catch {
      return raw;
    }
  };

  return {
    transform(chunk) {
      if (mode === 'unknown') {
        const first = chunk.toString('utf8').trimStart();
        if (first.length === 0) return chunk;
        // An error answer to a streaming request is plain JSON; NDJSON lines are JSON too, but whole lines.
        mode = shape !== 'ollama' && first.startsWith('{') ? 'json' : 'stream';
      }
      if (mode === 'json') {
        heldBytes += chunk.length;
        if (heldBytes > MAX_JSON_BODY) throw new Error('response too large to restore');
        held.push(chunk);
        return Buffer.alloc(0);
      }
      if (shape === 'ollama') lines.push(chunk, onLine);
      else sse.push(chunk, onSse);
      const text = out;
      out = '';
      return Buffer.from(text);
    },
    flush() {
      if (mode === 'json') return restoreWhole();
      if (shape === 'ollama') lines.end(onLine);
      else sse.end(onSse);
      let text = out;
      out = '';
      // Whatever a channel still holds (a stream cut short) is better shown than lost.
      for (const key of [...channels.keys()]) text += flush(key);
      if (events) text += events.flush();
      return Buffer.from(text);
    },
  };
}

type Push = (key: string, text: string, json?: boolean) => string;
type Flush = (key: string) => string;

/** Returns frames to insert before this one (the held-back tail of a block that ends here). */
function restoreAnthropicEvent(msg: Json, push: Push, flush: Flush): string {
  const index = Number(msg.index ?? 0);
  if (msg.type === 'content_block_delta' && isObj(msg.delta)) {
    const d = msg.delta;
    if (d.type === 'text_delta' && typeof d.text === 'string') d.text = push(`t${index}`, d.text);
    else if (d.type === 'input_json_delta' && typeof d.partial_json === 'string') d.partial_json = push(`j${index}`, d.partial_json, true);
    return '';
  }
  if (msg.type === 'content_block_stop') {
    const text = flush(`t${index}`);
    const json = flush(`j${index}`);
    let extra = '';
    if (text) extra += `event: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', index, delta: { type: 'text_delta', text } })}\n\n`;
    if (json) extra += `event: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: json } })}\n\n`;
    return extra;
  }
  return '';
}

function restoreOpenAIChunk(msg: Json, push: Push, flush: Flush, open: (prefix: string) => string[]): void {
  if (!Array.isArray(msg.choices)) return;
  for (const c of msg.choices) {
    if (!isObj(c)) continue;
    const i = Number(c.index ?? 0);
    const delta = isObj(c.delta) ? c.delta : undefined;
    if (delta && typeof delta.content === 'string') delta.content = push(`c${i}`, delta.content);
    if (delta && Array.isArray(delta.tool_calls)) {
      for (const tc of delta.tool_calls) {
        if (isObj(tc) && isObj(tc.function) && typeof tc.function.arguments === 'string') tc.function.arguments = push(`a${i}.${Number(tc.index ?? 0)}`, tc.function.arguments, true);
      }
    }
    // The choice ends here: release what each of its channels held back into this last delta.
    if (c.finish_reason != null) {
      const tail = flush(`c${i}`);
      const d = delta ?? (c.delta = {});
      if (tail) d.content = (typeof d.content === 'string' ? d.content : '') + tail;
      const prefix = `a${i}.`;
      const calls: Json[] = [];
      for (const key of open(prefix)) {
        const rest = flush(key);
        if (rest) calls.push({ index: Number(key.slice(prefix.length)), function: { arguments: rest } });
      }
      if (calls.length) d.tool_calls = [...(Array.isArray(d.tool_calls) ? d.tool_calls : []), ...calls];
    }
  }
}

function restoreOllamaLine(msg: Json, push: Push, flush: Flush, redactor: RouterRedactor, vault: unknown): void {
  const done = msg.done === true;
  if (isObj(msg.message)) {
    const m = msg.message;
    if (typeof m.content === 'string') m.content = push('c', m.content) + (done ? flush('c') : '');
    // Ollama sends tool calls whole, arguments as an object.
    if (Array.isArray(m.tool_calls)) redactor.restoreJson(m.tool_calls, vault);
  } else if (typeof msg.response === 'string') {
    msg.response = push('c', msg.response) + (done ? flush('c') : '');
  } else if (typeof msg.error === 'string') {
    redactor.restoreJson(msg, vault);
  }
}

/**
 * OpenAI tool arguments are JSON inside a string: originals must be JSON-escaped there. They are
 * restored here and blanked; the returned function puts them back after the generic restore.
 */
function restoreOpenAIArguments(value: unknown, redactor: RouterRedactor, vault: unknown): () => void {
  const done: Array<{ fn: Json; args: string }> = [];
  if (isObj(value) && Array.isArray(value.choices)) {
    for (const c of value.choices) {
      const calls = isObj(c) && isObj(c.message) && Array.isArray(c.message.tool_calls) ? c.message.tool_calls : [];
      for (const tc of calls) {
        if (!isObj(tc) || !isObj(tc.function) || typeof tc.function.arguments !== 'string') continue;
        const r = redactor.createRestorer(vault, { json: true });
        done.push({ fn: tc.function, args: r.push(tc.function.arguments) + r.flush() });
        tc.function.arguments = '';
      }
    }
  }
  return () => {
    for (const { fn, args } of done) fn.arguments = args;
  };
}

/**
 * For a request the router does not recognise, let out by an `allow` route with its strings
 * pseudonymised: the answer's shape is unknown, so placeholders are put back wherever they appear
 * in its text, JSON-escaped while `json()` says the answer is JSON (or an event stream of it).
 */
export function createTextRestoreFilter(redactor: RouterRedactor, vault: unknown, json: () => boolean): BodyFilter {
  const decoder = new StringDecoder('utf8');
  let restorer: TextRestorer | undefined;
  const open = (): TextRestorer => (restorer ??= redactor.createRestorer(vault, { json: json() }));
  return {
    transform: (chunk) => Buffer.from(open().push(decoder.write(chunk))),
    flush: () => {
      const r = open();
      return Buffer.from(r.push(decoder.end()) + r.flush());
    },
  };
}
