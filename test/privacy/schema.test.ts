import t from 'tap';
import { compileRoutes, detectLlmApi, globToRegExp, inferenceSchema } from '../../privacy/index.js';

t.test('inference schema: defaults, cross-references with paths, strict keys', async (t) => {
  t.same(inferenceSchema.parse({}), { backends: {}, routes: [] });
  const ok = inferenceSchema.safeParse({
    backends: { local: { type: 'ollama', url: 'http://127.0.0.1:11434', api: 'openai' }, nim: { type: 'nim', url: 'https://nim.internal:8000/v1', credential: 'nvidia', timeout_ms: 1000 } },
    routes: [
      { name: 'r1', match: { api: ['anthropic', 'openai'], model: 'claude-*', sensitive: true }, backend: 'local', model: 'qwen3:8b', fallback: 'nim' },
      { match: { api: 'openai' }, action: 'allow' },
      { match: {}, action: 'deny', reason: 'no' },
    ],
    hosts: ['llm.example'],
  });
  t.ok(ok.success, JSON.stringify(ok.error?.issues));

  const bad = inferenceSchema.safeParse({
    backends: { local: { type: 'nim', url: 'http://x', api: 'native' } },
    routes: [{ match: {}, backend: 'nope' }, { match: {}, backend: 'local', fallback: 'gone' }, { match: {} }, { match: {}, action: 'deny', backend: 'local' }],
  });
  t.notOk(bad.success);
  const issues = bad.error!.issues.map((i) => [i.path.join('.'), i.message]);
  t.same(issues, [
    ['routes.0.backend', 'unknown backend "nope" (known: local)'],
    ['routes.1.fallback', 'unknown backend "gone" (known: local)'],
    ['routes.2', 'a route needs a backend or an action (allow or deny)'],
    ['routes.3.action', 'action deny takes no backend, model or fallback'],
    ['backends.local.api', '`api` applies only to type ollama'],
  ]);
  t.notOk(inferenceSchema.safeParse({ backends: { a: { type: 'ollama', url: 'http://x', colour: 'red' } } }).success, 'unknown keys are errors');
  t.notOk(inferenceSchema.safeParse({ backends: { a: { type: 'ollama', url: 'ftp://x' } } }).success, 'only http(s) URLs');
  t.notOk(inferenceSchema.safeParse({ routes: [{ match: { api: 'cohere' }, action: 'allow' }] }).success, 'an API the router does not know');
});

t.test('routes: first match wins; globs; sensitivity; default table', async (t) => {
  const table = compileRoutes(inferenceSchema.parse({
    backends: { a: { type: 'ollama', url: 'http://127.0.0.1:1' }, b: { type: 'nim', url: 'http://127.0.0.1:2' } },
    routes: [
      { name: 'secret', match: { sensitive: true }, backend: 'a' },
      { name: 'claude', match: { api: 'anthropic', model: ['claude-*', 'sonnet?'] }, backend: 'b' },
      { name: 'rest', match: { api: 'openai' }, action: 'allow' },
    ],
  }));
  t.equal(table.match('anthropic', 'claude-3-haiku', undefined, 'api.example.com')?.name, 'claude');
  t.equal(table.match('anthropic', 'Claude-X', false, 'api.example.com')?.name, 'claude', 'globs ignore case');
  t.equal(table.match('anthropic', 'sonnet4', false, 'api.example.com')?.name, 'claude');
  t.equal(table.match('anthropic', 'sonnet45', false, 'api.example.com'), undefined, '? is one character');
  t.equal(table.match('anthropic', 'claude-3', true, 'api.example.com')?.name, 'secret', 'sensitive content first');
  t.equal(table.match('openai', 'gpt-4o', undefined, 'api.example.com')?.name, 'rest');
  t.equal(table.match('ollama', 'llama', undefined, 'api.example.com'), undefined, 'nothing matches: the router denies');
  t.equal(table.matchApi('openai', 'api.openai.com')?.name, 'rest');
  const def = compileRoutes(undefined);
  t.equal(def.match('anthropic', 'claude-x', undefined, 'api.anthropic.com')?.backend, 'ollama');
  t.equal(def.backends.get('ollama')?.url, 'http://127.0.0.1:11434');
  t.equal(globToRegExp('a.b*').test('axb'), false, 'dots are literal');
  t.equal(compileRoutes(inferenceSchema.parse({ backends: { a: { type: 'ollama', url: 'http://127.0.0.1:1' } }, routes: [{ match: { model: '*' }, backend: 'a' }] })).matchApi('openai', 'api.openai.com')?.backend, 'a', 'model "*" also answers model lists');
});

