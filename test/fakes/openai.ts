import type http from 'node:http';
import type { FakeBackend, FakeContext, FakeHandler, FakeOptions, RecordedRequest, ReplyScript } from './server.js';
import { argPieces, sendJson, sleep, startFake, stopOf, tokensOf } from './server.js';
import { responsesHandler, responsesUpgrade } from './responses.js';

/**
 * OpenAI Chat Completions as the public API reference gives it: `chat.completion` objects,
 * `chat.completion.chunk` SSE with `delta.tool_calls[i].function.arguments` in pieces, a final
 * usage chunk with empty `choices` when `stream_options.include_usage` is set, `data: [DONE]`.
 * `flavor: 'nim'` answers errors and /v1/models the way NVIDIA NIM (vLLM) does.
 */
export interface FakeOpenAIOptions extends FakeOptions {
  flavor?: 'openai' | 'nim';
  /** A path before /v1, as OpenAI-compatible gateways mount it (DashScope's /compatible-mode, OpenRouter's /api). */
  prefix?: string;
}

const FINISH = { stop: 'stop', length: 'length', tool_calls: 'tool_calls', stop_sequence: 'stop' } as const;
const ERROR_TYPES: Record<number, { type: string; code: string | null; nim: string }> = {
  400: { type: 'invalid_request_error', code: null, nim: 'BadRequestError' },
  401: { type: 'invalid_request_error', code: 'invalid_api_key', nim: 'AuthenticationError' },
  404: { type: 'invalid_request_error', code: 'model_not_found', nim: 'NotFoundError' },
  429: { type: 'requests', code: 'rate_limit_exceeded', nim: 'RateLimitError' },
  500: { type: 'server_error', code: null, nim: 'InternalServerError' },
};

export function openAIError(res: http.ServerResponse, flavor: 'openai' | 'nim', status: number, message: string): void {
  const t = ERROR_TYPES[status] ?? ERROR_TYPES[500]!;
  if (flavor === 'nim') sendJson(res, status, { object: 'error', message, type: t.nim, param: null, code: status });
  else sendJson(res, status, { error: { message, type: t.type, param: null, code: t.code } });
}

function usageOf(script: ReplyScript): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  const u = script.usage ?? { input: 10, output: 5 };
  return { prompt_tokens: u.input, completion_tokens: u.output, total_tokens: u.input + u.output };
}

function callsOf(script: ReplyScript): { id: string; type: 'function'; function: { name: string; arguments: string } }[] {
  return (script.toolCalls ?? []).map((c, i) => ({ id: c.id ?? `call_fake${i}`, type: 'function' as const, function: { name: c.name, arguments: JSON.stringify(c.arguments) } }));
}

async function chat(req: RecordedRequest, res: http.ServerResponse, fake: FakeContext, flavor: 'openai' | 'nim'): Promise<void> {
  const body = req.body ?? {};
  const script = fake.reply(req);
  if (script.error) return openAIError(res, flavor, script.error.status, script.error.message ?? 'scripted error');
  const id = 'chatcmpl-fake123';
  const created = 1_700_000_000;
  const model = String(body.model);
  const calls = callsOf(script);
  if (body.stream !== true) {
    sendJson(res, 200, {
      id, object: 'chat.completion', created, model, system_fingerprint: 'fp_fake',
      choices: [{ index: 0, message: { role: 'assistant', content: script.text ?? (calls.length ? null : ''), refusal: null, ...(calls.length ? { tool_calls: calls } : {}) }, logprobs: null, finish_reason: FINISH[stopOf(script)] }],
      usage: usageOf(script),
    });
    return;
  }
  const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
  const chunk = (delta: unknown, finish: string | null = null): string =>
    `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_fake', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...(includeUsage ? { usage: null } : {}) })}\n\n`;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
  const frames: string[] = [chunk({ role: 'assistant', content: '', refusal: null })];
  for (const t of tokensOf(script)) frames.push(chunk({ content: t }));
  calls.forEach((c, index) => {
    frames.push(chunk({ tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.function.name, arguments: '' } }] }));
    for (const piece of argPieces(c.function.arguments)) frames.push(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }));
  });
  frames.push(chunk({}, FINISH[stopOf(script)]));
  if (includeUsage) frames.push(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_fake', choices: [], usage: usageOf(script) })}\n\n`);
  frames.push('data: [DONE]\n\n');
  await writeFrames(res, fake, frames, script, () => `data: ${JSON.stringify({ error: { message: 'scripted failure mid-stream', type: 'server_error', param: null, code: null } })}\n\n`);
}

