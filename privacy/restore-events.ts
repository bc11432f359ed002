import type { RouterRedactor, TextRestorer } from './restore.js';

/**
 * Restoration of the Responses API's events and Gemini's stream chunks, message by message, so the
 * same code serves SSE (in the response filter) and WebSocket messages (in the relay). Deltas are
 * restored per channel (one output text, one call's arguments), holding back only a tail that could
 * still become a placeholder; when a channel's `.done` event comes, that tail goes out first as one
 * more delta. Every whole value (`.done` texts, finished items, the final response) is restored
 * whole. Responses events are renumbered, since restoration may add one.
 */
type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

export interface EventRestorer {
  /** The events to send in place of this one (usually just it, restored). */
  restore(event: Json): Json[];
  /** What channels still hold when the stream ends early. */
  flush(): string;
}

function whole(redactor: RouterRedactor, vault: unknown, text: string, json = false): string {
  const r = redactor.createRestorer(vault, { json });
  return r.push(text) + r.flush();
}

/** A finished output item: message text, call arguments (JSON inside a string) and custom input. */
function restoreItem(item: unknown, redactor: RouterRedactor, vault: unknown): void {
  if (!isObj(item)) return;
  if (item.type === 'function_call' && typeof item.arguments === 'string') item.arguments = whole(redactor, vault, item.arguments, true);
  else if (item.type === 'custom_tool_call' && typeof item.input === 'string') item.input = whole(redactor, vault, item.input);
  else if (item.type === 'message' && Array.isArray(item.content)) for (const part of item.content) restorePart(part, redactor, vault);
}

function restorePart(part: unknown, redactor: RouterRedactor, vault: unknown): void {
  if (!isObj(part)) return;
  if (typeof part.text === 'string') part.text = whole(redactor, vault, part.text);
  if (typeof part.refusal === 'string') part.refusal = whole(redactor, vault, part.refusal);
}

export function createResponsesRestorer(redactor: RouterRedactor, vault: unknown): EventRestorer {
  const channels = new Map<string, TextRestorer>();
  let seq = 0;
  const push = (key: string, text: string, json: boolean): string => {
    let r = channels.get(key);
    if (!r) {
      r = redactor.createRestorer(vault, { json });
      channels.set(key, r);
    }
    return r.push(text);
  };
  const drain = (key: string): string => {
    const r = channels.get(key);
    channels.delete(key);
    return r ? r.flush() : '';
  };
  /** Delta event type → [channel prefix, JSON-escaped, the matching .done event]. */
  const DELTAS: Record<string, [string, boolean]> = {
    'response.output_text.delta': ['t', false],
    'response.refusal.delta': ['r', false],
    'response.function_call_arguments.delta': ['a', true],
    'response.custom_tool_call_input.delta': ['c', false],
  };
  const DONES: Record<string, [string, string, string, boolean]> = {
    'response.output_text.done': ['t', 'response.output_text.delta', 'text', false],
    'response.refusal.done': ['r', 'response.refusal.delta', 'refusal', false],
    'response.function_call_arguments.done': ['a', 'response.function_call_arguments.delta', 'arguments', true],
    'response.custom_tool_call_input.done': ['c', 'response.custom_tool_call_input.delta', 'input', false],
  };
  const keyOf = (prefix: string, e: Json): string => `${prefix}:${String(e.item_id)}:${String(e.content_index ?? 0)}`;
  const number = (e: Json): Json => (typeof e.sequence_number === 'number' ? { ...e, sequence_number: seq++ } : e);
  return {
    restore(event) {
      const type = String(event.type);
      // Each response numbers its events from 0 (a WebSocket carries one response per turn).
      if (type === 'response.created') seq = 0;
      const delta = DELTAS[type];
      if (delta && typeof event.delta === 'string') {
        const text = push(keyOf(delta[0], event), event.delta, delta[1]);
        // All of it held back (it may be the start of a placeholder): nothing to send yet.
        return text ? [number({ ...event, delta: text })] : [];
      }
      const done = DONES[type];
      const out: Json[] = [];
      if (done) {
        const tail = drain(keyOf(done[0], event));
        if (tail) out.push(number({ type: done[1], item_id: event.item_id, output_index: event.output_index, ...(event.content_index !== undefined ? { content_index: event.content_index } : {}), delta: tail, sequence_number: 0 }));
        const field = done[2];
        if (typeof event[field] === 'string') event[field] = whole(redactor, vault, event[field], done[3]);
      } else if (type === 'response.content_part.done' || type === 'response.content_part.added') {
        restorePart(event.part, redactor, vault);
      } else if (type === 'response.output_item.done' || type === 'response.output_item.added') {
        restoreItem(event.item, redactor, vault);
      } else if (isObj(event.response) && Array.isArray(event.response.output)) {
        for (const item of event.response.output) restoreItem(item, redactor, vault);
        if (isObj(event.response.error)) redactor.restoreJson(event.response.error, vault);
      } else if (type === 'error') {
        redactor.restoreJson(event, vault);
      }
      out.push(number(event));
      return out;
    },
    flush() {
      let text = '';
      for (const key of [...channels.keys()]) text += drain(key);
      return text;
    },
  };
}

/** A non-streaming Response: output items restored, arguments JSON-escaped. */
export function restoreResponsesBody(body: unknown, redactor: RouterRedactor, vault: unknown): void {
  if (!isObj(body)) return;
  if (Array.isArray(body.output)) for (const item of body.output) restoreItem(item, redactor, vault);
  else redactor.restoreJson(body, vault);
}

/**
 * Gemini chunks: text parts through one channel per candidate; function calls arrive whole (args an
 * object) and are restored whole; the chunk with the finish reason releases the held-back tail.
 */
export function createGeminiRestorer(redactor: RouterRedactor, vault: unknown): EventRestorer {
  const channels = new Map<number, TextRestorer>();
  return {
    restore(chunk) {
      for (const [i, c] of (Array.isArray(chunk.candidates) ? chunk.candidates : []).entries()) {
        if (!isObj(c)) continue;
        const content = isObj(c.content) ? c.content : (c.content = { role: 'model', parts: [] });
        const parts = Array.isArray(content.parts) ? content.parts : (content.parts = []);
        let r = channels.get(i);
        if (!r) {
          r = redactor.createRestorer(vault, {});
          channels.set(i, r);
        }
        for (const p of parts) {
          if (!isObj(p)) continue;
          if (typeof p.text === 'string' && p.thought !== true) p.text = r.push(p.text);
          else if (isObj(p.functionCall)) redactor.restoreJson(p.functionCall, vault);
        }
        if (c.finishReason !== undefined) {
          channels.delete(i);
          const tail = r.flush();
          const last = parts.at(-1);
          if (tail && isObj(last) && typeof last.text === 'string') last.text += tail;
          else if (tail) parts.push({ text: tail });
        }
        // Gemini CLI takes an empty text part for a broken chunk: a part held back entirely goes.
        content.parts = parts.filter((p) => !(isObj(p) && p.text === '' && Object.keys(p).length === 1));
      }
      if (isObj(chunk.error)) redactor.restoreJson(chunk.error, vault);
      const empty = Array.isArray(chunk.candidates) && chunk.candidates.every((c) => isObj(c) && c.finishReason === undefined && isObj(c.content) && Array.isArray(c.content.parts) && c.content.parts.length === 0);
      return empty && !isObj(chunk.error) ? [] : [chunk];
    },
    flush() {
      let text = '';
      for (const r of channels.values()) text += r.flush();
      channels.clear();
      return text;
    },
  };
}
