import type { Shape } from './chat.js';
import { isRecord } from './chat.js';

/** Embeddings and model lists, the non-chat calls an agent makes (OpenAI ↔ Ollama; Anthropic has neither embeddings nor a compatible list). */

type Json = Record<string, unknown>;

export interface EmbedRequest {
  model: string;
  input: string[];
  /** The openai SDK asks for base64 by default and decodes it itself. */
  base64: boolean;
}

export function parseEmbedRequest(shape: Shape, body: Json): EmbedRequest {
  const raw = body.input;
  const input = typeof raw === 'string' ? [raw] : Array.isArray(raw) ? raw.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))) : [];
  return { model: String(body.model ?? ''), input, base64: shape === 'openai' && body.encoding_format === 'base64' };
}

export function renderEmbedRequest(shape: Shape, req: EmbedRequest, model: string): Json {
  return shape === 'ollama' ? { model, input: req.input } : { model, input: req.input, encoding_format: 'float' };
}

export interface EmbedResponse {
  vectors: number[][];
  inputTokens?: number;
}

export function parseEmbedResponse(shape: Shape, body: Json): EmbedResponse {
  if (shape === 'ollama') {
    const vectors = Array.isArray(body.embeddings) ? (body.embeddings as number[][]) : [];
    return { vectors, ...(typeof body.prompt_eval_count === 'number' ? { inputTokens: body.prompt_eval_count } : {}) };
  }
  const data = Array.isArray(body.data) ? body.data.filter(isRecord) : [];
  const vectors = [...data].sort((a, b) => Number(a.index ?? 0) - Number(b.index ?? 0)).map((d) => (Array.isArray(d.embedding) ? (d.embedding as number[]) : decodeBase64Floats(String(d.embedding ?? ''))));
  const usage = isRecord(body.usage) ? body.usage : {};
  return { vectors, ...(typeof usage.prompt_tokens === 'number' ? { inputTokens: usage.prompt_tokens } : {}) };
}

export function renderEmbedResponse(shape: Shape, res: EmbedResponse, model: string, base64: boolean): Json {
  if (shape === 'ollama') return { model, embeddings: res.vectors, total_duration: 0, load_duration: 0, prompt_eval_count: res.inputTokens ?? 0 };
  const tokens = res.inputTokens ?? 0;
  return {
    object: 'list',
    data: res.vectors.map((v, index) => ({ object: 'embedding', index, embedding: base64 ? encodeBase64Floats(v) : v })),
    model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}

function encodeBase64Floats(vector: number[]): string {
  return Buffer.from(new Float32Array(vector).buffer).toString('base64');
}

function decodeBase64Floats(b64: string): number[] {
  const buf = Buffer.from(b64, 'base64');
  return Array.from(new Float32Array(buf.buffer, buf.byteOffset, Math.floor(buf.byteLength / 4)));
}

export function parseModelList(shape: Shape, body: unknown): string[] {
  if (!isRecord(body)) return [];
  if (shape === 'gemini') {
    return (Array.isArray(body.models) ? body.models : []).filter(isRecord).map((m) => String(m.name ?? '').replace(/^models\//, '')).filter(Boolean);
  }
  if (shape === 'ollama') {
    return (Array.isArray(body.models) ? body.models : []).filter(isRecord).map((m) => String(m.name ?? m.model ?? '')).filter(Boolean);
  }
  return (Array.isArray(body.data) ? body.data : []).filter(isRecord).map((m) => String(m.id ?? '')).filter(Boolean);
}

export function renderModelList(shape: Shape, names: readonly string[]): Json {
  if (shape === 'ollama') {
    return {
      models: names.map((name) => ({
        name,
        model: name,
        modified_at: new Date(0).toISOString(),
        size: 0,
        digest: '',
        details: { parent_model: '', format: '', family: '', families: null, parameter_size: '', quantization_level: '' },
      })),
    };
  }
  if (shape === 'gemini') {
    // What GET /v1beta/models lists; limits are the backend's business, so they are generous placeholders.
    return {
      models: names.map((name) => ({
        name: `models/${name}`,
        version: '001',
        displayName: name,
        description: `${name}, served through Sluice`,
        inputTokenLimit: 1_048_576,
        outputTokenLimit: 65_536,
        supportedGenerationMethods: ['generateContent', 'countTokens'],
        temperature: 1,
        topP: 0.95,
        topK: 64,
        maxTemperature: 2,
      })),
    };
  }
  if (shape === 'anthropic') {
    return {
      data: names.map((id) => ({ type: 'model', id, display_name: id, created_at: new Date(0).toISOString() })),
      has_more: false,
      first_id: names[0] ?? null,
      last_id: names[names.length - 1] ?? null,
    };
  }
  return { object: 'list', data: names.map((id) => ({ id, object: 'model', created: 0, owned_by: 'sluice' })) };
}

/** Rough count for /v1/messages/count_tokens when the backend cannot count: ~4 characters a token. */
export function estimateTokens(body: Json): number {
  let chars = 0;
  const walk = (v: unknown): void => {
    if (typeof v === 'string') chars += v.length;
    else if (Array.isArray(v)) v.forEach(walk);
    else if (isRecord(v)) for (const [k, x] of Object.entries(v)) if (k !== 'model' && k !== 'type') walk(x);
  };
  // Anthropic's and OpenAI's fields, the Responses API's and Gemini's.
  for (const key of ['system', 'messages', 'tools', 'instructions', 'input', 'contents', 'systemInstruction']) walk(body[key]);
  return Math.max(1, Math.ceil(chars / 4));
}
