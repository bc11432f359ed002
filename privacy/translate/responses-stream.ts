import type { ApiError, ChatEvent, ChatRequest, StopReason, StreamDecoder, StreamEncoder } from './chat.js';
import { isRecord, newId } from './chat.js';
import { createSseParser, sseFrame } from './framing.js';
import { clientToolOf, flatName, freeformInput, kindOfCode, responseError, responseObject, statusOf, stopOf, usageOf, usageOut } from './responses.js';

/**
 * The Responses API's streamed events, over SSE (`event: <type>` + `data: {…}`) and, as the same
 * JSON objects, over WebSocket: response.created / in_progress, output_item.added, content_part.added,
 * output_text.delta / done, function_call_arguments.delta / done, custom_tool_call_input.delta /
 * done, output_item.done, and one terminal event (response.completed, response.incomplete or
 * response.failed). Every event carries a sequence_number.
 */
type Json = Record<string, unknown>;

interface OpenTool {
  itemId: string;
  outputIndex: number;
  callId: string;
  name: string;
  namespace?: string;
  freeform: boolean;
  args: string;
}

/** Neutral events → Responses events, as JSON objects (the transport frames them). */
export function createResponsesEventEncoder(model: string, req?: ChatRequest): { encode(ev: ChatEvent): Json[] } {
  const id = newId('resp_');
  const createdAt = Math.floor(Date.now() / 1000);
  const items: Array<{ index: number; item: Json }> = [];
  const tools = new Map<number, OpenTool>();
  let seq = 0;
  let nextIndex = 0;
  let started = false;
  let done = false;
  let message: { itemId: string; outputIndex: number; text: string } | undefined;
  let input = 0;
  let output = 0;
  let stop: StopReason | undefined;

  const ev = (type: string, fields: Json): Json => ({ type, ...fields, sequence_number: seq++ });
  const snapshot = (status: string, extra: { stop?: StopReason; usage?: Json; error?: Json } = {}): Json =>
    responseObject({ id, model, status, output: [...items].sort((a, b) => a.index - b.index).map((x) => x.item), createdAt, ...(req ? { req } : {}), ...extra });
  const start = (out: Json[]): void => {
    if (started) return;
    started = true;
    out.push(ev('response.created', { response: snapshot('in_progress') }), ev('response.in_progress', { response: snapshot('in_progress') }));
  };
  const closeMessage = (out: Json[]): void => {
    if (!message) return;
    const { itemId, outputIndex, text } = message;
    message = undefined;
    const part = { type: 'output_text', text, annotations: [], logprobs: [] };
    const item = { id: itemId, type: 'message', status: 'completed', role: 'assistant', content: [part] };
    items.push({ index: outputIndex, item });
    out.push(
      ev('response.output_text.done', { item_id: itemId, output_index: outputIndex, content_index: 0, text, logprobs: [] }),
      ev('response.content_part.done', { item_id: itemId, output_index: outputIndex, content_index: 0, part }),
      ev('response.output_item.done', { output_index: outputIndex, item }),
    );
  };
  const closeTool = (t: OpenTool, out: Json[]): void => {
    const ns = t.namespace ? { namespace: t.namespace } : {};
    let item: Json;
    if (t.freeform) {
      const text = freeformInput(t.args);
      item = { id: t.itemId, type: 'custom_tool_call', status: 'completed', call_id: t.callId, name: t.name, ...ns, input: text };
      // Arguments came as JSON around the text; the text is known only whole, so it goes in one delta.
      if (text) out.push(ev('response.custom_tool_call_input.delta', { item_id: t.itemId, output_index: t.outputIndex, delta: text }));
      out.push(ev('response.custom_tool_call_input.done', { item_id: t.itemId, output_index: t.outputIndex, input: text }));
    } else {
      item = { id: t.itemId, type: 'function_call', status: 'completed', call_id: t.callId, name: t.name, ...ns, arguments: t.args };
      out.push(ev('response.function_call_arguments.done', { item_id: t.itemId, output_index: t.outputIndex, name: t.name, arguments: t.args }));
    }
    items.push({ index: t.outputIndex, item });
    out.push(ev('response.output_item.done', { output_index: t.outputIndex, item }));
  };

  return {
    encode(e) {
      const out: Json[] = [];
      if (done) return out;
      if (e.type === 'start' && e.inputTokens !== undefined) input = e.inputTokens;
      if (e.type !== 'error') start(out);
      switch (e.type) {
        case 'text':
          if (!e.text) break;
          if (!message) {
            message = { itemId: newId('msg_'), outputIndex: nextIndex++, text: '' };
            out.push(
              ev('response.output_item.added', { output_index: message.outputIndex, item: { id: message.itemId, type: 'message', status: 'in_progress', role: 'assistant', content: [] } }),
              ev('response.content_part.added', { item_id: message.itemId, output_index: message.outputIndex, content_index: 0, part: { type: 'output_text', text: '', annotations: [], logprobs: [] } }),
            );
          }
          message.text += e.text;
          out.push(ev('response.output_text.delta', { item_id: message.itemId, output_index: message.outputIndex, content_index: 0, delta: e.text, logprobs: [] }));
          break;
        case 'tool_start': {
          closeMessage(out);
          const tool = clientToolOf(req, e.name);
          const t: OpenTool = { itemId: newId(tool.freeform ? 'ctc_' : 'fc_'), outputIndex: nextIndex++, callId: e.id || newId('call_'), name: tool.name, freeform: tool.freeform, args: '', ...(tool.namespace ? { namespace: tool.namespace } : {}) };
          tools.set(e.index, t);
          const ns = t.namespace ? { namespace: t.namespace } : {};
          const item = t.freeform
            ? { id: t.itemId, type: 'custom_tool_call', status: 'in_progress', call_id: t.callId, name: t.name, ...ns, input: '' }
            : { id: t.itemId, type: 'function_call', status: 'in_progress', call_id: t.callId, name: t.name, ...ns, arguments: '' };
          out.push(ev('response.output_item.added', { output_index: t.outputIndex, item }));
          break;
        }
        case 'tool_args': {
          const t = tools.get(e.index);
          if (!t || !e.json) break;
          t.args += e.json;
          if (!t.freeform) out.push(ev('response.function_call_arguments.delta', { item_id: t.itemId, output_index: t.outputIndex, delta: e.json }));
          break;
        }
        case 'finish':
          stop = e.reason;
          break;
        case 'usage':
          if (e.inputTokens !== undefined) input = e.inputTokens;
          if (e.outputTokens !== undefined) output = e.outputTokens;
          break;
        case 'end': {
          done = true;
          closeMessage(out);
          for (const t of [...tools.values()].sort((a, b) => a.outputIndex - b.outputIndex)) closeTool(t, out);
          const reason = stop === 'stop' && tools.size ? 'tool_calls' : (stop ?? (tools.size ? 'tool_calls' : 'stop'));
          const status = statusOf(reason);
          out.push(ev(status === 'completed' ? 'response.completed' : 'response.incomplete', { response: snapshot(status, { stop: reason, usage: usageOut(input, output) }) }));
          break;
        }
        case 'error':
          done = true;
          start(out);
          out.push(ev('response.failed', { response: snapshot('failed', { error: responseError(e.error) }) }));
          break;
        case 'start':
          break;
      }
      return out;
    },
  };
}

