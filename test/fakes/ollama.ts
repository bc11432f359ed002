import type http from 'node:http';
import type { FakeBackend, FakeContext, FakeHandler, FakeOptions, RecordedRequest } from './server.js';
import { sendJson, startFake, stopOf, tokensOf } from './server.js';
import { anthropicHandler } from './anthropic.js';
import { openAIHandler, writeFrames } from './openai.js';

/**
 * Ollama as its API docs give it: /api/chat and /api/generate stream NDJSON by default (one
 * object per line, `done:false` … then `done:true` with done_reason and the eval counts); tool
 * calls arrive whole, arguments as an object; errors are `{"error":"…"}` (404 for an unknown
 * model). It also serves its OpenAI-compatible /v1/* and Anthropic-compatible /v1/messages.
 */
function notFound(res: http.ServerResponse, model: unknown): void {
  sendJson(res, 404, { error: `model '${String(model)}' not found` });
}

async function chatOrGenerate(req: RecordedRequest, res: http.ServerResponse, fake: FakeContext, generate: boolean): Promise<void> {
  const body = req.body ?? {};
  const script = fake.reply(req);
  if (script.error) {
    sendJson(res, script.error.status, { error: script.error.message ?? 'scripted error' });
    return;
  }
  const model = String(body.model);
  const created = '2025-01-01T00:00:00.000000Z';
  const usage = script.usage ?? { input: 10, output: 5 };
  const calls = (script.toolCalls ?? []).map((c) => ({ function: { name: c.name, arguments: c.arguments } }));
  const doneReason = stopOf(script) === 'length' ? 'length' : 'stop';
  const stats = { total_duration: 1_000_000, load_duration: 1000, prompt_eval_count: usage.input, prompt_eval_duration: 1000, eval_count: usage.output, eval_duration: 1000 };
  const piece = (text: string): Record<string, unknown> => (generate ? { response: text } : { message: { role: 'assistant', content: text } });
  if (body.stream === false) {
    const message = generate ? { response: script.text ?? '' } : { message: { role: 'assistant', content: script.text ?? '', ...(calls.length ? { tool_calls: calls } : {}) } };
    sendJson(res, 200, { model, created_at: created, ...message, done: true, done_reason: doneReason, ...(generate ? { context: [1, 2, 3] } : {}), ...stats });
    return;
  }
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  const line = (o: unknown): string => `${JSON.stringify(o)}\n`;
  const frames: string[] = [line({ model, created_at: created, ...piece(''), done: false })];
  for (const t of tokensOf(script)) frames.push(line({ model, created_at: created, ...piece(t), done: false }));
  if (calls.length && !generate) frames.push(line({ model, created_at: created, message: { role: 'assistant', content: '', tool_calls: calls }, done: false }));
  frames.push(line({ model, created_at: created, ...piece(''), done: true, done_reason: doneReason, ...stats }));
  await writeFrames(res, fake, frames, script, () => line({ error: 'an error was encountered while running the model: scripted failure' }));
}

function nativeHandler(): FakeHandler {
  return async (req, res, fake) => {
    if (req.method === 'GET' && req.path === '/api/version') {
      sendJson(res, 200, { version: '0.12.0' });
      return true;
    }
    if (req.method === 'GET' && req.path === '/api/tags') {
      const models = fake.options.models?.length ? fake.options.models : ['llama3.2:latest'];
      sendJson(res, 200, {
        models: models.map((name) => ({
          name, model: name, modified_at: '2025-01-01T00:00:00Z', size: 2019393189, digest: 'a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72',
          details: { parent_model: '', format: 'gguf', family: 'llama', families: ['llama'], parameter_size: '3.2B', quantization_level: 'Q4_K_M' },
        })),
      });
      return true;
    }
    if (req.method !== 'POST' || !['/api/chat', '/api/generate', '/api/embed'].includes(req.path)) return false;
    if (!req.body) {
      sendJson(res, 400, { error: 'missing request body' });
      return true;
    }
    if (!fake.modelKnown(req.body.model)) {
      notFound(res, req.body.model);
      return true;
    }
    if (req.path === '/api/embed') {
      const input = req.body.input;
      const inputs = Array.isArray(input) ? input : [input];
      sendJson(res, 200, { model: String(req.body.model), embeddings: inputs.map((_, i) => [0.5 + i, 0.25, -1]), total_duration: 1000, load_duration: 100, prompt_eval_count: 3 });
      return true;
    }
    await chatOrGenerate(req, res, fake, req.path === '/api/generate');
    return true;
  };
}

export function createFakeOllama(options: FakeOptions = {}): Promise<FakeBackend> {
  return startFake(options, [nativeHandler(), anthropicHandler(), openAIHandler('openai')]);
}
