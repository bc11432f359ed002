import t from 'tap';
import type { Test } from 'tap';
import { ProxyAgent } from 'undici';
import { COPILOT_API_HOST, createFakeCopilot, createFakeOpenAI } from '../fakes/index.js';
import { startHostedProvider } from '../helpers/hosted-provider.js';
import { startTestSluice } from '../helpers/sluice.js';
import type { TestSluice } from '../helpers/sluice.js';
import { createTestCA } from '../helpers/tls.js';
import { send } from './provider-world.js';

// GitHub Copilot as an LLM provider, spoken to directly: where its session is answered (Sluice or
// GitHub), what the placeholder token may reach (Copilot's session paths and API hosts, never the
// rest of GitHub's API), and what fails closed on Copilot's hosts.

const TOKEN = `github_pat_11BBBBBBB0${'Cop1lotSecret'.repeat(5)}_${'z'.repeat(6)}`;
const ca = await createTestCA();
const hosted = await createFakeCopilot({ githubToken: TOKEN });
const local = await createFakeOpenAI({ reply: { text: 'Answered on this machine.' } });
const fronts = await Promise.all(['api.github.com', COPILOT_API_HOST].map((h) => startHostedProvider(ca, h, hosted)));
const resolve = Object.fromEntries(fronts.map((f) => [f.host, f.address]));
t.teardown(async () => {
  await Promise.all(fronts.map((f) => f.close()));
  await Promise.all([hosted.close(), local.close()]);
});

async function sluiceWith(t: Test, network: string, routes: string): Promise<{ sluice: TestSluice; agent: ProxyAgent; placeholder: string }> {
  const sluice = await startTestSluice(`version: 1
network_policies:
${network}
inference:
  backends:
    local: { type: openai, url: "${local.url}" }
  routes:
${routes}
providers:
  copilot: { from: env:REAL_KEY }
`, { resolve, upstreamCA: [ca.caPem], env: { REAL_KEY: TOKEN }, healthIntervalMs: 0 });
  const agent = new ProxyAgent({ uri: sluice.url, requestTls: { ca: sluice.caCertPem } });
  t.teardown(async () => {
    await agent.close();
    await sluice.close();
  });
  return { sluice, agent, placeholder: sluice.pipeline.envFor('default').COPILOT_GITHUB_TOKEN! };
}

const LOCAL = '    - { match: {}, backend: local, model: fake-model }';
const HOSTED = '    - { match: { host: [api.individual.githubcopilot.com] }, action: allow }';
const GITHUB = '  github:\n    endpoints:\n      - { host: api.github.com, port: 443 }';

t.test('the copilot placeholder is in the shape Copilot CLI accepts, under the variable it reads first', async (t) => {
  const { placeholder } = await sluiceWith(t, '  {}', LOCAL);
  t.match(placeholder, /^github_pat_\w{82}$/, "gitleaks' fine-grained token shape");
  t.notOk(placeholder.startsWith('ghp_'), 'not the classic shape Copilot CLI refuses');
});

t.test('routes keep Copilot local: Sluice is the session, the model list and the model; nothing reaches GitHub', async (t) => {
  const { agent, placeholder, sluice } = await sluiceWith(t, '  {}', LOCAL);
  const before = hosted.requests.length;
  const auth = { authorization: `token ${placeholder}` };
  const user = await send(agent, 'GET', 'https://api.github.com/copilot_internal/user', undefined, auth);
  t.equal(user.status, 200);
  const u = JSON.parse(user.text) as { endpoints: { api: string }; chat_enabled: boolean };
  t.equal(u.endpoints.api, `https://${COPILOT_API_HOST}`, 'names the Copilot host the router answers');
  const token = await send(agent, 'GET', 'https://api.github.com/copilot_internal/v2/token', undefined, auth);
  const tk = JSON.parse(token.text) as { token: string; expires_at: number; refresh_in: number };
  t.ok(tk.expires_at > Date.now() / 1000 && tk.refresh_in > 0, 'a token that has not expired, with its refresh time');
  t.notOk(token.text.includes(placeholder), 'the session token is not the GitHub token');
  const models = await send(agent, 'GET', `https://${COPILOT_API_HOST}/models`, undefined, { authorization: `Bearer ${tk.token}` });
  const list = JSON.parse(models.text) as { data: Array<{ id: string; capabilities: { type: string }; supported_endpoints: string[] }> };
  t.ok(list.data.length > 0 && list.data.every((m) => m.capabilities.type === 'chat' && m.supported_endpoints.includes('/chat/completions')), "Copilot's own list shape");
  const chat = await send(agent, 'POST', `https://${COPILOT_API_HOST}/chat/completions`, { model: list.data[0]!.id, messages: [{ role: 'user', content: 'hi' }] }, { authorization: `Bearer ${tk.token}`, 'copilot-integration-id': 'copilot-developer-cli' });
  t.equal(chat.status, 200);
  t.match(JSON.parse(chat.text), { choices: [{ message: { content: 'Answered on this machine.' } }] });
  t.equal(local.requests.at(-1)?.body?.model, 'fake-model', "routed to the local backend's model");
  t.equal(hosted.requests.length, before, 'nothing reached GitHub or Copilot');
  const audit = await sluice.readAudit();
  t.notOk(JSON.stringify(audit).includes(TOKEN), 'the real token is not in the audit log');
});

