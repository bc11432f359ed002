import t from 'tap';
import type { Test } from 'tap';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { Ollama } from 'ollama';
import { fetch as undiciFetch } from 'undici';
import type { ProxyAgent } from 'undici';
import type { Sluice } from '../../app/index.js';
import { KEYS, agentFor, providerShape, send, startProviderWorld } from './provider-world.js';
import type { Answer } from './provider-world.js';

// Privacy fails closed on LLM hosts: with fake hosted providers where the real ones would be,
// nothing that is not a call a route lets out reaches them, whatever the spelling, and every
// refusal comes back in the provider's own error shape.

const world = await startProviderWorld();
t.teardown(() => world.close());

const chat = { model: 'gpt-4o', messages: [{ role: 'user', content: 'Write to alice@example.com' }] };
const messages = { model: 'claude-sonnet-4', max_tokens: 16, messages: [{ role: 'user', content: 'Write to alice@example.com' }] };

/** Spellings of the two chat calls: each is the call itself to the router. */
const RESPELLED: Array<[string, string, unknown]> = [
  ['api.openai.com', '/v1/chat/%63ompletions', chat],
  ['api.openai.com', '/v1//chat/completions', chat],
  ['api.openai.com', '/v1/./chat/completions', chat],
  ['api.openai.com', '/v1/x/../chat/completions', chat],
  ['api.openai.com', '/v1/chat/completions/', chat],
  ['api.openai.com', '/%761/chat/%63%6F%6D%70letions', chat],
  ['api.openai.com', '//v1/chat/./completions?x=1', chat],
  // ;params are stripped by the canonical form (OpenShell's, and Tomcat/Spring's reading)
  ['api.openai.com', '/v1/chat/completions;x=1', chat],
  ['api.openai.com', '/v1;a=b/chat;c/completions', chat],
  ['api.anthropic.com', '/v1/%6Dessages', messages],
  ['api.anthropic.com', '/v1//messages', messages],
  ['api.anthropic.com', '/v1/./messages', messages],
  ['api.anthropic.com', '/v1/x/../messages', messages],
  ['api.anthropic.com', '/v1/messages/', messages],
  ['api.anthropic.com', '/v1/%6d%65ssages', messages],
];

/** Requests the router does not recognise: never a call to answer, refused unless something lets them out. */
const UNRECOGNISED: Array<[string, string, string, unknown]> = [
  ['GET', 'api.openai.com', '/v1/responses/resp_123', undefined],
  ['POST', 'api.openai.com', '/v1/responses/resp_123/cancel', undefined],
  ['GET', 'api.openai.com', '/v1/responses', undefined],
  ['POST', 'api.openai.com', '/v1/batches', { input_file_id: 'file-1', endpoint: '/v1/chat/completions', completion_window: '24h' }],
  ['POST', 'api.openai.com', '/v1/files', { purpose: 'batch' }],
  ['GET', 'api.openai.com', '/v1/files', undefined],
  ['GET', 'api.openai.com', '/', undefined],
  ['DELETE', 'api.openai.com', '/v1/models/gpt-4o', undefined],
  ['PUT', 'api.openai.com', '/v1/chat/completions', chat],
  ['POST', 'api.openai.com', '/V1/CHAT/COMPLETIONS', chat],
  ['POST', 'api.openai.com', '/v1/chat%2Fcompletions', chat],
  ['POST', 'api.openai.com', '/v1/chat/completions/..%2F..%2Fresponses', chat],
  ['POST', 'api.anthropic.com', '/v1/messages/batches', { requests: [{ custom_id: 'a', params: messages }] }],
  ['POST', 'api.anthropic.com', '/api/event_logging/v2/batch', { events: [{ event_name: 'tengu_startup', user: 'alice@example.com' }] }],
  ['POST', 'api.anthropic.com', '/v1/complete', { model: 'claude-2', prompt: '\n\nHuman: hi\n\nAssistant:' }],
  ['GET', 'api.anthropic.com', '/api/oauth/profile', undefined],
];

async function expectRefused(t: Test, agent: ProxyAgent, method: string, url: string, body: unknown): Promise<Answer> {
  const before = world.reached().length;
  const a = await send(agent, method, url, body);
  const host = new URL(url).hostname;
  t.equal(world.reached().length, before, `${method} ${url}: nothing reached the provider`);
  t.equal(providerShape(host, a), undefined, `${method} ${url}: refused (${a.status} ${String(a.headers['x-sluice-error'])}) in ${host}'s error shape`);
  return a;
}

