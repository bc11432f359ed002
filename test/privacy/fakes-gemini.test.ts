import t from 'tap';
import { createFakeGemini } from '../fakes/index.js';
import { translate } from '../../privacy/index.js';
import { weatherCall } from './harness.js';

// The Gemini fake on the wire: what Gemini CLI's SDK (@google/genai) reads, checked byte for byte
// against the API reference's shapes, and read back by Sluice's own Gemini decoder.

const KEY = 'AIzaFakeGeminiKey0123456789abcdefghijk';
const fake = await createFakeGemini({ apiKey: KEY, models: ['gemini-fake'], reply: { text: 'Looking it up.', toolCalls: [weatherCall], usage: { input: 21, output: 13 } } });
t.teardown(() => fake.close());
const body = { contents: [{ role: 'user', parts: [{ text: 'Weather in Paris?' }] }], tools: [{ functionDeclarations: [{ name: 'get_weather', parametersJsonSchema: { type: 'object', properties: { city: { type: 'string' } } } }] }] };
const post = (path: string, init: { key?: string; query?: string; body?: unknown } = {}) =>
  fetch(`${fake.url}/v1beta/models/${path}${init.query ? `?${init.query}` : ''}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(init.key ? { 'x-goog-api-key': init.key } : {}) }, body: JSON.stringify(init.body ?? body) });

t.test('generateContent: one candidate, text and a whole function call, usage', async (t) => {
  const res = await post('gemini-fake:generateContent', { key: KEY });
  t.equal(res.status, 200);
  const json = (await res.json()) as Record<string, unknown>;
  t.match(json, {
    candidates: [{ content: { role: 'model', parts: [{ text: 'Looking it up.' }, { functionCall: { name: 'get_weather', args: weatherCall.arguments } }] }, finishReason: 'STOP', index: 0 }],
    usageMetadata: { promptTokenCount: 21, candidatesTokenCount: 13, totalTokenCount: 34 },
    modelVersion: 'gemini-fake',
  });
  const neutral = translate.codecs.gemini.parseResponse(json);
  t.equal(neutral.stopReason, 'tool_calls');
});

t.test('streamGenerateContent?alt=sse: data lines, finish reason and usage last; the key as ?key=', async (t) => {
  const res = await post('gemini-fake:streamGenerateContent', { query: `alt=sse&key=${KEY}` });
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /^text\/event-stream/);
  const text = await res.text();
  const chunks = text.split('\r\n\r\n').filter(Boolean);
  t.ok(chunks.every((c) => c.startsWith('data: ')));
  const last = JSON.parse(chunks.at(-1)!.slice(6)) as { candidates: { finishReason: string; content: { parts: unknown[] } }[]; usageMetadata: unknown };
  t.equal(last.candidates[0]!.finishReason, 'STOP');
  t.match(last.candidates[0]!.content.parts, [{ functionCall: { name: 'get_weather' } }]);
  const dec = translate.codecs.gemini.createDecoder();
  const events: translate.ChatEvent[] = [];
  dec.push(Buffer.from(text), events);
  dec.end(events);
  t.equal(events.filter((e) => e.type === 'text').map((e) => (e as { text: string }).text).join(''), 'Looking it up.');
  t.equal(events.at(-1)!.type, 'end');

  const array = await post('gemini-fake:streamGenerateContent', { key: KEY });
  const parsed = (await array.json()) as unknown[];
  t.ok(Array.isArray(parsed) && parsed.length >= 2, 'without alt=sse: a JSON array of chunks');
});

t.test('countTokens, model list, errors in Google\'s shape', async (t) => {
  const count = await post('gemini-fake:countTokens', { key: KEY, body: { contents: body.contents } });
  t.match(await count.json(), { totalTokens: Number });
  const list = await fetch(`${fake.url}/v1beta/models`, { headers: { 'x-goog-api-key': KEY } });
  t.match(await list.json(), { models: [{ name: 'models/gemini-fake', supportedGenerationMethods: ['generateContent', 'countTokens'] }] });
  const noKey = await post('gemini-fake:generateContent');
  t.equal(noKey.status, 400);
  t.match(await noKey.json(), { error: { code: 400, status: 'INVALID_ARGUMENT' } });
  const missing = await post('gemini-nope:generateContent', { key: KEY });
  t.equal(missing.status, 404);
  const err = translate.parseBackendError(404, JSON.stringify(await missing.json()));
  t.equal(err.kind, 'not_found');
});
