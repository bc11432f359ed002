import type { ApiError, ChatRequest, ChatResponse, Shape, StreamDecoder, StreamEncoder } from './chat.js';
import { isRecord, kindForStatus } from './chat.js';
import { anthropicErrorBody, createAnthropicDecoder, createAnthropicEncoder, parseAnthropicError, parseAnthropicRequest, parseAnthropicResponse, renderAnthropicRequest, renderAnthropicResponse } from './anthropic.js';
import { createOllamaDecoder, createOllamaEncoder, ollamaErrorBody, parseOllamaError, parseOllamaRequest, parseOllamaResponse, renderOllamaRequest, renderOllamaResponse } from './ollama.js';
import { createOpenAIDecoder, createOpenAIEncoder, openAIErrorBody, parseOpenAIError, parseOpenAIRequest, parseOpenAIResponse, renderOpenAIRequest, renderOpenAIResponse } from './openai.js';
import { parseResponsesRequest, parseResponsesResponse, renderResponsesRequest, renderResponsesResponse, responsesErrorBody } from './responses.js';
import { createResponsesDecoder, createResponsesEncoder } from './responses-stream.js';
import { createGeminiDecoder, createGeminiEncoder, geminiErrorBody, parseGeminiError, parseGeminiRequest, parseGeminiResponse, renderGeminiRequest, renderGeminiResponse } from './gemini.js';

export type { ApiError, ChatEvent, ChatRequest, ChatResponse, ErrorKind, Part, Shape, StopReason, StreamDecoder, StreamEncoder, Usage } from './chat.js';
export { createSseParser, createLineParser } from './framing.js';
export type { SseFrame } from './framing.js';
export * from './extras.js';
export { openAICompletions, ollamaGenerate } from './completions.js';
export { createResponsesEventDecoder, createResponsesEventEncoder } from './responses-stream.js';
export { websocketError as responsesWebSocketError, flatName } from './responses.js';
export { jsonSchemaOf } from './gemini.js';
export type { ClientCodec } from './completions.js';

type Json = Record<string, unknown>;

/** Everything one API shape needs to be a client or a backend of a chat call. */
export interface ChatCodec {
  parseRequest(body: Json): ChatRequest;
  renderRequest(req: ChatRequest, model: string): Json;
  parseResponse(body: Json): ChatResponse;
  /** `req` is the client's own request, parsed: what its tools are called on its side (Responses namespaces). */
  renderResponse(res: ChatResponse, model: string, req?: ChatRequest): Json;
  createDecoder(): StreamDecoder;
  createEncoder(model: string, includeUsage: boolean, req?: ChatRequest): StreamEncoder;
  errorBody(err: ApiError): Json;
  /** Content type of a streamed response. */
  streamType: string;
}

export const codecs: Readonly<Record<Shape, ChatCodec>> = {
  openai: {
    parseRequest: parseOpenAIRequest,
    renderRequest: renderOpenAIRequest,
    parseResponse: parseOpenAIResponse,
    renderResponse: renderOpenAIResponse,
    createDecoder: createOpenAIDecoder,
    createEncoder: createOpenAIEncoder,
    errorBody: openAIErrorBody,
    streamType: 'text/event-stream; charset=utf-8',
  },
  anthropic: {
    parseRequest: parseAnthropicRequest,
    renderRequest: renderAnthropicRequest,
    parseResponse: parseAnthropicResponse,
    renderResponse: renderAnthropicResponse,
    createDecoder: createAnthropicDecoder,
    createEncoder: (model) => createAnthropicEncoder(model),
    errorBody: anthropicErrorBody,
    streamType: 'text/event-stream; charset=utf-8',
  },
  ollama: {
    parseRequest: parseOllamaRequest,
    renderRequest: renderOllamaRequest,
    parseResponse: parseOllamaResponse,
    renderResponse: renderOllamaResponse,
    createDecoder: createOllamaDecoder,
    createEncoder: (model) => createOllamaEncoder(model),
    errorBody: ollamaErrorBody,
    streamType: 'application/x-ndjson',
  },
  responses: {
    parseRequest: parseResponsesRequest,
    renderRequest: renderResponsesRequest,
    parseResponse: parseResponsesResponse,
    renderResponse: renderResponsesResponse,
    createDecoder: createResponsesDecoder,
    createEncoder: (model, _usage, req) => createResponsesEncoder(model, req),
    errorBody: responsesErrorBody,
    streamType: 'text/event-stream; charset=utf-8',
  },
  gemini: {
    parseRequest: parseGeminiRequest,
    renderRequest: renderGeminiRequest,
    parseResponse: parseGeminiResponse,
    renderResponse: renderGeminiResponse,
    createDecoder: createGeminiDecoder,
    createEncoder: (model) => createGeminiEncoder(model),
    errorBody: geminiErrorBody,
    streamType: 'text/event-stream',
  },
};

/** Reads a backend's error body whatever shape it speaks; plain text becomes the message. */
export function parseBackendError(status: number, text: string): ApiError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const parsed = parseAnthropicError(status, body) ?? parseOllamaError(status, body) ?? parseGeminiError(status, body) ?? parseOpenAIError(status, body);
  if (parsed) return parsed;
  const message = isRecord(body) && typeof body.message === 'string' ? body.message : text.trim().slice(0, 500) || `backend answered ${status}`;
  return { status, kind: kindForStatus(status), message };
}

/** The error response a client of `shape` expects (status kept from the backend). */
export function renderError(shape: Shape, err: ApiError): { status: number; body: string } {
  return { status: err.status, body: JSON.stringify(codecs[shape].errorBody(err)) };
}
