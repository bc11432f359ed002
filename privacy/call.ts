import type { Dispatcher } from 'undici';
import type { Cancel, StageResponse } from '../core/index.js';
import type { Backend, CredentialSource } from './backend.js';
import { backendHeaders } from './backend.js';
import type { LlmCallKind } from './apis.js';
import type { ApiError, ChatEvent, ClientCodec, Shape } from './translate/index.js';
import { codecs, createSseParser, estimateTokens, parseBackendError, parseEmbedRequest, parseEmbedResponse, renderEmbedRequest, renderEmbedResponse, renderError } from './translate/index.js';
import type { CallStats } from './stats.js';

type Json = Record<string, unknown>;

/** One LLM call the router answers from a backend. */
export interface RoutedCall {
  /** The route that sent the call here, named in errors. */
  route: string;
  clientShape: Shape;
  /** The client's side of a chat-like call: its chat codec, or a legacy completions codec. */
  client: ClientCodec;
  kind: LlmCallKind;
  body: Json;
  requestedModel: string;
  stream: boolean;
  clientHeaders: Record<string, string | string[] | undefined>;
  /** The client went away (the request's Cancel: no AbortController per call). */
  cancel: Cancel;
  stats: CallStats;
  /** Called once when the answer is complete (or failed), for the audit event. */
  done(): void;
  /**
   * For a caller that encodes the answer itself (the Responses WebSocket session): a streamed answer hands it
   * each event as the backend's stream is decoded, instead of encoding them into the client's stream format
   * (which that caller would only decode again), and its body, read to the end, yields nothing.
   */
  events?: (event: ChatEvent) => void;
}

export interface Attempt {
  backend: Backend;
  model: string;
}

const MAX_BACKEND_BODY = 64 * 1024 * 1024;
const MAX_ERROR_BODY = 1024 * 1024;

export function errorResponse(shape: Shape, err: ApiError, extra: Record<string, string> = {}): StageResponse {
  const { status, body } = renderError(shape, err);
  return { status, headers: { 'content-type': 'application/json', ...extra }, body };
}

function json(status: number, body: unknown, extra: Record<string, string> = {}): StageResponse {
  return { status, headers: { 'content-type': 'application/json', ...extra }, body: JSON.stringify(body) };
}