async function audited(sluice: Sluice & { flushAudit(): Promise<void> }, path: string, code: string): Promise<boolean> {
  await sluice.flushAudit();
  const { readFileSync } = await import('node:fs');
  return readFileSync(sluice.auditFile, 'utf8').split('\n').filter(Boolean).some((line) => {
    const e = JSON.parse(line) as { http_request?: { url?: { path?: string } }; unmapped?: { code?: string } };
    return e.http_request?.url?.path === path && e.unmapped?.code === code;
  });
}

t.test('embedded default policy: re-spelled calls are the calls (routed local), everything else is refused; nothing reaches a provider', async (t) => {
  const sluice = await world.defaultSluice(t);
  const calls: Array<{ api: string; path?: string; backend: string }> = [];
  sluice.bus.on((e) => {
    if (e.type === 'llm_call') calls.push({ api: e.api, ...(e.path ? { path: e.path } : {}), backend: e.backend });
  });
  const agent = agentFor(t, sluice);
  for (const [host, path, body] of RESPELLED) {
    const before = world.reached().length;
    const a = await send(agent, 'POST', `https://${host}${path}`, body);
    t.equal(world.reached().length, before, `${host}${path}: nothing reached the provider`);
    // The embedded default routes to an Ollama on 127.0.0.1:11434, absent here: the router answered 503 itself.
    t.equal(providerShape(host, a), undefined, `${host}${path}: the router's own answer, in ${host}'s shape`);
    t.equal(a.headers['x-sluice-error'], 'backend_unavailable', `${host}${path}: answered by the router, not refused as unknown`);
    t.match(calls.at(-1), { api: host === 'api.openai.com' ? 'openai-chat' : 'anthropic-messages', backend: 'local' }, `${host}${path}: classified as its canonical form`);
  }
  for (const [method, host, path, body] of UNRECOGNISED) {
    const a = await expectRefused(t, agent, method, `https://${host}${path}`, body);
    t.ok(['llm_unrecognised', 'path_invalid'].includes(String(a.headers['x-sluice-error'])), `${method} ${path}: ${String(a.headers['x-sluice-error'])}`);
  }
  t.ok(await audited(sluice, '/v1/batches', 'llm_unrecognised'), 'refusals are audited with their code');
  t.ok(await audited(sluice, '/api/event_logging/v2/batch', 'llm_unrecognised'), 'telemetry refusals too');
  // Plain HTTP obeys the same port rules as CONNECT: api.openai.com is reachable without a policy on 443 only.
  for (const url of ['http://api.openai.com/v1/chat/completions', 'http://api.openai.com:8080/v1/chat/completions', 'http://api.anthropic.com:443/v1/messages/batches']) {
    const a = await expectRefused(t, agent, 'POST', url, url.includes('anthropic') ? messages : chat);
    t.ok(['policy_denied', 'llm_unrecognised'].includes(String(a.headers['x-sluice-error'])), `${url}: ${String(a.headers['x-sluice-error'])}`);
  }
  t.same(world.reached(), []);
});

t.test('an inference-only policy with provider keys: the same, and the refusals are the provider\'s, not policy_denied', async (t) => {
  const sluice = await world.sluice(t, `version: 1
network_policies: {}
inference:
  backends:
    local: { type: ollama, url: "${world.ollama.url}" }
  routes:
    - { match: { model: "*" }, backend: local, model: "qwen3:8b" }
providers:
  openai: { from: env:OPENAI_API_KEY }
  anthropic: { from: env:ANTHROPIC_API_KEY }
`);
  const agent = agentFor(t, sluice);
  for (const [host, path, body] of RESPELLED) {
    const before = world.reached().length;
    const env = sluice.pipeline.envFor('default');
    const key: Record<string, string> = host === 'api.openai.com' ? { authorization: `Bearer ${env.OPENAI_API_KEY!}` } : { 'x-api-key': env.ANTHROPIC_API_KEY! };
    const a = await send(agent, 'POST', `https://${host}${path}`, body, key);
    t.equal(a.status, 200, `${host}${path}: answered by the local backend`);
    t.equal(world.reached().length, before, `${host}${path}: nothing reached the provider`);
  }
  for (const [method, host, path, body] of UNRECOGNISED) {
    const a = await expectRefused(t, agent, method, `https://${host}${path}`, body);
    t.not(a.headers['x-sluice-error'], 'policy_denied', `${method} ${path}: not Sluice's generic policy_denied`);
  }
  t.same(world.reached(), []);
});