export function createResponsesEncoder(model: string, req?: ChatRequest): StreamEncoder {
  const events = createResponsesEventEncoder(model, req);
  return {
    contentType: 'text/event-stream; charset=utf-8',
    encode(e) {
      let out = '';
      for (const x of events.encode(e)) out += sseFrame(String(x.type), x);
      return out;
    },
  };
}

/** Responses events (parsed JSON, from SSE or WebSocket) → neutral events. */
export function createResponsesEventDecoder(): { push(msg: Json, out: ChatEvent[]): void; readonly ended: boolean } {
  const byItem = new Map<string, { index: number; custom: boolean; sawArgs: boolean }>();
  // `ended` is a plain field, not a getter over a local: a getter closure per stream would give each
  // call's decoder a hidden class of its own, kept alive by V8's scavenger (see proxy/request.ts).
  const decoder = {
    ended: false,
    push(msg: Json, out: ChatEvent[]): void {
      if (decoder.ended) return;
      const item = isRecord(msg.item) ? msg.item : {};
      const name = typeof item.namespace === 'string' && item.namespace ? flatName(item.namespace, String(item.name ?? '')) : String(item.name ?? '');
      switch (msg.type) {
        case 'response.created': {
          const r = isRecord(msg.response) ? msg.response : {};
          out.push({ type: 'start', id: typeof r.id === 'string' ? r.id : undefined, model: typeof r.model === 'string' ? r.model : undefined });
          break;
        }
        case 'response.output_item.added':
          if (item.type === 'function_call' || item.type === 'custom_tool_call') {
            const index = byItem.size;
            const custom = item.type === 'custom_tool_call';
            byItem.set(String(item.id ?? index), { index, custom, sawArgs: false });
            out.push({ type: 'tool_start', index, id: String(item.call_id ?? newId('call_')), name });
            if (custom) out.push({ type: 'tool_args', index, json: '{"input":"' });
          }
          break;
        case 'response.output_text.delta':
        case 'response.refusal.delta':
          if (typeof msg.delta === 'string' && msg.delta) out.push({ type: 'text', text: msg.delta });
          break;
        case 'response.function_call_arguments.delta':
        case 'response.custom_tool_call_input.delta': {
          const t = byItem.get(String(msg.item_id));
          if (!t || typeof msg.delta !== 'string' || !msg.delta) break;
          t.sawArgs = true;
          // Escaping is per character, so escaped pieces of the text concatenate to the escaped text.
          out.push({ type: 'tool_args', index: t.index, json: t.custom ? JSON.stringify(msg.delta).slice(1, -1) : msg.delta });
          break;
        }
        case 'response.output_item.done': {
          const t = byItem.get(String(item.id));
          if (!t) break;
          // A server may send the whole call only here.
          if (!t.sawArgs) {
            const whole = t.custom ? JSON.stringify(String(item.input ?? '')).slice(1, -1) : typeof item.arguments === 'string' ? item.arguments : '';
            if (whole) out.push({ type: 'tool_args', index: t.index, json: whole });
          }
          if (t.custom) out.push({ type: 'tool_args', index: t.index, json: '"}' });
          break;
        }
        case 'response.completed':
        case 'response.incomplete': {
          const r = isRecord(msg.response) ? msg.response : {};
          decoder.ended = true;
          out.push({ type: 'usage', ...usageOf(r.usage) });
          out.push({ type: 'finish', reason: stopOf(r.status, r.incomplete_details, byItem.size > 0) });
          out.push({ type: 'end' });
          break;
        }
        case 'response.failed': {
          const r = isRecord(msg.response) ? msg.response : {};
          const e = isRecord(r.error) ? r.error : {};
          decoder.ended = true;
          out.push({ type: 'error', error: errorOf(e.code, e.message, 500) });
          break;
        }
        case 'error': {
          decoder.ended = true;
          const e = isRecord(msg.error) ? msg.error : msg;
          out.push({ type: 'error', error: errorOf(e.code, e.message, typeof msg.status === 'number' ? msg.status : 500) });
          break;
        }
      }
    },
  };
  return decoder;
}

function errorOf(code: unknown, message: unknown, status: number): ApiError {
  const kind = kindOfCode(code, status);
  const statusFor: Partial<Record<ApiError['kind'], number>> = { rate_limit: 429, overloaded: 503, authentication: 401, not_found: 404, invalid_request: 400 };
  return { status: status === 500 ? (statusFor[kind] ?? 500) : status, kind, message: typeof message === 'string' ? message : 'backend error' };
}

export function createResponsesDecoder(): StreamDecoder {
  const sse = createSseParser();
  const events = createResponsesEventDecoder();
  let out: ChatEvent[] = [];
  const onFrame = (frame: { data: string }): void => {
    let msg: unknown;
    try {
      msg = JSON.parse(frame.data);
    } catch {
      return;
    }
    if (isRecord(msg)) events.push(msg, out);
  };
  return {
    push(chunk, sink) {
      out = sink;
      sse.push(chunk, onFrame);
    },
    end(sink) {
      out = sink;
      sse.end(onFrame);
      if (!events.ended) sink.push({ type: 'error', error: { status: 502, kind: 'server', message: 'backend stream ended early' } });
    },
  };
}