/** Writes frames; `stallAfter`/`failAfter` count frames after the first (role) one. */
export async function writeFrames(res: http.ServerResponse, fake: FakeContext, frames: string[], script: ReplyScript, failFrame: () => string): Promise<void> {
  for (let i = 0; i < frames.length; i++) {
    if (res.destroyed) return;
    if (script.stallAfter !== undefined && i === script.stallAfter + 1) return; // keep the socket open, send nothing more
    if (script.failAfter !== undefined && i === script.failAfter + 1) {
      await fake.write(res, failFrame());
      res.end();
      return;
    }
    await fake.write(res, frames[i]!);
    if (script.delayMs) await sleep(script.delayMs);
  }
  res.end();
}

export function openAIHandler(flavor: 'openai' | 'nim', prefix = ''): FakeHandler {
  return async (req, res, fake) => {
    if (!req.path.startsWith(`${prefix}/v1/`)) return false;
    const path = req.path.slice(prefix.length);
    if (!fake.keyOk(req)) {
      openAIError(res, flavor, 401, 'Incorrect API key provided.');
      return true;
    }
    if (req.method === 'GET' && path === '/v1/models') {
      const models = fake.options.models?.length ? fake.options.models : ['fake-model'];
      sendJson(res, 200, {
        object: 'list',
        data: models.map((id) => (flavor === 'nim'
          ? { id, object: 'model', created: 1_700_000_000, owned_by: 'system', root: id, parent: null, max_model_len: 8192, permission: [] }
          : { id, object: 'model', created: 1_700_000_000, owned_by: 'fake' })),
      });
      return true;
    }
    if (req.method !== 'POST') return false;
    const model = req.body?.model;
    if (['/v1/chat/completions', '/v1/completions', '/v1/embeddings'].includes(path) && !fake.modelKnown(model)) {
      openAIError(res, flavor, 404, flavor === 'nim' ? `The model \`${String(model)}\` does not exist.` : `The model \`${String(model)}\` does not exist or you do not have access to it.`);
      return true;
    }
    if (path === '/v1/chat/completions') {
      await chat(req, res, fake, flavor);
      return true;
    }
    if (path === '/v1/embeddings') {
      const input = req.body?.input;
      const inputs = Array.isArray(input) ? input : [input];
      const vectors = inputs.map((_, i) => [0.25 + i, -0.5, 1]);
      const b64 = req.body?.encoding_format === 'base64';
      sendJson(res, 200, {
        object: 'list',
        data: vectors.map((v, index) => ({ object: 'embedding', index, embedding: b64 ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v })),
        model: String(model),
        usage: { prompt_tokens: 4, total_tokens: 4 },
      });
      return true;
    }
    if (path === '/v1/completions') {
      const script = fake.reply(req);
      sendJson(res, 200, { id: 'cmpl-fake', object: 'text_completion', created: 1_700_000_000, model: String(model), choices: [{ text: script.text ?? '', index: 0, logprobs: null, finish_reason: 'stop' }], usage: usageOf(script) });
      return true;
    }
    return false;
  };
}

/** Hosted OpenAI serves the Responses API too (HTTP and WebSocket mode); NIM does not. */
export function createFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeBackend> {
  const flavor = options.flavor ?? 'openai';
  const chat = openAIHandler(flavor, options.prefix ?? '');
  return flavor === 'openai' && !options.prefix ? startFake(options, [responsesHandler(), chat], [responsesUpgrade()]) : startFake(options, [chat]);
}
