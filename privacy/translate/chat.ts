import type { LlmShape } from '../../core/index.js';

/**
 * The neutral form every chat request and response passes through when client and backend speak
 * different shapes. One decoder and one encoder per shape instead of a translator per pair; a
 * pair that speaks the same shape skips this and passes through. `Shape` is core's LlmShape:
 * codecs are keyed on it, so a new shape does not compile without its codec.
 */
export type Shape = LlmShape;

export type Part =
  | { type: 'text'; text: string }
  /** base64 data, or a URL when the client sent one (only OpenAI and Anthropic accept URLs). */
  | ImagePart
  /** `arguments` is JSON text, exactly as assembled from the wire. */
  | { type: 'tool_call'; id: string; name: string; arguments: string }
  /** `images`: what a tool returned besides text (a screenshot, a rendered page). */
  | { type: 'tool_result'; id: string; name?: string; content: string; isError?: boolean; images?: ImagePart[] };

export type ImagePart = { type: 'image'; mediaType?: string; data?: string; url?: string };

export interface ChatMessage {
  role: 'user' | 'assistant';
  parts: Part[];
}

export interface ToolDef {
  /** Unique across the request; a namespaced tool's is `namespace__name`. */
  name: string;
  description?: string;
  parameters: Record<string, unknown>;
  /** A Responses tool inside a `namespace` tool: what the client calls it. */
  origin?: { namespace: string; name: string };
  /**
   * A Responses `custom` tool takes free text, not JSON: toward backends it is a function whose one
   * string argument `input` carries that text.
   */
  freeform?: boolean;
}

/** The one parameter a freeform tool has toward backends that only know JSON arguments. */
export const FREEFORM_PARAMETERS: Record<string, unknown> = { type: 'object', properties: { input: { type: 'string', description: 'The raw text input of this tool.' } }, required: ['input'] };

export type ToolChoice = 'auto' | 'none' | 'required' | { name: string };

export interface ChatRequest {
  model: string;
  system?: string;
  messages: ChatMessage[];
  tools?: ToolDef[];
  toolChoice?: ToolChoice;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  stop?: string[];
  seed?: number;
  /** Structured output: plain JSON, or JSON following a schema (OpenAI response_format ↔ Ollama format). */
  format?: 'json' | Record<string, unknown>;
  stream: boolean;
  /** OpenAI clients only see a usage chunk when they asked for one. */
  includeUsage?: boolean;
  parallelToolCalls?: boolean;
  /**
   * What the client sent that the neutral form cannot carry (built-in tools, reasoning items,
   * stored-response references): said in the audit event instead of silently dropped.
   */
  dropped?: string[];
}

/** Neutral stop reasons; each encoder maps them to its own words. */
export type StopReason = 'stop' | 'length' | 'tool_calls' | 'stop_sequence' | 'content_filter';

export interface Usage {
  inputTokens?: number;
  outputTokens?: number;
}

export interface ChatResponse {
  id?: string;
  model?: string;
  parts: Part[];
  stopReason: StopReason;
  stopSequence?: string;
  usage: Usage;
}

/** Streaming events, in the order a backend produces them. */
export type ChatEvent =
  | { type: 'start'; id?: string; model?: string; inputTokens?: number }
  | { type: 'text'; text: string }
  | { type: 'tool_start'; index: number; id: string; name: string }
  | { type: 'tool_args'; index: number; json: string }
  | { type: 'finish'; reason: StopReason; stopSequence?: string }
  | { type: 'usage'; inputTokens?: number; outputTokens?: number }
  | { type: 'error'; error: ApiError }
  | { type: 'end' };

/** A backend error, independent of the shape it came in. */
export interface ApiError {
  status: number;
  kind: ErrorKind;
  message: string;
}

export type ErrorKind =
  | 'invalid_request'
  | 'authentication'
  | 'permission'
  | 'not_found'
  | 'too_large'
  | 'rate_limit'
  | 'overloaded'
  | 'timeout'
  | 'server';

export function kindForStatus(status: number): ErrorKind {
  if (status === 401) return 'authentication';
  if (status === 403) return 'permission';
  if (status === 404) return 'not_found';
  if (status === 413) return 'too_large';
  if (status === 429) return 'rate_limit';
  if (status === 503 || status === 529) return 'overloaded';
  if (status === 504 || status === 408) return 'timeout';
  if (status >= 400 && status < 500) return 'invalid_request';
  return 'server';
}

/** Incremental encoder: neutral events in, client-shape bytes out. */
export interface StreamEncoder {
  readonly contentType: string;
  encode(event: ChatEvent): string;
}

/** Incremental decoder: backend bytes in (any split), neutral events out. */
export interface StreamDecoder {
  push(chunk: Uint8Array, out: ChatEvent[]): void;
  /** End of input: emits what a truncated stream still implies (e.g. an error). */
  end(out: ChatEvent[]): void;
}

export function newId(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 12)}`;
}

/** Parses JSON text that should be an object; a model's broken tool arguments become `{}` rather than a crash. */
export function parseArgs(json: string): Record<string, unknown> {
  if (json.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(json);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : { value };
  } catch {
    return {};
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
