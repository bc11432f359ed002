import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import t from 'tap';
import { Ollama } from 'ollama';
import { Agent, ProxyAgent, fetch as undiciFetch, request } from 'undici';
import { createEventBus } from '../../core/index.js';
import type { SluiceEvent } from '../../core/index.js';
import { METRICS_CONTENT_TYPE, createMetrics, createToken } from '../../gateway/index.js';
import { allEvents, llmCall } from '../audit/events.js';
import { createFakeOllama } from '../fakes/index.js';
import { startTestGateway } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';

/**
 * GET /metrics on a real gateway after real traffic: curl through the shared listener (one
 * request allowed, one denied), the ollama SDK routed to a fake Ollama with an email in its
 * prompt. The values are checked, not only the names; the route needs a token like any other.
 */
const run = promisify(execFile);
const upstream = await startUpstream();
const ollama = await createFakeOllama({ models: ['qwen3:8b'], reply: { text: 'Hello.', usage: { input: 21, output: 13 } } });
const bus = createEventBus();
const metrics = createMetrics(bus);
const gw = await startTestGateway({
  bus,
  routes: metrics.routes,
  api: { host: '127.0.0.1', port: 0 },
  resolve: { 'api.github.com': '127.0.0.1' },
  policyYaml: `version: 1
network_policies:
  github:
    endpoints: [{ host: api.github.com, port: ${upstream.port} }]
inference:
  backends:
    local: { type: ollama, url: "${ollama.url}" }
  routes:
    - { name: llama-local, match: { api: ollama, model: "llama*" }, backend: local, model: "qwen3:8b" }
privacy:
  redact: [email]
`,
});
metrics.attach(gw.gateway.metricsSource);
const tls = new Agent({ connect: { ca: fs.readFileSync(gw.gateway.caCertPath, 'utf8') } });
t.teardown(async () => {
  metrics.close();
  await tls.close();
  await gw.close();
  await Promise.all([upstream.close(), ollama.close()]);
});