t.test("Copilot's hosts fail closed, and GitHub's other paths stay the network policy's", async (t) => {
  const { agent, placeholder } = await sluiceWith(t, '  {}', LOCAL);
  const before = hosted.requests.length;
  const telemetry = await send(agent, 'POST', `https://${COPILOT_API_HOST}/telemetry`, [{ event: 'x' }], { authorization: `Bearer ${placeholder}` });
  t.equal(telemetry.status, 403);
  t.equal(telemetry.headers['x-sluice-error'], 'llm_unrecognised', 'an unknown path on a Copilot host is refused');
  const other = await send(agent, 'GET', 'https://api.github.com/user', undefined, { authorization: `token ${placeholder}` });
  t.equal(other.status, 403);
  t.equal(other.headers['x-sluice-error'], 'policy_denied', 'api.github.com/user is not an LLM call: the network policy (none) refuses it');
  t.equal(hosted.requests.length, before, 'nothing reached GitHub');
});

t.test('the GitHub token goes only to Copilot: with api.github.com allowed, /user gets no credential', async (t) => {
  const { agent, placeholder } = await sluiceWith(t, GITHUB, LOCAL);
  const before = hosted.requests.length;
  const other = await send(agent, 'GET', 'https://api.github.com/user', undefined, { authorization: `token ${placeholder}` });
  t.equal(other.status, 403);
  t.equal(other.headers['x-sluice-error'], 'credential_endpoint_mismatch', 'the placeholder is refused outside copilot_internal');
  t.equal(hosted.requests.length, before, 'nothing reached GitHub');
});

t.test('routes let Copilot out: the session and the calls reach GitHub with the real token', async (t) => {
  const { agent, placeholder } = await sluiceWith(t, '  copilot:\n    endpoints:\n      - { host: api.github.com, port: 443 }\n      - { host: "*.githubcopilot.com", port: 443 }', HOSTED);
  const before = hosted.requests.length;
  const user = await send(agent, 'GET', 'https://api.github.com/copilot_internal/user', undefined, { authorization: `token ${placeholder}` });
  t.equal(user.status, 200, user.text);
  t.equal(JSON.parse(user.text).login, 'octocat', "GitHub's answer, not Sluice's");
  const chat = await send(agent, 'POST', `https://${COPILOT_API_HOST}/chat/completions`, { model: 'gpt-5-mini', messages: [{ role: 'user', content: 'hi' }] }, { authorization: `Bearer ${placeholder}` });
  t.equal(chat.status, 200, chat.text);
  const reached = hosted.requests.slice(before);
  t.same(reached.map((r) => `${r.method} ${r.path}`), ['GET /copilot_internal/user', 'POST /chat/completions']);
  t.ok(reached.every((r) => String(r.headers.authorization).endsWith(TOKEN)), 'the real token at the wire');
  t.notOk(user.text.includes(TOKEN) || chat.text.includes(TOKEN), 'and never back to the client');
});

t.test("a route that denies Copilot refuses its session in GitHub's error shape", async (t) => {
  const { agent, placeholder } = await sluiceWith(t, '  {}', '    - { match: {}, action: deny, reason: "no Copilot here" }');
  const user = await send(agent, 'GET', 'https://api.github.com/copilot_internal/user', undefined, { authorization: `token ${placeholder}` });
  t.equal(user.status, 403);
  const body = JSON.parse(user.text) as { message: string; documentation_url: string };
  t.match(body.message, /no Copilot here/);
  t.type(body.documentation_url, 'string', "GitHub's REST error shape");
});

t.test("Copilot's GPT models speak the Responses API on /responses (no /v1): routed locally like OpenAI's, nothing reaches Copilot", async (t) => {
  const { agent, placeholder } = await sluiceWith(t, '  {}', LOCAL);
  const before = hosted.requests.length;
  const seen = local.requests.length;
  const headers = { authorization: `Bearer ${placeholder}`, 'copilot-integration-id': 'copilot-developer-cli' };
  const plain = await send(agent, 'POST', `https://${COPILOT_API_HOST}/responses`, { model: 'gpt-5-mini', input: 'hi' }, headers);
  t.equal(plain.status, 200, plain.text);
  const body = JSON.parse(plain.text) as { object: string; output: Array<{ type: string; content?: Array<{ type: string; text: string }> }> };
  t.equal(body.object, 'response', "answered in the Responses API's shape");
  t.equal(body.output.find((o) => o.type === 'message')?.content?.[0]?.text, 'Answered on this machine.', 'by the local backend');
  const streamed = await send(agent, 'POST', `https://${COPILOT_API_HOST}/responses`, { model: 'gpt-5-mini', input: 'hi', stream: true }, headers);
  t.equal(streamed.status, 200, streamed.text);
  t.match(streamed.text, /event: response\.output_text\.delta/, 'streamed as Responses events');
  t.match(streamed.text, /event: response\.completed/);
  t.ok(local.requests.length >= seen + 2, 'both calls reached the local backend');
  t.ok(local.requests.slice(seen).every((r) => r.body?.model === 'fake-model'), "with the route's model");
  t.equal(hosted.requests.length, before, 'nothing reached GitHub or Copilot');
});