async function readText(body: Dispatcher.ResponseData['body'], cap: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > cap) {
      body.destroy();
      throw new Error(`backend response larger than ${cap} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

interface Built {
  path: string;
  body: Json;
  /** The backend answers in its chat shape and the client codec renders it (chat, or completions over chat). */
  viaChat: boolean;
  /** Bytes pass through untouched: the backend speaks the client's own shape for this call. */
  native: boolean;
}

/** What to send: path and JSON body for this backend, or an error when the backend cannot serve the kind. */
function buildRequest(call: RoutedCall, attempt: Attempt): Built | ApiError {
  const { backend, model } = attempt;
  const path = backend.pathFor(call.kind, call.clientShape);
  if (call.kind === 'completions' && path === undefined) {
    // No native completions endpoint in this shape: ask the backend's chat API instead.
    const req = call.client.parseRequest(call.body);
    const cap = backend.config.max_output_tokens;
    if (cap !== undefined && (req.maxTokens ?? 0) > cap) req.maxTokens = cap;
    return { path: backend.pathFor('chat', call.clientShape)!, body: codecs[backend.shape].renderRequest(req, model), viaChat: true, native: false };
  }
  if (path === undefined) {
    if (call.kind === 'count-tokens') return { path: '', body: {}, viaChat: false, native: false };
    return { status: 400, kind: 'invalid_request', message: `backend "${backend.name}" (${backend.config.type}) cannot serve ${call.kind}` };
  }
  const built = buildBody(call, attempt);
  return { path, body: built.body, viaChat: call.kind === 'chat', native: built.native };
}

/** A same-shape body with its output-token request lowered to the backend's cap. */
function capNative(shape: Shape, body: Json, cap: number | undefined): Json {
  if (cap === undefined) return body;
  const lower = (holder: Json, key: string): void => {
    if (typeof holder[key] === 'number' && (holder[key] as number) > cap) holder[key] = cap;
  };
  const out = { ...body };
  if (shape === 'ollama') {
    if (out.options !== null && typeof out.options === 'object') {
      out.options = { ...(out.options as Json) };
      lower(out.options as Json, 'num_predict');
    }
  } else {
    for (const key of ['max_tokens', 'max_completion_tokens', 'max_output_tokens']) lower(out, key);
  }
  return out;
}

function buildBody(call: RoutedCall, { backend, model }: Attempt): { body: Json; native: boolean } {
  const cap = backend.config.max_output_tokens;
  switch (call.kind) {
    case 'chat': {
      if (backend.shape === call.clientShape) {
        const body = capNative(backend.shape, { ...call.body, model }, cap);
        // Ask an OpenAI backend for usage even when the client did not: the audit needs tokens (pump drops the extra chunk).
        if (backend.shape === 'openai' && call.stream && !clientWantsUsage(call)) return { body: { ...body, stream_options: { ...(call.body.stream_options as Json | undefined), include_usage: true } }, native: true };
        return { body, native: true };
      }
      const req = call.client.parseRequest(call.body);
      // Gemini says whether it streams in the path, not the body: the call knows for every shape.
      req.stream = call.stream;
      if (cap !== undefined && (req.maxTokens ?? 0) > cap) req.maxTokens = cap;
      return { body: codecs[backend.shape].renderRequest(req, model), native: false };
    }
    case 'embeddings': {
      const shape = backend.embedShape!;
      if (shape === call.clientShape) return { body: { ...call.body, model }, native: true };
      return { body: renderEmbedRequest(shape, parseEmbedRequest(call.clientShape, call.body), model), native: false };
    }
    default:
      return { body: { ...call.body, model }, native: true };
  }
}

/**
 * Tries each attempt in turn (the route's backend, then its fallback) while nothing has reached
 * the client; a backend that answered at all, even with an error, is final.
 */
export async function executeCall(call: RoutedCall, attempts: readonly Attempt[], credentials: CredentialSource | undefined): Promise<{ response: StageResponse; attempt: Attempt }> {
  let lastError = '';
  for (const attempt of attempts) {
    call.stats.backend = attempt.backend.name;
    call.stats.backendModel = attempt.model;
    const built = buildRequest(call, attempt);
    if ('kind' in built) {
      call.stats.status = built.status;
      return { response: finish(call, errorResponse(call.clientShape, built)), attempt };
    }
    if (call.kind === 'count-tokens' && built.path === '') {
      call.stats.status = 200;
      call.stats.inputTokens = estimateTokens(call.body);
      return { response: finish(call, json(200, countBody(call.clientShape, call.stats.inputTokens), { 'x-sluice-estimate': 'true' })), attempt };
    }
    let res: Dispatcher.ResponseData;
    try {
      res = await attempt.backend.request({
        method: 'POST',
        path: built.path,
        headers: backendHeaders(attempt.backend, credentials, call.clientHeaders, call.clientShape),
        body: JSON.stringify(built.body),
        signal: call.cancel,
      });
    } catch (err) {
      if (call.cancel.aborted) throw err;
      lastError = `${lastError ? `${lastError}; ` : ''}backend "${attempt.backend.name}" unreachable: ${(err as Error).message}`;
      continue;
    }
    return { response: await answer(call, attempt, built, res), attempt };
  }
  call.stats.status = 503;
  call.stats.error = lastError;
  // Every backend of the route is down: the SDKs' retries (minutes of backoff with Claude Code) would not change that.
  const message = `inference route "${call.route}": ${lastError}${attempts.length > 1 ? ' (and its fallback)' : ''}`;
  return { response: finish(call, errorResponse(call.clientShape, { status: 503, kind: 'overloaded', message }, { 'x-sluice-error': 'backend_unavailable', 'x-should-retry': 'false' })), attempt: attempts[0]! };
}

/** A token count in the client's own shape (Anthropic's count_tokens, Responses' input_tokens, Gemini's countTokens). */
function countBody(shape: Shape, tokens: number): Json {
  if (shape === 'gemini') return { totalTokens: tokens };
  if (shape === 'responses') return { object: 'response.input_tokens', input_tokens: tokens };
  return { input_tokens: tokens };
}

/** A whole (not streamed) answer: its size is known now, before the call is reported. */
function finish(call: RoutedCall, response: StageResponse): StageResponse {
  if (typeof response.body === 'string') call.stats.responseBytes = Buffer.byteLength(response.body);
  call.done();
  return response;
}

async function answer(call: RoutedCall, attempt: Attempt, built: Built, res: Dispatcher.ResponseData): Promise<StageResponse> {
  const { backend } = attempt;
  const headers = { 'x-sluice-backend': backend.name };
  call.stats.status = res.statusCode;
  if (res.statusCode >= 400) {
    const text = await readText(res.body, MAX_ERROR_BODY).catch(() => '');
    const err = parseBackendError(res.statusCode, text);
    call.stats.error = err.message;
    return finish(call, errorResponse(call.clientShape, err, headers));
  }
  if (built.viaChat && call.stream) {
    return { status: 200, headers: { 'content-type': call.client.streamType, 'cache-control': 'no-cache', ...headers }, body: pump(call, backend, built.native, res) };
  }
  if (call.stream) {
    // A native stream this router does not read (legacy completions): bytes through as they come.
    const type = res.headers['content-type'];
    return { status: 200, headers: { 'content-type': typeof type === 'string' ? type : call.client.streamType, 'cache-control': 'no-cache', ...headers }, body: relay(call, res) };
  }
  try {
    const text = await readText(res.body, MAX_BACKEND_BODY);
    const parsed = JSON.parse(text) as Json;
    let out: Json | string = text;
    if (built.viaChat) {
      const neutral = codecs[backend.shape].parseResponse(parsed);
      call.stats.inputTokens = neutral.usage.inputTokens;
      call.stats.outputTokens = neutral.usage.outputTokens;
      call.stats.ttftMs = call.stats.elapsed();
      if (!built.native) out = call.client.renderResponse(neutral, call.requestedModel);
    } else if (call.kind === 'embeddings' && backend.embedShape !== call.clientShape) {
      const neutral = parseEmbedResponse(backend.embedShape!, parsed);
      call.stats.inputTokens = neutral.inputTokens;
      const base64 = parseEmbedRequest(call.clientShape, call.body).base64;
      out = renderEmbedResponse(call.clientShape, neutral, call.requestedModel, base64);
    } else if (call.kind === 'count-tokens' && typeof parsed.input_tokens === 'number') {
      call.stats.inputTokens = parsed.input_tokens;
    }
    return finish(call, { status: res.statusCode, headers: { 'content-type': 'application/json', ...headers }, body: typeof out === 'string' ? out : JSON.stringify(out) });
  } catch (err) {
    const e: ApiError = { status: 502, kind: 'server', message: `backend "${backend.name}" sent an unreadable answer: ${(err as Error).message}` };
    call.stats.status = 502;
    call.stats.error = e.message;
    return finish(call, errorResponse(call.clientShape, e, headers));
  }
}

/**
 * Streams the backend's answer to the client as it comes: each backend chunk is decoded, and
 * every event completed by it is encoded and flushed at once. Same-shape calls pass the bytes
 * through untouched and only read them for the audit. A failure mid-stream ends the stream with
 * an error event in the client's own shape; a client that goes away aborts the backend request.
 */
async function* pump(call: RoutedCall, backend: Backend, same: boolean, res: Dispatcher.ResponseData): AsyncGenerator<Uint8Array> {
  const decoder = codecs[backend.shape].createDecoder();
  const includeUsage = clientWantsUsage(call);
  const sink = call.events;
  const strip = same && !sink && backend.shape === 'openai' && !includeUsage ? usageStripper() : undefined;
  const encoder = same || sink ? undefined : call.client.createEncoder(call.requestedModel, includeUsage);
  const events: ChatEvent[] = [];
  let completed = false;
  const drain = (): string => {
    let out = '';
    for (const ev of events) {
      call.stats.observe(ev);
      if (sink) sink(ev);
      else if (encoder) out += encoder.encode(ev);
    }
    events.length = 0;
    return out;
  };
  try {
    for await (const chunk of res.body) {
      decoder.push(chunk as Buffer, events);
      const out = drain();
      if (sink) continue;
      if (strip) {
        const kept = strip.push(chunk as Buffer);
        if (kept.length) yield Buffer.from(kept);
      } else if (same) yield chunk as Buffer;
      else if (out.length) yield Buffer.from(out);
    }
    decoder.end(events);
    const out = drain();
    if (out.length) yield Buffer.from(out);
    const rest = strip?.end() ?? '';
    if (rest.length) yield Buffer.from(rest);
    completed = true;
  } catch (err) {
    if (call.cancel.aborted) {
      call.stats.error = 'client disconnected';
      return;
    }
    const idle = (err as { code?: string }).code === 'UND_ERR_BODY_TIMEOUT';
    const error: ApiError = idle
      ? { status: 504, kind: 'timeout', message: `backend "${backend.name}" sent nothing for ${backend.timeoutMs} ms` }
      : { status: 502, kind: 'server', message: `backend "${backend.name}" stream failed: ${(err as Error).message}` };
    call.stats.error = error.message;
    if (sink) {
      sink({ type: 'error', error });
      return;
    }
    const out = (encoder ?? call.client.createEncoder(call.requestedModel, includeUsage)).encode({ type: 'error', error });
    if (out.length) yield Buffer.from(out);
  } finally {
    if (!completed) res.body.destroy();
    call.done();
  }
}

async function* relay(call: RoutedCall, res: Dispatcher.ResponseData): AsyncGenerator<Uint8Array> {
  let completed = false;
  try {
    for await (const chunk of res.body) {
      call.stats.ttftMs ??= call.stats.elapsed();
      yield chunk as Buffer;
    }
    completed = true;
  } catch (err) {
    call.stats.error = call.cancel.aborted ? 'client disconnected' : (err as Error).message;
  } finally {
    if (!completed) res.body.destroy();
    call.done();
  }
}

function clientWantsUsage(call: RoutedCall): boolean {
  return call.clientShape === 'openai' && (call.body.stream_options as Json | undefined)?.include_usage === true;
}

/** Re-frames an OpenAI stream without the usage-only chunk the client did not ask for. */
function usageStripper(): { push(chunk: Buffer): string; end(): string } {
  const sse = createSseParser();
  let out = '';
  const onFrame = (frame: { data: string }): void => {
    if (frame.data.includes('"choices":[]') && frame.data.includes('"usage":{')) return;
    out += `data: ${frame.data}\n\n`;
  };
  const take = (): string => {
    const s = out;
    out = '';
    return s;
  };
  return {
    push(chunk) {
      sse.push(chunk, onFrame);
      return take();
    },
    end() {
      sse.end(onFrame);
      return take();
    },
  };
}
