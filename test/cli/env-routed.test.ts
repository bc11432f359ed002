import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { ProxyAgent, request } from 'undici';
import { createFakeOllama } from '../fakes/index.js';
import { startTestSluice, tempDir } from '../helpers/sluice.js';
import { createTestCA } from '../helpers/tls.js';
import { startUpstream } from '../helpers/upstream.js';
import { sluice as cli } from './spawn.js';

// The issue's "a placeholder token from `sluice env`": an agent whose provider the routes answer
// locally reads its key variable from what `sluice env` prints, with no `providers:` entry. What
// it prints must be what a Sluice on the same home and policy issues: accepted on the routed
// calls, refused (as a placeholder, so never leaked) anywhere else.

const ROUTED = ['ANTHROPIC_API_KEY', 'COPILOT_GITHUB_TOKEN', 'OPENAI_API_KEY'] as const;

function parseEnv(stdout: string): Record<string, string> {
  return Object.fromEntries(stdout.trim().split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

async function world(t: Test, routes: string) {
  const ollama = await createFakeOllama({ reply: { text: 'answered locally', usage: { input: 3, output: 2 } } });
  const ca = await createTestCA();
  const other = await startUpstream({ cert: await ca.issue(['collector.example.com']) });
  const policy = `version: 1
network_policies:
  collector:
    endpoints: [{ host: collector.example.com, port: ${other.port}, protocol: rest, access: full }]
inference:
  backends:
    local: { type: ollama, url: "${ollama.url}" }
  routes:
${routes}`;
  const home = tempDir('sluice-env-routed-');
  const file = path.join(home, 'policy.yaml');
  fs.writeFileSync(file, policy);
  // Another process, as a user runs it, before any Sluice has started on that home.
  const printed = await cli(['env', '--policy', file], { SLUICE_HOME: home });
  const sluice = await startTestSluice(policy, { home, upstreamCA: [ca.caPem], resolve: { 'collector.example.com': '127.0.0.1' }, healthIntervalMs: 0 });
  const agent = new ProxyAgent({ uri: sluice.url, requestTls: { ca: sluice.caCertPem } });
  t.teardown(async () => {
    await agent.close();
    await sluice.close();
    await other.close();
    await ollama.close();
  });
  return { printed, vars: parseEnv(printed.stdout), sluice, agent, other, ollama };
}

async function call(agent: ProxyAgent, method: string, url: string, headers: Record<string, string>, body?: unknown) {
  const res = await request(url, { method, dispatcher: agent, headers: { 'content-type': 'application/json', ...headers }, ...(body ? { body: JSON.stringify(body) } : {}) });
  return { status: res.statusCode, error: res.headers['x-sluice-error'], text: await res.body.text() };
}

t.test('`sluice env` prints the routed providers\' placeholders, which that Sluice accepts on the routed calls only', async (t) => {
  const { printed, vars, sluice, agent, other, ollama } = await world(t, '    - { match: {}, backend: local, model: "qwen3:8b" }\n');
  t.equal(printed.code, 0, printed.stderr);
  t.equal(printed.stderr, '', 'nothing to warn about: the routes answer every built-in LLM provider');
  for (const name of ROUTED) t.equal(vars[name], sluice.pipeline.envFor('default')[name], `${name}: the placeholder the running Sluice issued`);
  t.match(vars.COPILOT_GITHUB_TOKEN, /^github_pat_/, "in the github_pat_ shape Copilot CLI accepts (it refuses ghp_)");
  t.match(vars.ANTHROPIC_API_KEY, /^sk-ant-api03-/);
  t.match(vars.OPENAI_API_KEY, /^sk-/);

  const anthropic = await call(agent, 'POST', 'https://api.anthropic.com/v1/messages', { 'x-api-key': vars.ANTHROPIC_API_KEY!, 'anthropic-version': '2023-06-01' }, { model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] });
  t.equal(anthropic.status, 200, anthropic.text);
  t.match(JSON.parse(anthropic.text), { content: [{ text: 'answered locally' }] }, 'Anthropic call answered by the local backend');
  const openai = await call(agent, 'POST', 'https://api.openai.com/v1/responses', { authorization: `Bearer ${vars.OPENAI_API_KEY!}` }, { model: 'gpt-5', input: 'hi' });
  t.equal(openai.status, 200, openai.text);
  t.match(openai.text, /answered locally/, 'OpenAI Responses call answered by the local backend');
  const session = await call(agent, 'GET', 'https://api.github.com/copilot_internal/user', { authorization: `token ${vars.COPILOT_GITHUB_TOKEN!}` });
  t.equal(session.status, 200, session.text);
  const api = (JSON.parse(session.text) as { endpoints: { api: string } }).endpoints.api;
  const copilot = await call(agent, 'POST', `${api}/chat/completions`, { authorization: `Bearer ${vars.COPILOT_GITHUB_TOKEN!}`, 'copilot-integration-id': 'copilot-developer-cli' }, { model: 'gpt-5-mini', messages: [{ role: 'user', content: 'hi' }] });
  t.equal(copilot.status, 200, copilot.text);
  t.match(JSON.parse(copilot.text), { choices: [{ message: { content: 'answered locally' } }] }, "Copilot's session and call answered on this machine");
  const seen = ollama.requests.map((r) => r.raw).join('\n');
  for (const name of ROUTED) t.notOk(seen.includes(vars[name]!), `the local backend never sees ${name}`);

  // Were these not the Sluice's own placeholders, it could not tell them from any other string and
  // they would go out: the refusal proves `sluice env` and the Sluice agree.
  for (const name of ROUTED) {
    const leaked = await call(agent, 'POST', `https://collector.example.com:${other.port}/upload`, { authorization: `Bearer ${vars[name]!}` }, { x: 1 });
    t.equal(leaked.status, 403, `${name} sent to another host is refused`);
    t.equal(leaked.error, 'credential_endpoint_mismatch', 'as a placeholder bound to its provider');
  }
  t.same(other.requests, [], 'and none reached that host');
});

t.test('`sluice env` prints no placeholder for a provider whose calls the routes let out', async (t) => {
  const { printed, vars, sluice } = await world(t, '    - { match: { api: anthropic }, backend: local, model: "qwen3:8b" }\n    - { match: {}, action: allow }\n');
  t.equal(printed.code, 0, printed.stderr);
  t.same(Object.keys(vars).sort(), ['ANTHROPIC_API_KEY', 'COPILOT_GITHUB_TOKEN'], "Anthropic's shape is routed (Copilot speaks it too); OpenAI's and Gemini's go out and need a real key");
  t.same(vars, sluice.pipeline.envFor('default'), 'exactly what the Sluice issues');
});

t.test('`sluice env` with routes that let everything out says there is nothing to print', async (t) => {
  const { printed } = await world(t, '    - { match: {}, action: allow }\n');
  t.equal(printed.code, 0);
  t.equal(printed.stdout, '');
  t.match(printed.stderr, /no providers and routes none locally/);
});
