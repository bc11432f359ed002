import t from 'tap';
import type { Test } from 'tap';
import Anthropic from '@anthropic-ai/sdk';
import { fetch as undiciFetch } from 'undici';
import type { Sluice } from '../../app/index.js';
import { KEYS, agentFor, providerShape, send, startProviderWorld } from './provider-world.js';

// An OpenShell policy that allows a provider host and has no `inference:` section means "let this
// agent talk to that provider": its calls go out, redacted when a privacy section exists, with the
// credential when a provider is configured, and under the network policy's own L7 rules.

const world = await startProviderWorld();
t.teardown(() => world.close());

function sdkFor(sluice: Sluice, t: Test): Anthropic {
  const agent = agentFor(t, sluice);
  const fetch = ((input: string | URL, init?: RequestInit) => undiciFetch(input, { ...(init as object), dispatcher: agent } as never)) as unknown as typeof globalThis.fetch;
  return new Anthropic({ apiKey: sluice.pipeline.envFor('default').ANTHROPIC_API_KEY ?? 'sk-ant-placeholder', maxRetries: 0, fetch });
}

t.test('claude_code-style policy: the agent reaches its provider, redacted, with the real key; the other provider stays local', async (t) => {
  const sluice = await world.sluice(t, `version: 1
network_policies:
  claude_code:
    name: claude_code
    endpoints:
      - { host: api.anthropic.com, port: 443, protocol: rest, access: full }
privacy:
  redact: [email]
providers:
  anthropic: { from: env:ANTHROPIC_API_KEY }
`);
  world.anthropic.setReply((req) => ({ text: `Noted: ${/<EMAIL_\d+>/.exec(req.raw)?.[0] ?? 'nothing'}.` }));
  const client = sdkFor(sluice, t);
  const before = world.anthropic.requests.length;
  const msg = await client.messages.create({ model: 'claude-sonnet-4', max_tokens: 16, messages: [{ role: 'user', content: 'Write to alice@example.com' }] });
  t.equal(world.anthropic.requests.length, before + 1, 'the call reached the provider');
  const sent = world.anthropic.requests.at(-1)!;
  // The SDK sends its key as x-api-key or as a bearer token: either way the real one arrives, and no placeholder.
  t.ok(sent.headers['x-api-key'] === KEYS.ANTHROPIC_API_KEY || sent.headers.authorization === `Bearer ${KEYS.ANTHROPIC_API_KEY}`, 'with the real key in place of the placeholder');
  t.notMatch(JSON.stringify(sent.headers), sluice.pipeline.envFor('default').ANTHROPIC_API_KEY!);
  t.notMatch(sent.raw, /alice@example\.com/, 'the address was redacted on the way out');
  t.match(sent.raw, /<EMAIL_1>/);
  t.same(msg.content, [{ type: 'text', text: 'Noted: alice@example.com.' }], 'and restored in the answer');

  // Claude Code's telemetry: not a call, but the policy allows the host: it goes out, every string redacted.
  const agent = agentFor(t, sluice);
  const telemetry = await send(agent, 'POST', 'https://api.anthropic.com/api/event_logging/v2/batch', { events: [{ name: 'start', user: 'alice@example.com' }] });
  t.equal(telemetry.status, 404, 'forwarded (the fake does not know the path)');
  t.equal(world.anthropic.requests.at(-1)!.path, '/api/event_logging/v2/batch');
  t.notMatch(world.anthropic.requests.at(-1)!.raw, /alice@example\.com/, 'every string value of the JSON body redacted');

  // api.openai.com is not in the policy: its calls stay on this machine (a local Ollama, absent here).
  const openaiBefore = world.openai.requests.length;
  const chat = await send(agent, 'POST', 'https://api.openai.com/v1/chat/completions', { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] });
  t.equal(chat.headers['x-sluice-error'], 'backend_unavailable', 'routed to the local default backend');
  t.equal(world.openai.requests.length, openaiBefore, 'nothing reached api.openai.com');
  const batch = await send(agent, 'POST', 'https://api.openai.com/v1/batches', { input_file_id: 'f' });
  t.equal(providerShape('api.openai.com', batch), undefined);
  t.equal(world.openai.requests.length, openaiBefore);
});

t.test('the network policy still holds: read-only access refuses POSTs in the provider\'s shape', async (t) => {
  const sluice = await world.sluice(t, `version: 1
network_policies:
  readonly:
    endpoints:
      - { host: api.anthropic.com, port: 443, protocol: rest, access: read-only }
`);
  const agent = agentFor(t, sluice);
  const before = world.reached().length;
  const a = await send(agent, 'POST', 'https://api.anthropic.com/v1/messages', { model: 'claude-sonnet-4', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] });
  t.equal(providerShape('api.anthropic.com', a), undefined);
  t.equal(a.headers['x-sluice-error'], 'l7_denied');
  t.equal(world.reached().length, before, 'nothing reached the provider');
  const models = await send(agent, 'GET', 'https://api.anthropic.com/v1/models', undefined, { 'anthropic-version': '2023-06-01' });
  t.equal(models.status, 200, 'a GET the policy allows goes out');
  t.equal(world.reached().length, before + 1);
});

t.test('without a privacy section the call goes out as the agent sent it', async (t) => {
  const sluice = await world.sluice(t, `version: 1
network_policies:
  anthropic:
    endpoints:
      - { host: api.anthropic.com, port: 443 }
`);
  world.anthropic.setReply({ text: 'Plain.' });
  const msg = await sdkFor(sluice, t).messages.create({ model: 'claude-sonnet-4', max_tokens: 8, messages: [{ role: 'user', content: 'Write to alice@example.com' }] });
  t.same(msg.content, [{ type: 'text', text: 'Plain.' }]);
  t.match(world.anthropic.requests.at(-1)!.raw, /alice@example\.com/);
});