t.test('detection by host, method and path', async (t) => {
  const cases: [string, string, string, Record<string, string>, string | undefined][] = [
    ['api.openai.com', 'POST', '/v1/chat/completions', {}, 'openai-chat'],
    ['api.openai.com', 'POST', '/v1/completions', {}, 'openai-completions'],
    ['api.openai.com', 'POST', '/v1/embeddings', {}, 'openai-embeddings'],
    ['api.openai.com', 'GET', '/v1/models', {}, 'openai-models'],
    ['api.anthropic.com', 'POST', '/v1/messages', {}, 'anthropic-messages'],
    ['api.anthropic.com', 'POST', '/v1/messages/count_tokens', {}, 'anthropic-count-tokens'],
    ['api.anthropic.com', 'GET', '/v1/models', {}, 'anthropic-models'],
    ['inference.local', 'GET', '/v1/models', { 'anthropic-version': '2023-06-01' }, 'anthropic-models'],
    ['inference.local', 'GET', '/v1/models', {}, 'openai-models'],
    ['inference.local', 'POST', '/api/chat', {}, 'ollama-chat'],
    ['inference.local', 'POST', '/api/generate', {}, 'ollama-generate'],
    ['inference.local', 'POST', '/api/embed', {}, 'ollama-embed'],
    ['inference.local', 'GET', '/api/tags', {}, 'ollama-tags'],
    ['api.openai.com', 'GET', '/v1/chat/completions', {}, undefined],
    ['api.openai.com', 'POST', '/v1/files', {}, undefined],
    ['api.anthropic.com', 'POST', '/v1/messages/batches', {}, undefined],
    ['api.openai.com', 'POST', '/v1/responses', {}, 'openai-responses'],
    ['api.openai.com', 'POST', '/v1/responses/input_tokens', {}, 'openai-responses-input-tokens'],
    ['api.openai.com', 'GET', '/v1/responses', {}, undefined],
    ['api.openai.com', 'GET', '/v1/responses/resp_123', {}, undefined],
    ['generativelanguage.googleapis.com', 'POST', '/v1beta/models/gemini-2.5-pro:generateContent', {}, 'gemini-generate'],
    ['generativelanguage.googleapis.com', 'POST', '/v1beta/models/gemini-2.5-pro:streamGenerateContent', {}, 'gemini-stream'],
    ['generativelanguage.googleapis.com', 'POST', '/v1/models/gemini-2.5-pro:countTokens', {}, 'gemini-count-tokens'],
    ['generativelanguage.googleapis.com', 'GET', '/v1beta/models', {}, 'gemini-models'],
    ['generativelanguage.googleapis.com', 'GET', '/v1/models', {}, 'gemini-models'],
    ['generativelanguage.googleapis.com', 'GET', '/v1beta/models/gemini-2.5-pro:generateContent', {}, undefined],
    ['generativelanguage.googleapis.com', 'POST', '/v1beta/models/a/b:generateContent', {}, undefined],
    ['generativelanguage.googleapis.com', 'POST', '/v1beta/models/gemini-2.5-pro:embedContent', {}, undefined],
  ];
  for (const [host, method, path, headers, want] of cases) t.equal(detectLlmApi(host, method, path, headers), want, `${method} ${host}${path}`);
  t.equal(detectLlmApi('api.openai.com', 'GET', '/v1/responses', {}, true), 'openai-responses-socket', 'the upgrade of /v1/responses is WebSocket mode');
});