async function scrape(token: string | undefined): Promise<{ status: number; type: string; text: string }> {
  const res = await request(`${gw.gateway.apiUrl}/metrics`, { dispatcher: tls, headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.statusCode, type: String(res.headers['content-type']), text: await res.body.text() };
}

/** The value of one sample line, by metric name and exact label set. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-z_:]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.keys(got).length === Object.keys(labels).length && Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

const curl = (url: string) => run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-x', gw.gateway.url, url]).then((r) => r.stdout);

t.test('without a token: 401; a read token scrapes', async (t) => {
  const anonymous = await scrape(undefined);
  t.equal(anonymous.status, 401);
  t.match(JSON.parse(anonymous.text), { error: 'unauthorized' });
  t.equal((await scrape('not-a-token')).status, 401);
  const { token } = await createToken(gw.home, 'read', 'prometheus');
  const res = await scrape(token);
  t.equal(res.status, 200);
  t.match(res.type, /^text\/plain; version=0\.0\.4/);
  t.match(res.text, /# TYPE sluice_requests_total counter/);
  const viaSocket = await gw.call('GET', '/metrics');
  t.equal(viaSocket.status, 200, 'the unix socket serves it too');
  const doc = await gw.call('GET', '/v1/openapi.json');
  t.match(doc.json, { paths: { '/metrics': { get: { 'x-sluice-scope': 'read' } } } }, 'in the OpenAPI document');
});

t.test('after real traffic the values are right', async (t) => {
  const { token } = await createToken(gw.home, 'read', 'prometheus-2');
  const before = (await scrape(token)).text;
  t.equal(sample(before, 'sluice_requests_total', { kind: 'request', decision: 'allow', code: 'allowed' }), undefined, 'nothing counted before traffic');

  t.equal(await curl(`http://api.github.com:${upstream.port}/repos/x`), '200');
  t.equal(await curl(`http://api.github.com:${upstream.port}/repos/y`), '200');
  t.equal(await curl('http://denied.example.com/'), '403');

  const dispatcher = new ProxyAgent({ uri: gw.gateway.url });
  t.teardown(() => dispatcher.close());
  const viaProxy = ((input: string | URL, init?: RequestInit) => undiciFetch(input, { ...(init as object), dispatcher } as never)) as unknown as typeof globalThis.fetch;
  const client = new Ollama({ host: 'http://inference.local', fetch: viaProxy });
  const answer = await client.chat({ model: 'llama3', messages: [{ role: 'user', content: 'Mail ada@example.com about it' }] });
  t.equal(answer.message.content, 'Hello.');
  await gw.gateway.flushAudit();

  const text = (await scrape(token)).text;
  t.equal(sample(text, 'sluice_requests_total', { kind: 'request', decision: 'allow', code: 'allowed' }), 3, 'two curl requests and the routed call');
  const denied = text.split('\n').filter((l) => l.startsWith('sluice_requests_total{') && l.includes('decision="deny"'));
  t.equal(denied.length, 1, denied.join('\n'));
  t.match(denied[0], /code="policy_denied"\} 1$/);
  t.equal(sample(text, 'sluice_llm_calls_total', { route: 'llama-local', backend: 'local', model: 'qwen3:8b', action: 'route' }), 1);
  t.equal(sample(text, 'sluice_llm_tokens_total', { route: 'llama-local', backend: 'local', model: 'qwen3:8b', direction: 'input' }), 21);
  t.equal(sample(text, 'sluice_llm_tokens_total', { route: 'llama-local', backend: 'local', model: 'qwen3:8b', direction: 'output' }), 13);
  t.equal(sample(text, 'sluice_llm_time_to_first_token_seconds_count', { backend: 'local', model: 'qwen3:8b' }), 1);
  t.equal(sample(text, 'sluice_llm_duration_seconds_count', { backend: 'local', model: 'qwen3:8b' }), 1);
  t.equal(sample(text, 'sluice_llm_duration_seconds_bucket', { backend: 'local', model: 'qwen3:8b', le: '+Inf' }), 1);
  t.ok(sample(text, 'sluice_llm_duration_seconds_sum', { backend: 'local', model: 'qwen3:8b' })! > 0);
  t.equal(sample(text, 'sluice_redactions_total', { type: 'email', where: 'llm' }), 1);
  t.equal(sample(text, 'sluice_open_tunnels', { listener: 'default' }), 1, "the SDK's proxy agent keeps its CONNECT tunnel to inference.local open");
  t.equal(sample(text, 'sluice_sandboxes', { state: 'running' }), 0);
  t.equal(sample(text, 'sluice_audit_lines_dropped_total'), 0);
});

t.test('backend health is read at scrape time', async (t) => {
  const bus2 = createEventBus();
  const m = createMetrics(bus2);
  t.teardown(() => m.close());
  let healthy = true;
  let tunnels = 2;
  m.attach({
    sandboxes: () => [{ state: 'running' }, { state: 'running' }, { state: 'exited' }],
    listeners: () => [{ name: 'default', openTunnels: tunnels, health: { local: { healthy } } }],
    auditDropped: () => 7,
  });
  let text = await m.text();
  t.equal(sample(text, 'sluice_backend_healthy', { listener: 'default', backend: 'local' }), 1);
  t.equal(sample(text, 'sluice_open_tunnels', { listener: 'default' }), 2);
  t.equal(sample(text, 'sluice_sandboxes', { state: 'running' }), 2);
  t.equal(sample(text, 'sluice_sandboxes', { state: 'exited' }), 1);
  t.equal(sample(text, 'sluice_audit_lines_dropped_total'), 7);
  healthy = false;
  tunnels = 0;
  text = await m.text();
  t.equal(sample(text, 'sluice_backend_healthy', { listener: 'default', backend: 'local' }), 0);
  t.equal(sample(text, 'sluice_open_tunnels', { listener: 'default' }), 0);
});

t.test('client-chosen label values cannot grow the series without bound', async (t) => {
  const bus2 = createEventBus();
  const m = createMetrics(bus2, { maxSeries: 5 });
  t.teardown(() => m.close());
  for (let i = 0; i < 50; i++) {
    bus2.emit({ type: 'llm_call', time: Date.now(), api: 'openai-chat', requestedModel: `invented-${i}`, backend: 'local', action: 'route', stream: false, inputTokens: 1 });
  }
  const text = await m.text();
  const calls = text.split('\n').filter((l) => l.startsWith('sluice_llm_calls_total{'));
  t.equal(calls.length, 6, 'five distinct label sets, then one `other`');
  t.equal(sample(text, 'sluice_llm_calls_total', { route: 'other', backend: 'local', model: 'other', action: 'route' }), 45);
  t.equal(calls.map((l) => Number(l.split(' ').at(-1))).reduce((a, b) => a + b, 0), 50, 'nothing lost');
});

t.test('prom-client is loaded on the first scrape; what was counted before it is exactly what it would have counted', async (t) => {
  // One instance scraped before any event (prom-client counts from the start), one scraped only
  // after them (the events waited in plain counters): the two expositions must be identical.
  const events: SluiceEvent[] = [...allEvents];
  for (let i = 0; i < 40; i++) {
    events.push({ ...llmCall, backendModel: `model-${i % 7}`, ttftMs: 3.7 * i, durationMs: 41.3 * i, inputTokens: i, outputTokens: 2 * i, redactions: { email: i % 3, phone: 1 } });
    events.push(...allEvents.filter((e) => e.type === 'request' || e.type === 'finding' || e.type === 'upstream_error'));
  }
  const eagerBus = createEventBus();
  const lazyBus = createEventBus();
  const eager = createMetrics(eagerBus, { maxSeries: 5 });
  const lazy = createMetrics(lazyBus, { maxSeries: 5 });
  t.teardown(() => { eager.close(); lazy.close(); });
  const before = await eager.text();
  t.match(before, /# TYPE sluice_requests_total counter/, 'the families exist before any event');
  for (const e of events) {
    eagerBus.emit(e);
    lazyBus.emit(e);
  }
  const text = await lazy.text();
  t.equal(text, await eager.text());
  t.equal(sample(text, 'sluice_llm_time_to_first_token_seconds_count', { backend: llmCall.backend, model: 'other' }), 16, 'observations past the series cap are kept (qwen3:8b and model-0 to 3 took the five series)');
  lazyBus.emit(events[0]!);
  eagerBus.emit(events[0]!);
  t.equal(await lazy.text(), await eager.text(), 'and the two keep agreeing after it');
});

t.test('label values that hold the separators of the counters\' keys stay distinct series, as prom-client counts them', async (t) => {
  // Before the first scrape, label sets are counted under joined keys; values that could make two sets join alike.
  const models = ['a', 'a\u0001', 'a\u0002', '\u0001a', 'a\u0001model\u0002b', 'a\u0002b', '{"a":1}', ''];
  const eagerBus = createEventBus();
  const lazyBus = createEventBus();
  const eager = createMetrics(eagerBus, { maxSeries: 50 });
  const lazy = createMetrics(lazyBus, { maxSeries: 50 });
  t.teardown(() => { eager.close(); lazy.close(); });
  await eager.text();
  for (const [i, model] of models.entries()) {
    for (let n = 0; n <= i; n++) {
      const e: SluiceEvent = { ...llmCall, backendModel: model, inputTokens: 1, outputTokens: 1 };
      eagerBus.emit(e);
      lazyBus.emit(e);
    }
  }
  const text = await lazy.text();
  t.equal(text, await eager.text(), 'the same exposition either way');
  const calls = text.split('\n').filter((l) => l.startsWith('sluice_llm_calls_total{'));
  t.equal(calls.length, models.length, 'one series per model');
  t.same(calls.map((l) => Number(l.split(' ').at(-1))).sort((x, y) => x - y), models.map((_, i) => i + 1), 'each with its own count');
});

t.test('observations waiting for a first scrape are bounded: past 10,000 prom-client is loaded and takes them', async (t) => {
  const bus2 = createEventBus();
  const m = createMetrics(bus2);
  t.teardown(() => m.close());
  for (let i = 0; i < 12_000; i++) bus2.emit({ ...llmCall, ttftMs: 1, durationMs: 2 });
  const text = await m.text();
  t.equal(sample(text, 'sluice_llm_time_to_first_token_seconds_count', { backend: llmCall.backend, model: llmCall.backendModel! }), 12_000);
  t.equal(sample(text, 'sluice_llm_duration_seconds_count', { backend: llmCall.backend, model: llmCall.backendModel! }), 12_000);
});

t.test("the route's content type is prom-client's", async (t) => {
  const { Registry } = await import('prom-client');
  t.equal(METRICS_CONTENT_TYPE, Registry.PROMETHEUS_CONTENT_TYPE);
});
