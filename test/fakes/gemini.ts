import type http from 'node:http';
import type { FakeBackend, FakeContext, FakeHandler, FakeOptions, RecordedRequest, ReplyScript } from './server.js';
import { sendJson, sleep, startFake, tokensOf } from './server.js';

/**
 * Google's Gemini API as its reference gives it, on generativelanguage.googleapis.com:
 * `POST /v1beta/models/{model}:generateContent` answers a GenerateContentResponse;
 * `:streamGenerateContent?alt=sse` streams one per `data:` line (without `alt=sse`, a JSON array);
 * text in `candidates[0].content.parts[].text`, function calls whole as `functionCall {name, args}`,
 * `finishReason` and `usageMetadata` on the last chunk; `:countTokens` answers `{totalTokens}`;
 * `GET /v1beta/models` lists models. The key comes as `x-goog-api-key` or `?key=`; errors are
 * `{error: {code, message, status}}`.
 */
type Json = Record<string, unknown>;

const STATUS: Record<number, string> = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE' };

export function geminiError(res: http.ServerResponse, status: number, message: string): void {
  sendJson(res, status, { error: { code: status, message, status: STATUS[status] ?? 'UNKNOWN' } });
}

function usage(script: ReplyScript, final: boolean): Json {
  const u = script.usage ?? { input: 10, output: 5 };
  return final ? { promptTokenCount: u.input, candidatesTokenCount: u.output, totalTokenCount: u.input + u.output } : { promptTokenCount: u.input, totalTokenCount: u.input };
}

function finishOf(script: ReplyScript): string {
  return script.stop === 'length' ? 'MAX_TOKENS' : 'STOP';
}

function calls(script: ReplyScript): Json[] {
  return (script.toolCalls ?? []).map((c) => ({ functionCall: { name: c.name, args: c.arguments, ...(c.id ? { id: c.id } : {}) } }));
}

function chunkOf(model: string, parts: Json[], script: ReplyScript, finish?: string): Json {
  return {
    candidates: [{ content: { parts, role: 'model' }, ...(finish ? { finishReason: finish } : {}), index: 0 }],
    usageMetadata: usage(script, finish !== undefined),
    modelVersion: model,
    responseId: 'fakeResponseId1',
  };
}

async function stream(req: RecordedRequest, res: http.ServerResponse, fake: FakeContext, model: string, script: ReplyScript): Promise<void> {
  const sse = new URLSearchParams(req.query).get('alt') === 'sse';
  const tokens = tokensOf(script);
  const chunks: Json[] = tokens.map((t) => chunkOf(model, [{ text: t }], script));
  // The last chunk carries the function calls (or the last text) with the finish reason.
  const lastParts = calls(script);
  if (lastParts.length === 0 && chunks.length) chunks.pop();
  chunks.push(chunkOf(model, lastParts.length ? lastParts : tokens.length ? [{ text: tokens.at(-1)! }] : [], script, finishOf(script)));
  res.writeHead(200, { 'content-type': sse ? 'text/event-stream' : 'application/json; charset=UTF-8' });
  if (!sse) await fake.write(res, '[');
  for (const [i, c] of chunks.entries()) {
    if (script.stallAfter !== undefined && i >= script.stallAfter) return;
    if (script.failAfter !== undefined && i >= script.failAfter) {
      // Google ends a failing stream with an error object in place of the next chunk.
      await fake.write(res, sse ? `data: ${JSON.stringify({ error: { code: 500, message: 'scripted failure', status: 'INTERNAL' } })}\r\n\r\n` : `${i ? ',' : ''}{"error":{"code":500,"message":"scripted failure","status":"INTERNAL"}}]`);
      res.end();
      return;
    }
    await fake.write(res, sse ? `data: ${JSON.stringify(c)}\r\n\r\n` : `${i ? ',\r\n' : ''}${JSON.stringify(c)}`);
    if (script.delayMs) await sleep(script.delayMs);
  }
  if (!sse) await fake.write(res, ']');
  res.end();
}

function countTokens(body: Json): number {
  const source = body.generateContentRequest ?? body;
  return Math.max(1, Math.ceil(JSON.stringify((source as Json).contents ?? '').length / 4));
}

export function geminiHandler(): FakeHandler {
  return async (req, res, fake) => {
    if (!req.path.startsWith('/v1beta/models')) return false;
    if (!fake.keyOk(req)) {
      geminiError(res, 400, 'API key not valid. Please pass a valid API key.');
      return true;
    }
    const listed = fake.options.models?.length ? fake.options.models : ['gemini-fake'];
    if (req.method === 'GET') {
      const describe = (name: string) => ({ name: `models/${name}`, version: '001', displayName: name, description: 'fake', inputTokenLimit: 1_048_576, outputTokenLimit: 65_536, supportedGenerationMethods: ['generateContent', 'countTokens'], temperature: 1, topP: 0.95, topK: 64, maxTemperature: 2 });
      if (req.path === '/v1beta/models') sendJson(res, 200, { models: listed.map(describe) });
      else {
        const name = req.path.slice('/v1beta/models/'.length);
        if (fake.modelKnown(name)) sendJson(res, 200, describe(name));
        else geminiError(res, 404, `models/${name} is not found for API version v1beta, or is not supported for generateContent.`);
      }
      return true;
    }
    const m = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent|countTokens)$/.exec(req.path);
    if (req.method !== 'POST' || !m) return false;
    const [, model, method] = m as unknown as [string, string, string];
    if (!req.body) {
      geminiError(res, 400, 'Invalid JSON payload received.');
      return true;
    }
    if (!fake.modelKnown(model)) {
      geminiError(res, 404, `models/${model} is not found for API version v1beta, or is not supported for ${method}.`);
      return true;
    }
    if (method === 'countTokens') {
      sendJson(res, 200, { totalTokens: countTokens(req.body), promptTokensDetails: [{ modality: 'TEXT', tokenCount: countTokens(req.body) }] });
      return true;
    }
    if (!Array.isArray(req.body.contents) || req.body.contents.length === 0) {
      geminiError(res, 400, '* GenerateContentRequest.contents: contents is not specified');
      return true;
    }
    const script = fake.reply(req);
    if (script.error) {
      geminiError(res, script.error.status, script.error.message ?? 'scripted error');
      return true;
    }
    if (method === 'streamGenerateContent') {
      await stream(req, res, fake, model, script);
      return true;
    }
    const parts = [...(script.text ? [{ text: script.text }] : []), ...calls(script)];
    sendJson(res, 200, chunkOf(model, parts, script, finishOf(script)));
    return true;
  };
}

export function createFakeGemini(options: FakeOptions = {}): Promise<FakeBackend> {
  return startFake(options, [geminiHandler()]);
}