t.test('the official SDKs read the refusals as their own errors, and do not retry them', async (t) => {
  const sluice = await world.defaultSluice(t);
  const agent = agentFor(t, sluice);
  const fetch = ((input: string | URL, init?: RequestInit) => undiciFetch(input, { ...(init as object), dispatcher: agent } as never)) as unknown as typeof globalThis.fetch;
  let sent = 0;
  sluice.bus.on((e) => {
    if (e.type === 'request') sent++;
  });

  const openai = new OpenAI({ apiKey: 'sk-placeholder', maxRetries: 2, fetch });
  // A stored response: Sluice keeps none, and nothing lets the call out.
  const responses = await openai.responses.retrieve('resp_123').then(() => undefined, (e: unknown) => e);
  t.ok(responses instanceof OpenAI.PermissionDeniedError, 'Responses API retrieval: PermissionDeniedError');
  t.match(responses, { status: 403, code: 'permission_denied', error: { message: /not a call the privacy router recognises.*\[sluice: llm_unrecognised\]/ } });
  t.match((responses as InstanceType<typeof OpenAI.APIError>).requestID, /^sluice-/);
  const batch = await openai.batches.create({ input_file_id: 'file-1', endpoint: '/v1/chat/completions', completion_window: '24h' }).then(() => undefined, (e: unknown) => e);
  t.ok(batch instanceof OpenAI.PermissionDeniedError, 'batches: PermissionDeniedError');
  t.equal(sent, 2, 'maxRetries 2, but each refusal was sent once');

  const anthropic = new Anthropic({ apiKey: 'sk-ant-placeholder', maxRetries: 2, fetch });
  const batches = await anthropic.messages.batches.create({ requests: [{ custom_id: 'a', params: { model: 'claude-sonnet-4', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] } }] }).then(() => undefined, (e: unknown) => e);
  t.ok(batches instanceof Anthropic.PermissionDeniedError, 'message batches: PermissionDeniedError');
  t.match(batches, { status: 403, error: { type: 'error', error: { type: 'permission_error', message: /llm_unrecognised/ } } });
  t.match((batches as InstanceType<typeof Anthropic.APIError>).requestID, /^sluice-/);
  t.equal(sent, 3);

  const ollama = new Ollama({ host: 'http://inference.local', fetch });
  const pulled = await ollama.pull({ model: 'llama3' }).then(() => undefined, (e: unknown) => e);
  t.match(pulled, { status_code: 403, error: /llm_unrecognised/ }, "inference.local: Ollama's {error} shape");
  t.same(world.reached(), []);
});

t.test('an exact L7 rule lets one non-model endpoint out as it is; a glob or an access preset does not', async (t) => {
  const sluice = await world.sluice(t, `version: 1
network_policies:
  telemetry:
    endpoints:
      - host: api.anthropic.com
        port: 443
        protocol: rest
        rules:
          - allow: { method: POST, path: /api/event_logging/v2/batch }
          - allow: { method: POST, path: "/api/**" }
      - { host: api.openai.com, port: 443, protocol: rest, access: full }
inference:
  backends:
    local: { type: ollama, url: "${world.ollama.url}" }
  routes:
    - { match: { model: "*" }, backend: local }
providers:
  anthropic: { from: env:ANTHROPIC_API_KEY }
`);
  const agent = agentFor(t, sluice);
  const placeholder = sluice.pipeline.envFor('default').ANTHROPIC_API_KEY!;
  const before = world.anthropic.requests.length;
  const a = await send(agent, 'POST', 'https://api.anthropic.com/api/event_logging/v2/batch', { events: [] }, { 'x-api-key': placeholder });
  t.equal(a.status, 404, 'forwarded to the provider (the fake does not know the path)');
  t.equal(world.anthropic.requests.length, before + 1);
  t.equal(world.anthropic.requests.at(-1)!.path, '/api/event_logging/v2/batch');
  t.equal(world.anthropic.requests.at(-1)!.headers['x-api-key'], KEYS.ANTHROPIC_API_KEY, "the provider's endpoint binding covers it: the credential is injected");
  await expectRefused(t, agent, 'POST', 'https://api.anthropic.com/api/event_logging/v2/other', { events: [] });
  await expectRefused(t, agent, 'POST', 'https://api.anthropic.com/api/event_logging/v2/batch/', { events: [] });
  await expectRefused(t, agent, 'POST', 'https://api.openai.com/v1/batches', { input_file_id: 'f' });
  // The recognised calls are still the router's, whatever the L7 rules say about the provider.
  const routed = await send(agent, 'POST', 'https://api.anthropic.com/v1/messages', messages);
  t.equal(routed.status, 200);
  t.equal(world.anthropic.requests.length, before + 1);
});
